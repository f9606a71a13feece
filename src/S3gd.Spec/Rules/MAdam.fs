/// MAdam (magnitude-aware Adam, no eps) as NVIDIA-NeMo/Emerging-Optimizers emerging_optimizers/scalar_optimizers/
/// update_functions/madam.py (calculate_madam_update), applied as that library's scalar optimizers do (see ScalarUpdate):
///   c = 2^(scale_log2/2) (scale_log2 even, so c is exact);  m <- lerp(m, g, 1-b1);  v' <- lerp(v', (c*g)^2, 1-b2);
///   u = (m/bc1) / sqrt(v'/bc2) * c where m != 0, and 0 where m = 0  (bc1, bc2 as Adam's; 1 without correct_bias).
/// v' stores s*EMA(g^2) with s = c^2; scaling by a power of two is exact, so in float64 u does not depend on
/// scale_log2 unless something under- or overflows.
module S3gd.Spec.Rules.MAdam

open S3gd.Spec.Rules.Elementwise

/// MAdam hyperparameters by the reference's names (betas split).
type Hyper = { Lr: float; Beta1: float; Beta2: float; CorrectBias: bool; ScaleLog2: int; WeightDecay: float }

/// MAdam state: step, exp_avg and the scaled second moment exp_avg_sq_scaled.
type State = { Step: int; ExpAvg: Vec; ExpAvgSqScaled: Vec }

/// The spec's defaults (the reference's update function takes every value explicitly; scale_log2 0 is no scaling).
let defaults = { Lr = 1e-3; Beta1 = 0.9; Beta2 = 0.999; CorrectBias = true; ScaleLog2 = 0; WeightDecay = 0.0 }

/// The state before the first step for a parameter of n elements.
let init (n: int) : State = { Step = 0; ExpAvg = zeros n; ExpAvgSqScaled = zeros n }

/// One MAdam step: (hyper, state, grad, param) -> (param', state').
let step (h: Hyper) (s: State) (g: Vec) (p: Vec) : Vec * State =
    let t = s.Step + 1
    let gradScale = 2.0 ** float (h.ScaleLog2 / 2)
    let m = lerp s.ExpAvg g (1.0 - h.Beta1)
    let v = lerp s.ExpAvgSqScaled (square (g * gradScale)) (1.0 - h.Beta2)
    let bc1, bc2 = if h.CorrectBias then 1.0 - h.Beta1 ** float t, 1.0 - h.Beta2 ** float t else 1.0, 1.0
    let momentum = div m bc1
    let secondMomentScaled = div v bc2
    let out = momentum.PointwiseDivide(sqrt secondMomentScaled) * gradScale
    let u = out.Map2((fun o mi -> if mi = 0.0 then 0.0 else o), m)
    ScalarUpdate.apply h.Lr h.WeightDecay u p, { Step = t; ExpAvg = m; ExpAvgSqScaled = v }

/// The registry entry: names, ranges and the adapter to named state.
let info: RuleInfo =
    { Name = "madam"
      Summary = "MAdam: Adam without eps, second moment stored scaled by 2^scale_log2, zero update where the momentum is zero"
      Reference = "NVIDIA-NeMo/Emerging-Optimizers emerging_optimizers/scalar_optimizers/update_functions/madam.py"
      Hypers =
        [ (Hyper.real "lr" defaults.Lr ">= 0" (fun v -> v >= 0.0) "learning rate") |> Hyper.typically 1e-05 0.01
          ScalarUpdate.betaDef "beta1" defaults.Beta1 "decay of the first moment (betas[0])" |> Hyper.typically 0.5 0.99
          ScalarUpdate.betaDef "beta2" defaults.Beta2 "decay of the scaled second moment (betas[1])" |> Hyper.typically 0.9 0.9999
          Hyper.flag "correct_bias" defaults.CorrectBias "Adam's bias correction of both moments"
          (Hyper.whole "scale_log2" defaults.ScaleLog2 "even integer" (fun n -> n % 2 = 0) "log2 of the second moment's storage scale s") |> Hyper.typically -20.0 20.0
          (ScalarUpdate.weightDecayDef defaults.WeightDecay |> Hyper.typically 0.0 0.1) ]
      Pairs = [ "betas", "beta1", "beta2" ]
      Create =
        fun v ->
            let h =
                { Lr = Hyper.getReal v "lr"; Beta1 = Hyper.getReal v "beta1"; Beta2 = Hyper.getReal v "beta2"
                  CorrectBias = Hyper.getFlag v "correct_bias"; ScaleLog2 = Hyper.getWhole v "scale_log2"
                  WeightDecay = Hyper.getReal v "weight_decay" }
            let toNamed (s: State) = Buffers.named s.Step [ "exp_avg", Some s.ExpAvg; "exp_avg_sq_scaled", Some s.ExpAvgSqScaled ]
            Ok
                { Init = fun p -> toNamed (init p.Value.Count)
                  Step =
                    fun ns g p ->
                        let s = { Step = ns.Step; ExpAvg = Buffers.get ns "exp_avg"; ExpAvgSqScaled = Buffers.get ns "exp_avg_sq_scaled" }
                        let p', s' = step h s g p.Value
                        p', toNamed s' } }
