/// Adagrad as torch.optim.Adagrad (pytorch/pytorch, torch/optim/adagrad.py, _single_tensor_adagrad, PyTorch 2.x), the
/// learning rate of each element divided by the root of its gradients' sum of squares:
///   g <- -g if maximize;  g <- g + wd*p;  clr = lr/(1 + (t-1)*lr_decay);
///   sum <- sum + g*g (sum starts at initial_accumulator_value);  p <- p - clr * g/(sqrt(sum) + eps).
/// Operation order is torch's: addcmul with value 1, std = sqrt(sum) + eps, then addcdiv as ATen's CPU kernel orders it,
/// p + ((-clr)*g)/std.
module S3gd.Spec.Rules.Adagrad

open MathNet.Numerics.LinearAlgebra
open S3gd.Spec.Rules.Elementwise

/// Adagrad hyperparameters, torch.optim.Adagrad's names and defaults.
type Hyper = { Lr: float; LrDecay: float; WeightDecay: float; InitialAccumulatorValue: float; Eps: float; Maximize: bool }

/// Adagrad state: step and sum (of squared gradients), as torch names them.
type State = { Step: int; Sum: Vec }

/// torch.optim.Adagrad's defaults.
let defaults = { Lr = 1e-2; LrDecay = 0.0; WeightDecay = 0.0; InitialAccumulatorValue = 0.0; Eps = 1e-10; Maximize = false }

/// The state before the first step for a parameter of n elements: sum filled with initial_accumulator_value (torch.full_like).
let init (h: Hyper) (n: int) : State = { Step = 0; Sum = Vector<float>.Build.Dense(n, h.InitialAccumulatorValue) }

/// The learning rate of step t as torch decays it: lr/(1 + (t-1)*lr_decay).
let clr (lr: float) (lrDecay: float) (t: int) = lr / (1.0 + float (t - 1) * lrDecay)

/// One Adagrad step: (hyper, state, grad, param) -> (param', state').
let step (h: Hyper) (s: State) (g: Vec) (p: Vec) : Vec * State =
    let t = s.Step + 1
    let g = if h.Maximize then -g else g
    let g = if h.WeightDecay = 0.0 then g else g + h.WeightDecay * p
    let sum = addcmul s.Sum 1.0 g g
    let std = sqrt sum + h.Eps
    addcdiv p (-(clr h.Lr h.LrDecay t)) g std, { Step = t; Sum = sum }

/// The registry entry: names, ranges and the adapter to named state.
let info: RuleInfo =
    let nonNegative name dflt doc = Hyper.real name dflt ">= 0" (fun v -> v >= 0.0) doc
    { Name = "adagrad"
      Summary = "Adagrad: per-element rates from the sum of squared gradients, lr decay, maximize and coupled weight decay"
      Reference = "pytorch/pytorch torch/optim/adagrad.py (PyTorch 2.x)"
      Hypers =
        [ nonNegative "lr" defaults.Lr "learning rate" |> Hyper.typically 1e-03 0.1
          nonNegative "lr_decay" defaults.LrDecay "learning rate decay: clr = lr/(1 + (t-1)*lr_decay)" |> Hyper.typically 0.0 0.1
          nonNegative "weight_decay" defaults.WeightDecay "coupled L2 weight decay: g <- g + wd*p" |> Hyper.typically 0.0 0.1
          nonNegative "initial_accumulator_value" defaults.InitialAccumulatorValue "the value sum starts at" |> Hyper.typically 0.0 0.1
          nonNegative "eps" defaults.Eps "added to the root of the sum" |> Hyper.typically 1e-10 1e-06
          Hyper.flag "maximize" defaults.Maximize "maximize the objective instead of minimizing" ]
      Pairs = []
      Create =
        fun v ->
            let h =
                { Lr = Hyper.getReal v "lr"; LrDecay = Hyper.getReal v "lr_decay"; WeightDecay = Hyper.getReal v "weight_decay"
                  InitialAccumulatorValue = Hyper.getReal v "initial_accumulator_value"; Eps = Hyper.getReal v "eps"
                  Maximize = Hyper.getFlag v "maximize" }
            let toNamed (s: State) = Buffers.named s.Step [ "sum", Some s.Sum ]
            Ok
                { Init = fun p -> toNamed (init h p.Value.Count)
                  Step =
                    fun ns g p ->
                        let p', s' = step h { Step = ns.Step; Sum = Buffers.get ns "sum" } g p.Value
                        p', toNamed s' } }
