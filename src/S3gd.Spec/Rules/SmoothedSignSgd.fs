/// S3GD, smoothed SignSGD, as WhyPhyLabs/s3gd smoothed_sign_sgd/smoothed_sign_sgd_pytorch.py (smoothed_signsgd_step):
///   wd' = wd/initial_lr with decoupled_weight_decay, else wd;  p <- p*(1 - lr*wd');
///   m <- beta*m + (1-beta)*sign(g)  (sign(0) = 0);  p <- p - lr*m.
/// The momentum is an EMA of signs, so it stays in [-1, 1] and the step (before decay) is at most lr per element.
module S3gd.Spec.Rules.SmoothedSignSgd

open S3gd.Spec.Rules.Elementwise

/// S3GD hyperparameters, the reference's names and defaults; InitialLr is the lr the optimizer was built with.
type Hyper = { Lr: float; Beta: float; WeightDecay: float; DecoupledWeightDecay: bool; InitialLr: float }

/// S3GD state: the sign momentum exp_avg.
type State = { ExpAvg: Vec }

/// The reference's defaults (initial_lr = lr).
let defaults = { Lr = 1e-4; Beta = 0.9; WeightDecay = 0.0; DecoupledWeightDecay = false; InitialLr = 1e-4 }

/// The state before the first step for a parameter of n elements.
let init (n: int) : State = { ExpAvg = zeros n }

/// One S3GD step: (hyper, state, grad, param) -> (param', state').
let step (h: Hyper) (s: State) (g: Vec) (p: Vec) : Vec * State =
    let wd = if h.DecoupledWeightDecay then h.WeightDecay / h.InitialLr else h.WeightDecay
    let p = p * (1.0 - h.Lr * wd)
    let m = h.Beta * s.ExpAvg + (1.0 - h.Beta) * sign g
    p - h.Lr * m, { ExpAvg = m }

/// The registry entry: names, ranges and the adapter to named state.
let info: RuleInfo =
    { Name = "s3gd"
      Summary = "smoothed SignSGD: an EMA of gradient signs as the step, with decoupled weight decay"
      Reference = "WhyPhyLabs/s3gd smoothed_sign_sgd/smoothed_sign_sgd_pytorch.py"
      Hypers =
        [ (Hyper.real "lr" defaults.Lr "> 0" (fun v -> v > 0.0) "learning rate") |> Hyper.typically 1e-05 0.01
          (Hyper.real "beta" defaults.Beta "[0, 1)" (fun v -> v >= 0.0 && v < 1.0) "decay of the sign momentum") |> Hyper.typically 0.5 0.99
          (Hyper.real "weight_decay" defaults.WeightDecay ">= 0" (fun v -> v >= 0.0) "decoupled decay: p <- p*(1-lr*wd)") |> Hyper.typically 0.0 0.1
          Hyper.flag "decoupled_weight_decay" defaults.DecoupledWeightDecay "use wd/initial_lr, so the decay does not scale with the lr"
          (Hyper.real "initial_lr" 0.0 ">= 0 (0: the lr)" (fun v -> v >= 0.0) "the lr the optimizer was built with (divides wd when decoupled)") |> Hyper.typically 1e-05 0.01 ]
      Pairs = []
      Create =
        fun v ->
            let lr = Hyper.getReal v "lr"
            let initialLr = match Hyper.getReal v "initial_lr" with 0.0 -> lr | x -> x
            let h =
                { Lr = lr; Beta = Hyper.getReal v "beta"; WeightDecay = Hyper.getReal v "weight_decay"
                  DecoupledWeightDecay = Hyper.getFlag v "decoupled_weight_decay"; InitialLr = initialLr }
            let toNamed (n: int) (s: State) = Buffers.named n [ "exp_avg", Some s.ExpAvg ]
            Ok
                { Init = fun p -> toNamed 0 (init p.Value.Count)
                  Step =
                    fun ns g p ->
                        let p', s' = step h { ExpAvg = Buffers.get ns "exp_avg" } g p.Value
                        p', toNamed (ns.Step + 1) s' } }
