/// Lion as lucidrains/lion-pytorch lion_pytorch/lion_pytorch.py (update_fn):
///   wd' = wd/initial_lr with decoupled_weight_decay, else wd;  p <- p*(1 - lr*wd');
///   u = sign(b1*m + (1-b1)*g);  p <- p - lr*u;  m <- b2*m + (1-b2)*g.
module S3gd.Spec.Rules.Lion

open S3gd.Spec.Rules.Elementwise

/// Lion hyperparameters, the reference's names (betas split) and defaults; InitialLr is the lr it was built with.
type Hyper = { Lr: float; Beta1: float; Beta2: float; WeightDecay: float; DecoupledWeightDecay: bool; InitialLr: float }

/// Lion state: the momentum exp_avg.
type State = { ExpAvg: Vec }

/// The reference's defaults (initial_lr = lr).
let defaults = { Lr = 1e-4; Beta1 = 0.9; Beta2 = 0.99; WeightDecay = 0.0; DecoupledWeightDecay = false; InitialLr = 1e-4 }

/// The state before the first step for a parameter of n elements.
let init (n: int) : State = { ExpAvg = zeros n }

/// One Lion step: (hyper, state, grad, param) -> (param', state').
let step (h: Hyper) (s: State) (g: Vec) (p: Vec) : Vec * State =
    let wd = if h.DecoupledWeightDecay then h.WeightDecay / h.InitialLr else h.WeightDecay
    let p = p * (1.0 - h.Lr * wd)
    let u = sign (h.Beta1 * s.ExpAvg + (1.0 - h.Beta1) * g)
    let m = h.Beta2 * s.ExpAvg + (1.0 - h.Beta2) * g
    p - h.Lr * u, { ExpAvg = m }

/// The registry entry: names, ranges and the adapter to named state.
let info: RuleInfo =
    { Name = "lion"
      Summary = "Lion: the sign of an interpolated momentum, with decoupled weight decay"
      Reference = "lucidrains/lion-pytorch lion_pytorch/lion_pytorch.py"
      Hypers =
        [ (Hyper.real "lr" defaults.Lr "> 0" (fun v -> v > 0.0) "learning rate") |> Hyper.typically 1e-05 0.01
          (Hyper.real "beta1" defaults.Beta1 "[0, 1]" (fun v -> v >= 0.0 && v <= 1.0) "interpolation of the step's momentum (betas[0])") |> Hyper.typically 0.8 0.95
          (Hyper.real "beta2" defaults.Beta2 "[0, 1]" (fun v -> v >= 0.0 && v <= 1.0) "decay of the kept momentum (betas[1])") |> Hyper.typically 0.9 0.999
          (Hyper.real "weight_decay" defaults.WeightDecay ">= 0" (fun v -> v >= 0.0) "decoupled decay: p <- p*(1-lr*wd)") |> Hyper.typically 0.0 0.1
          Hyper.flag "decoupled_weight_decay" defaults.DecoupledWeightDecay "use wd/initial_lr, so the decay does not scale with the lr"
          (Hyper.real "initial_lr" 0.0 ">= 0 (0: the lr)" (fun v -> v >= 0.0) "the lr the optimizer was built with (divides wd when decoupled)") |> Hyper.typically 1e-05 0.01 ]
      Pairs = [ "betas", "beta1", "beta2" ]
      Create =
        fun v ->
            let lr = Hyper.getReal v "lr"
            let initialLr = match Hyper.getReal v "initial_lr" with 0.0 -> lr | x -> x
            let h =
                { Lr = lr; Beta1 = Hyper.getReal v "beta1"; Beta2 = Hyper.getReal v "beta2"; WeightDecay = Hyper.getReal v "weight_decay"
                  DecoupledWeightDecay = Hyper.getFlag v "decoupled_weight_decay"; InitialLr = initialLr }
            let toNamed (n: int) (s: State) = Buffers.named n [ "exp_avg", Some s.ExpAvg ]
            Ok
                { Init = fun p -> toNamed 0 (init p.Value.Count)
                  Step =
                    fun ns g p ->
                        let p', s' = step h { ExpAvg = Buffers.get ns "exp_avg" } g p.Value
                        p', toNamed (ns.Step + 1) s' } }
