/// Signum as NVIDIA-NeMo/Emerging-Optimizers emerging_optimizers/scalar_optimizers/update_functions/signum.py
/// (calculate_signum_update), applied as that library's scalar optimizers do (see ScalarUpdate: decoupled decay,
/// then p <- p - lr*u):
///   m <- lerp(m, g, 1-b);  bc1 = 1-b^t (1 without correct_bias);
///   nesterov: u = sign(b*m/bcn + (1-b)*g/bc1) with bcn = 1-b^(t+1) (1 without correct_bias);  else u = sign(m/bc1);
///   use_shape_scaling (2-D parameters only): u <- u * 2/(rows+cols).
module S3gd.Spec.Rules.Signum

open S3gd.Spec.Rules.Elementwise

/// Signum hyperparameters by the reference's names; its update function has no defaults, the spec's are below.
type Hyper = { Lr: float; Momentum: float; CorrectBias: bool; Nesterov: bool; UseShapeScaling: bool; WeightDecay: float }

/// Signum state: step and the momentum exp_avg.
type State = { Step: int; ExpAvg: Vec }

/// The spec's defaults (the reference's update function takes every value explicitly).
let defaults = { Lr = 1e-3; Momentum = 0.9; CorrectBias = true; Nesterov = false; UseShapeScaling = false; WeightDecay = 0.0 }

/// The state before the first step for a parameter of n elements.
let init (n: int) : State = { Step = 0; ExpAvg = zeros n }

/// The factor shape scaling multiplies the sign by, 2/(rows+cols); a shape that is not 2-D is an error naming it.
let shapeScale (shape: int list) =
    match shape with
    | [ rows; cols ] -> 2.0 / float (rows + cols)
    | _ -> invalidArg "shape" (sprintf "use_shape_scaling needs a 2-D parameter; shape is %A" shape)

/// One Signum step on a parameter of the given shape: (hyper, shape, state, grad, param) -> (param', state').
let step (h: Hyper) (shape: int list) (s: State) (g: Vec) (p: Vec) : Vec * State =
    let b = h.Momentum
    let t = s.Step + 1
    let m = lerp s.ExpAvg g (1.0 - b)
    let bc1 = if h.CorrectBias then 1.0 - b ** float t else 1.0
    let momentum =
        if h.Nesterov then
            let bcn = if h.CorrectBias then 1.0 - b ** float (t + 1) else 1.0
            div (b * m) bcn + div ((1.0 - b) * g) bc1
        else div m bc1
    let u = if h.UseShapeScaling then sign momentum * shapeScale shape else sign momentum
    ScalarUpdate.apply h.Lr h.WeightDecay u p, { Step = t; ExpAvg = m }

/// The registry entry: names, ranges and the adapter to named state.
let info: RuleInfo =
    { Name = "signum"
      Summary = "Signum: the sign of the (bias-corrected, optionally Nesterov) momentum, optionally shape-scaled"
      Reference = "NVIDIA-NeMo/Emerging-Optimizers emerging_optimizers/scalar_optimizers/update_functions/signum.py"
      Hypers =
        [ (Hyper.real "lr" defaults.Lr ">= 0" (fun v -> v >= 0.0) "learning rate") |> Hyper.typically 1e-05 0.01
          ScalarUpdate.betaDef "momentum" defaults.Momentum "decay of the momentum EMA" |> Hyper.typically 0.5 0.99
          Hyper.flag "correct_bias" defaults.CorrectBias "divide the momentum by 1-momentum^t"
          Hyper.flag "nesterov" defaults.Nesterov "Nesterov form of the momentum"
          Hyper.flag "use_shape_scaling" defaults.UseShapeScaling "scale the sign by 2/(rows+cols) (2-D parameters only)"
          (ScalarUpdate.weightDecayDef defaults.WeightDecay |> Hyper.typically 0.0 0.1) ]
      Pairs = []
      Create =
        fun v ->
            let h =
                { Lr = Hyper.getReal v "lr"; Momentum = Hyper.getReal v "momentum"; CorrectBias = Hyper.getFlag v "correct_bias"
                  Nesterov = Hyper.getFlag v "nesterov"; UseShapeScaling = Hyper.getFlag v "use_shape_scaling"
                  WeightDecay = Hyper.getReal v "weight_decay" }
            let toNamed (s: State) = Buffers.named s.Step [ "exp_avg", Some s.ExpAvg ]
            Ok
                { Init =
                    fun p ->
                        if h.UseShapeScaling && List.length p.Shape <> 2 then
                            invalidArg "param" (sprintf "use_shape_scaling needs a 2-D parameter; %s has shape %A" p.Name p.Shape)
                        toNamed (init p.Value.Count)
                  Step =
                    fun ns g p ->
                        let p', s' = step h p.Shape { Step = ns.Step; ExpAvg = Buffers.get ns "exp_avg" } g p.Value
                        p', toNamed s' } }
