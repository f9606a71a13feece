/// LaProp as NVIDIA-NeMo/Emerging-Optimizers emerging_optimizers/scalar_optimizers/update_functions/laprop.py
/// (calculate_laprop_update), applied as that library's scalar optimizers do (see ScalarUpdate):
///   v <- lerp(v, g^2, 1-b2);  g' = g / (sqrt(v/bc2) + eps);  m <- lerp(m, g', 1-b1);  u = m/bc1
///   with bc1 = 1-b1^t, bc2 = 1-b2^t (both 1 without correct_bias).
module S3gd.Spec.Rules.LaProp

open S3gd.Spec.Rules.Elementwise

/// LaProp hyperparameters by the reference's names (betas split).
type Hyper = { Lr: float; Beta1: float; Beta2: float; Eps: float; CorrectBias: bool; WeightDecay: float }

/// LaProp state: step, exp_avg (of the normalized gradient) and exp_avg_sq.
type State = { Step: int; ExpAvg: Vec; ExpAvgSq: Vec }

/// The spec's defaults: those of the original LaProp (Z-T-WANG/LaProp-Optimizer: lr 4e-4, eps 1e-15).
let defaults = { Lr = 4e-4; Beta1 = 0.9; Beta2 = 0.999; Eps = 1e-15; CorrectBias = true; WeightDecay = 0.0 }

/// The state before the first step for a parameter of n elements.
let init (n: int) : State = { Step = 0; ExpAvg = zeros n; ExpAvgSq = zeros n }

/// One LaProp step: (hyper, state, grad, param) -> (param', state').
let step (h: Hyper) (s: State) (g: Vec) (p: Vec) : Vec * State =
    let t = s.Step + 1
    let v = lerp s.ExpAvgSq (square g) (1.0 - h.Beta2)
    let bc1, bc2 = if h.CorrectBias then 1.0 - h.Beta1 ** float t, 1.0 - h.Beta2 ** float t else 1.0, 1.0
    let secondMoment = sqrt (div v bc2) + h.Eps
    let normalizedGrad = g.PointwiseDivide secondMoment
    let m = lerp s.ExpAvg normalizedGrad (1.0 - h.Beta1)
    let u = div m bc1
    ScalarUpdate.apply h.Lr h.WeightDecay u p, { Step = t; ExpAvg = m; ExpAvgSq = v }

/// The registry entry: names, ranges and the adapter to named state.
let info: RuleInfo =
    { Name = "laprop"
      Summary = "LaProp: momentum of the RMS-normalized gradient, with decoupled weight decay"
      Reference = "NVIDIA-NeMo/Emerging-Optimizers emerging_optimizers/scalar_optimizers/update_functions/laprop.py"
      Hypers =
        [ (Hyper.real "lr" defaults.Lr ">= 0" (fun v -> v >= 0.0) "learning rate") |> Hyper.typically 1e-05 0.01
          ScalarUpdate.betaDef "beta1" defaults.Beta1 "decay of the normalized-gradient momentum (betas[0])" |> Hyper.typically 0.5 0.99
          ScalarUpdate.betaDef "beta2" defaults.Beta2 "decay of the squared-gradient average (betas[1])" |> Hyper.typically 0.9 0.9999
          (Hyper.real "eps" defaults.Eps ">= 0" (fun v -> v >= 0.0) "added to the root of the second moment") |> Hyper.typically 1e-10 1e-06
          Hyper.flag "correct_bias" defaults.CorrectBias "Adam-style bias correction of both moments"
          (ScalarUpdate.weightDecayDef defaults.WeightDecay |> Hyper.typically 0.0 0.1) ]
      Pairs = [ "betas", "beta1", "beta2" ]
      Create =
        fun v ->
            let h =
                { Lr = Hyper.getReal v "lr"; Beta1 = Hyper.getReal v "beta1"; Beta2 = Hyper.getReal v "beta2"
                  Eps = Hyper.getReal v "eps"; CorrectBias = Hyper.getFlag v "correct_bias"; WeightDecay = Hyper.getReal v "weight_decay" }
            let toNamed (s: State) = Buffers.named s.Step [ "exp_avg", Some s.ExpAvg; "exp_avg_sq", Some s.ExpAvgSq ]
            Ok
                { Init = fun p -> toNamed (init p.Value.Count)
                  Step =
                    fun ns g p ->
                        let s = { Step = ns.Step; ExpAvg = Buffers.get ns "exp_avg"; ExpAvgSq = Buffers.get ns "exp_avg_sq" }
                        let p', s' = step h s g p.Value
                        p', toNamed s' } }
