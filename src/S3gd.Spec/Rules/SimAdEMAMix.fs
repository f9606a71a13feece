/// Simplified AdEMAMix as NVIDIA-NeMo/Emerging-Optimizers emerging_optimizers/scalar_optimizers/update_functions/
/// ademamix.py (calculate_sim_ademamix_update), applied as that library's scalar optimizers do (see ScalarUpdate):
///   b_fast: half-life-linear from min_beta_fast to beta_fast over num_beta_fast_warmup_steps (see Schedules);
///   m <- b_fast*m + g ("theory style", no 1-b);  v <- lerp(v, g^2, 1-b2);
///   bc1 = (1-b_fast^t)/(1-b_fast), bc2 = 1-b2^t (both 1 without correct_bias);
///   u = (alpha*g + m/bc1) / (sqrt(v/bc2) + eps).
module S3gd.Spec.Rules.SimAdEMAMix

open S3gd.Spec.Rules.Elementwise

/// Simplified-AdEMAMix hyperparameters by the reference's names: betas = (beta_fast, beta2); a warm-up of 0 steps is none.
type Hyper =
    { Lr: float; BetaFast: float; Beta2: float; Eps: float; Alpha: float; CorrectBias: bool
      NumBetaFastWarmupSteps: int; MinBetaFast: float; WeightDecay: float }

/// Simplified-AdEMAMix state: step, exp_avg and exp_avg_sq.
type State = { Step: int; ExpAvg: Vec; ExpAvgSq: Vec }

/// The spec's defaults: DepenM/Simplified-AdEMAMix's betas (0.99, 0.95) and min_beta1 0.9, the reference's alpha 2.
let defaults =
    { Lr = 1e-3; BetaFast = 0.99; Beta2 = 0.95; Eps = 1e-8; Alpha = 2.0; CorrectBias = true
      NumBetaFastWarmupSteps = 0; MinBetaFast = 0.9; WeightDecay = 0.0 }

/// The state before the first step for a parameter of n elements.
let init (n: int) : State = { Step = 0; ExpAvg = zeros n; ExpAvgSq = zeros n }

/// One simplified-AdEMAMix step: (hyper, state, grad, param) -> (param', state').
let step (h: Hyper) (s: State) (g: Vec) (p: Vec) : Vec * State =
    let t = s.Step + 1
    let betaFast = Schedules.linearHalfLife t h.BetaFast h.MinBetaFast h.NumBetaFastWarmupSteps
    let m = betaFast * s.ExpAvg + g
    let v = lerp s.ExpAvgSq (square g) (1.0 - h.Beta2)
    let bc1, bc2 =
        if h.CorrectBias then (1.0 - betaFast ** float t) / (1.0 - betaFast), 1.0 - h.Beta2 ** float t else 1.0, 1.0
    let momentum = div m bc1
    let secondMoment = sqrt (div v bc2) + h.Eps
    let u = (h.Alpha * g + momentum).PointwiseDivide secondMoment
    ScalarUpdate.apply h.Lr h.WeightDecay u p, { Step = t; ExpAvg = m; ExpAvgSq = v }

/// The registry entry: names, ranges and the adapter to named state.
let info: RuleInfo =
    { Name = "sim-ademamix"
      Summary = "simplified AdEMAMix: an undamped momentum sum plus alpha times the gradient, RMS-normalized"
      Reference = "NVIDIA-NeMo/Emerging-Optimizers emerging_optimizers/scalar_optimizers/update_functions/ademamix.py"
      Hypers =
        [ (Hyper.real "lr" defaults.Lr ">= 0" (fun v -> v >= 0.0) "learning rate") |> Hyper.typically 1e-05 0.01
          ScalarUpdate.betaDef "beta_fast" defaults.BetaFast "final decay of the momentum sum (betas[0])" |> Hyper.typically 0.5 0.99
          ScalarUpdate.betaDef "beta2" defaults.Beta2 "decay of the second moment (betas[1])" |> Hyper.typically 0.9 0.999
          (Hyper.real "eps" defaults.Eps ">= 0" (fun v -> v >= 0.0) "added to the root of the second moment") |> Hyper.typically 1e-10 1e-06
          (Hyper.real "alpha" defaults.Alpha ">= 0" (fun v -> v >= 0.0) "weight of the current gradient") |> Hyper.typically 0.0 5.0
          Hyper.flag "correct_bias" defaults.CorrectBias "bias-correct both moments (the first theory style)"
          (Hyper.whole "num_beta_fast_warmup_steps" defaults.NumBetaFastWarmupSteps ">= 0 (0: none)" (fun n -> n >= 0) "steps of the half-life-linear beta_fast warm-up from min_beta_fast") |> Hyper.typically 0.0 6.0
          ScalarUpdate.betaDef "min_beta_fast" defaults.MinBetaFast "beta_fast at the start of its warm-up" |> Hyper.typically 0.5 0.9
          (ScalarUpdate.weightDecayDef defaults.WeightDecay |> Hyper.typically 0.0 0.1) ]
      Pairs = [ "betas", "beta_fast", "beta2" ]
      Create =
        fun v ->
            let h =
                { Lr = Hyper.getReal v "lr"; BetaFast = Hyper.getReal v "beta_fast"; Beta2 = Hyper.getReal v "beta2"
                  Eps = Hyper.getReal v "eps"; Alpha = Hyper.getReal v "alpha"; CorrectBias = Hyper.getFlag v "correct_bias"
                  NumBetaFastWarmupSteps = Hyper.getWhole v "num_beta_fast_warmup_steps"; MinBetaFast = Hyper.getReal v "min_beta_fast"
                  WeightDecay = Hyper.getReal v "weight_decay" }
            let toNamed (s: State) = Buffers.named s.Step [ "exp_avg", Some s.ExpAvg; "exp_avg_sq", Some s.ExpAvgSq ]
            Ok
                { Init = fun p -> toNamed (init p.Value.Count)
                  Step =
                    fun ns g p ->
                        let s = { Step = ns.Step; ExpAvg = Buffers.get ns "exp_avg"; ExpAvgSq = Buffers.get ns "exp_avg_sq" }
                        let p', s' = step h s g p.Value
                        p', toNamed s' } }
