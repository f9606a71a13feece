/// AdEMAMix as NVIDIA-NeMo/Emerging-Optimizers emerging_optimizers/scalar_optimizers/update_functions/ademamix.py
/// (calculate_ademamix_update), applied as that library's scalar optimizers do (see ScalarUpdate):
///   alpha_t: linear from 0 to alpha over num_alpha_warmup_steps;
///   b_slow: half-life-linear from b_fast to b_slow_final over num_beta_slow_warmup_steps (see Schedules);
///   m_fast <- lerp(m_fast, g, 1-b_fast), or m_fast = g when b_fast = 0 (the stored buffer then stays as it was);
///   m_slow <- lerp(m_slow, g, 1-b_slow);  v <- lerp(v, g^2, 1-b2);
///   u = (m_fast/bc1 + alpha_t*m_slow) / (sqrt(v/bc2) + eps)  (the slow moment is never bias-corrected).
module S3gd.Spec.Rules.AdEMAMix

open S3gd.Spec.Rules.Elementwise

/// AdEMAMix hyperparameters by the reference's names: betas = (beta_fast, beta2, beta_slow); a warm-up of 0 steps is none.
type Hyper =
    { Lr: float; BetaFast: float; Beta2: float; BetaSlow: float; Eps: float; Alpha: float; CorrectBias: bool
      NumBetaSlowWarmupSteps: int; NumAlphaWarmupSteps: int; WeightDecay: float }

/// AdEMAMix state: step and the buffers exp_avg_fast, exp_avg_slow, exp_avg_sq.
type State = { Step: int; ExpAvgFast: Vec; ExpAvgSlow: Vec; ExpAvgSq: Vec }

/// The spec's defaults: apple/ml-ademamix's betas (0.9, 0.999, 0.9999), alpha 2 (the reference's), no warm-ups.
let defaults =
    { Lr = 1e-3; BetaFast = 0.9; Beta2 = 0.999; BetaSlow = 0.9999; Eps = 1e-8; Alpha = 2.0; CorrectBias = true
      NumBetaSlowWarmupSteps = 0; NumAlphaWarmupSteps = 0; WeightDecay = 0.0 }

/// The state before the first step for a parameter of n elements.
let init (n: int) : State = { Step = 0; ExpAvgFast = zeros n; ExpAvgSlow = zeros n; ExpAvgSq = zeros n }

/// One AdEMAMix step: (hyper, state, grad, param) -> (param', state').
let step (h: Hyper) (s: State) (g: Vec) (p: Vec) : Vec * State =
    let t = s.Step + 1
    let alpha = Schedules.linear t h.Alpha 0.0 h.NumAlphaWarmupSteps
    let betaSlow = Schedules.linearHalfLife t h.BetaSlow h.BetaFast h.NumBetaSlowWarmupSteps
    let bc1, bc2 = if h.CorrectBias then 1.0 - h.BetaFast ** float t, 1.0 - h.Beta2 ** float t else 1.0, 1.0
    let storedFast = if h.BetaFast <> 0.0 then lerp s.ExpAvgFast g (1.0 - h.BetaFast) else s.ExpAvgFast
    let mFast = if h.BetaFast <> 0.0 then storedFast else g
    let mSlow = lerp s.ExpAvgSlow g (1.0 - betaSlow)
    let v = lerp s.ExpAvgSq (square g) (1.0 - h.Beta2)
    let fastMoment = div mFast bc1
    let secondMoment = sqrt (div v bc2) + h.Eps
    let u = (fastMoment + alpha * mSlow).PointwiseDivide secondMoment
    ScalarUpdate.apply h.Lr h.WeightDecay u p, { Step = t; ExpAvgFast = storedFast; ExpAvgSlow = mSlow; ExpAvgSq = v }

/// The registry entry: names, ranges and the adapter to named state.
let info: RuleInfo =
    { Name = "ademamix"
      Summary = "AdEMAMix: Adam plus a slow, unbias-corrected EMA mixed in with weight alpha, with warm-ups"
      Reference = "NVIDIA-NeMo/Emerging-Optimizers emerging_optimizers/scalar_optimizers/update_functions/ademamix.py"
      Hypers =
        [ (Hyper.real "lr" defaults.Lr ">= 0" (fun v -> v >= 0.0) "learning rate") |> Hyper.typically 1e-05 0.01
          ScalarUpdate.betaDef "beta_fast" defaults.BetaFast "decay of the fast first moment (betas[0])" |> Hyper.typically 0.0 0.95
          ScalarUpdate.betaDef "beta2" defaults.Beta2 "decay of the second moment (betas[1])" |> Hyper.typically 0.9 0.9999
          ScalarUpdate.betaDef "beta_slow" defaults.BetaSlow "final decay of the slow first moment (betas[2])" |> Hyper.typically 0.99 0.999999
          (Hyper.real "eps" defaults.Eps ">= 0" (fun v -> v >= 0.0) "added to the root of the second moment") |> Hyper.typically 1e-10 1e-06
          (Hyper.real "alpha" defaults.Alpha ">= 0" (fun v -> v >= 0.0) "weight of the slow moment (final value when warmed up)") |> Hyper.typically 0.0 5.0
          Hyper.flag "correct_bias" defaults.CorrectBias "bias-correct the fast and second moments"
          (Hyper.whole "num_beta_slow_warmup_steps" defaults.NumBetaSlowWarmupSteps ">= 0 (0: none)" (fun n -> n >= 0) "steps of the half-life-linear beta_slow warm-up from beta_fast") |> Hyper.typically 0.0 6.0
          (Hyper.whole "num_alpha_warmup_steps" defaults.NumAlphaWarmupSteps ">= 0 (0: none)" (fun n -> n >= 0) "steps of the linear alpha warm-up from 0") |> Hyper.typically 0.0 6.0
          (ScalarUpdate.weightDecayDef defaults.WeightDecay |> Hyper.typically 0.0 0.1) ]
      Pairs = []
      Create =
        fun v ->
            let h =
                { Lr = Hyper.getReal v "lr"; BetaFast = Hyper.getReal v "beta_fast"; Beta2 = Hyper.getReal v "beta2"
                  BetaSlow = Hyper.getReal v "beta_slow"; Eps = Hyper.getReal v "eps"; Alpha = Hyper.getReal v "alpha"
                  CorrectBias = Hyper.getFlag v "correct_bias"; NumBetaSlowWarmupSteps = Hyper.getWhole v "num_beta_slow_warmup_steps"
                  NumAlphaWarmupSteps = Hyper.getWhole v "num_alpha_warmup_steps"; WeightDecay = Hyper.getReal v "weight_decay" }
            let toNamed (s: State) =
                Buffers.named s.Step [ "exp_avg_fast", Some s.ExpAvgFast; "exp_avg_slow", Some s.ExpAvgSlow; "exp_avg_sq", Some s.ExpAvgSq ]
            Ok
                { Init = fun p -> toNamed (init p.Value.Count)
                  Step =
                    fun ns g p ->
                        let s =
                            { Step = ns.Step; ExpAvgFast = Buffers.get ns "exp_avg_fast"; ExpAvgSlow = Buffers.get ns "exp_avg_slow"
                              ExpAvgSq = Buffers.get ns "exp_avg_sq" }
                        let p', s' = step h s g p.Value
                        p', toNamed s' } }
