/// Adadelta as torch.optim.Adadelta (pytorch/pytorch, torch/optim/adadelta.py, _single_tensor_adadelta, PyTorch 2.x),
/// each step scaled by the ratio of the RMS of past updates to the RMS of past gradients:
///   g <- -g if maximize;  g <- g + wd*p;
///   square_avg <- rho*square_avg + (1-rho)*g*g;  std = sqrt(square_avg + eps);
///   delta = sqrt(acc_delta + eps)/std * g;  acc_delta <- rho*acc_delta + (1-rho)*delta*delta;  p <- p - lr*delta.
/// Operation order is torch's (mul_ then addcmul_ for both averages; delta divided, then multiplied by g).
module S3gd.Spec.Rules.Adadelta

open S3gd.Spec.Rules.Elementwise

/// Adadelta hyperparameters, torch.optim.Adadelta's names and defaults.
type Hyper = { Lr: float; Rho: float; Eps: float; WeightDecay: float; Maximize: bool }

/// Adadelta state: step, square_avg and acc_delta, as torch names them.
type State = { Step: int; SquareAvg: Vec; AccDelta: Vec }

/// torch.optim.Adadelta's defaults.
let defaults = { Lr = 1.0; Rho = 0.9; Eps = 1e-6; WeightDecay = 0.0; Maximize = false }

/// The state before the first step for a parameter of n elements.
let init (n: int) : State = { Step = 0; SquareAvg = zeros n; AccDelta = zeros n }

/// One Adadelta step: (hyper, state, grad, param) -> (param', state').
let step (h: Hyper) (s: State) (g: Vec) (p: Vec) : Vec * State =
    let g = if h.Maximize then -g else g
    let g = if h.WeightDecay = 0.0 then g else g + h.WeightDecay * p
    let squareAvg = addcmul (h.Rho * s.SquareAvg) (1.0 - h.Rho) g g
    let std = sqrt (squareAvg + h.Eps)
    let delta = (sqrt (s.AccDelta + h.Eps)).PointwiseDivide(std).PointwiseMultiply g
    let accDelta = addcmul (h.Rho * s.AccDelta) (1.0 - h.Rho) delta delta
    p + (-h.Lr) * delta, { Step = s.Step + 1; SquareAvg = squareAvg; AccDelta = accDelta }

/// The registry entry: names, ranges and the adapter to named state.
let info: RuleInfo =
    { Name = "adadelta"
      Summary = "Adadelta: steps scaled by the RMS of past updates over the RMS of gradients, maximize and coupled weight decay"
      Reference = "pytorch/pytorch torch/optim/adadelta.py (PyTorch 2.x)"
      Hypers =
        [ (Hyper.real "lr" defaults.Lr ">= 0" (fun v -> v >= 0.0) "coefficient that scales delta") |> Hyper.typically 0.1 1.0
          (Hyper.real "rho" defaults.Rho "[0, 1]" (fun v -> v >= 0.0 && v <= 1.0) "decay of both running averages") |> Hyper.typically 0.8 0.99
          (Hyper.real "eps" defaults.Eps ">= 0" (fun v -> v >= 0.0) "added inside both roots") |> Hyper.typically 1e-08 1e-05
          (Hyper.real "weight_decay" defaults.WeightDecay ">= 0" (fun v -> v >= 0.0) "coupled L2 weight decay: g <- g + wd*p") |> Hyper.typically 0.0 0.1
          Hyper.flag "maximize" defaults.Maximize "maximize the objective instead of minimizing" ]
      Pairs = []
      Create =
        fun v ->
            let h =
                { Lr = Hyper.getReal v "lr"; Rho = Hyper.getReal v "rho"; Eps = Hyper.getReal v "eps"
                  WeightDecay = Hyper.getReal v "weight_decay"; Maximize = Hyper.getFlag v "maximize" }
            let toNamed (s: State) = Buffers.named s.Step [ "square_avg", Some s.SquareAvg; "acc_delta", Some s.AccDelta ]
            Ok
                { Init = fun p -> toNamed (init p.Value.Count)
                  Step =
                    fun ns g p ->
                        let p', s' = step h { Step = ns.Step; SquareAvg = Buffers.get ns "square_avg"; AccDelta = Buffers.get ns "acc_delta" } g p.Value
                        p', toNamed s' } }
