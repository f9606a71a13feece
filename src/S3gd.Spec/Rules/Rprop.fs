/// Rprop as torch.optim.Rprop (pytorch/pytorch, torch/optim/rprop.py, _single_tensor_rprop, PyTorch 2.11), resilient
/// backpropagation: each element's step size grows while its gradient keeps its sign and shrinks where the sign flips:
///   g <- -g if maximize;  s = sign(g*prev);
///   step_size <- clamp(step_size * (etaplus where s > 0, etaminus where s < 0, 1 where s = 0), step_size_min, step_size_max);
///   g <- 0 where s < 0;  p <- p - sign(g)*step_size;  prev <- g.
/// prev starts at zero, step_size at lr. Operation order is torch's: clamp is max with step_size_min, then min with
/// step_size_max; a NaN sign (g*prev NaN) is left NaN by torch's masks, so the step size becomes NaN, while g is kept.
module S3gd.Spec.Rules.Rprop

open System
open MathNet.Numerics.LinearAlgebra
open S3gd.Spec.Rules.Elementwise

/// Rprop hyperparameters, torch.optim.Rprop's names (etas split into etaminus, etaplus; step_sizes into step_size_min,
/// step_size_max) and defaults.
type Hyper = { Lr: float; EtaMinus: float; EtaPlus: float; StepSizeMin: float; StepSizeMax: float; Maximize: bool }

/// Rprop state: step, prev (the previous step's gradient, zeroed where its sign flipped) and step_size, as torch names them.
type State = { Step: int; Prev: Vec; StepSize: Vec }

/// torch.optim.Rprop's defaults.
let defaults = { Lr = 1e-2; EtaMinus = 0.5; EtaPlus = 1.2; StepSizeMin = 1e-6; StepSizeMax = 50.0; Maximize = false }

/// The state before the first step for a parameter of n elements: prev zero, step_size filled with lr (torch.full_like).
let init (h: Hyper) (n: int) : State = { Step = 0; Prev = zeros n; StepSize = Vector<float>.Build.Dense(n, h.Lr) }

/// The factor of one element's step size for the sign s of g*prev: etaplus, etaminus or 1; NaN stays NaN.
let factor (h: Hyper) (s: float) = if s > 0.0 then h.EtaPlus elif s < 0.0 then h.EtaMinus elif s = 0.0 then 1.0 else s

/// torch.clamp(x, lo, hi) on one element: the larger of x and lo, then the smaller of that and hi; NaN stays NaN.
let clamp1 (lo: float) (hi: float) (x: float) = if Double.IsNaN x then x else Math.Min(Math.Max(x, lo), hi)

/// One Rprop step: (hyper, state, grad, param) -> (param', state').
let step (h: Hyper) (s: State) (g: Vec) (p: Vec) : Vec * State =
    let g = if h.Maximize then -g else g
    let signs = sign (g.PointwiseMultiply s.Prev)
    let stepSize = s.StepSize.Map2((fun size sg -> clamp1 h.StepSizeMin h.StepSizeMax (size * factor h sg)), signs, Zeros.Include)
    let g = g.Map2((fun x sg -> if sg < 0.0 then 0.0 else x), signs, Zeros.Include)
    addcmul p -1.0 (sign g) stepSize, { Step = s.Step + 1; Prev = g; StepSize = stepSize }

/// The registry entry: names, ranges and the adapter to named state.
let info: RuleInfo =
    let nonNegative name dflt doc = Hyper.real name dflt ">= 0" (fun v -> v >= 0.0) doc
    { Name = "rprop"
      Summary = "Rprop: per-element step sizes grown while the gradient keeps its sign and shrunk where it flips, maximize"
      Reference = "pytorch/pytorch torch/optim/rprop.py (PyTorch 2.11)"
      Hypers =
        [ nonNegative "lr" defaults.Lr "learning rate: the step size every element starts at" |> Hyper.typically 1e-04 0.1
          Hyper.real "etaminus" defaults.EtaMinus "(0, 1)" (fun v -> v > 0.0 && v < 1.0) "step size factor where the gradient's sign flips (etas[0])"
          |> Hyper.typically 0.3 0.7
          Hyper.real "etaplus" defaults.EtaPlus "> 1" (fun v -> v > 1.0) "step size factor where the gradient keeps its sign (etas[1])"
          |> Hyper.typically 1.1 1.5
          nonNegative "step_size_min" defaults.StepSizeMin "smallest step size (step_sizes[0])" |> Hyper.typically 0.0 1e-04
          nonNegative "step_size_max" defaults.StepSizeMax "largest step size (step_sizes[1])" |> Hyper.typically 1e-02 50.0
          Hyper.flag "maximize" defaults.Maximize "maximize the objective instead of minimizing" ]
      Pairs = [ "etas", "etaminus", "etaplus"; "step_sizes", "step_size_min", "step_size_max" ]
      Create =
        fun v ->
            let h =
                { Lr = Hyper.getReal v "lr"; EtaMinus = Hyper.getReal v "etaminus"; EtaPlus = Hyper.getReal v "etaplus"
                  StepSizeMin = Hyper.getReal v "step_size_min"; StepSizeMax = Hyper.getReal v "step_size_max"
                  Maximize = Hyper.getFlag v "maximize" }
            let toNamed (s: State) = Buffers.named s.Step [ "prev", Some s.Prev; "step_size", Some s.StepSize ]
            Ok
                { Init = fun p -> toNamed (init h p.Value.Count)
                  Step =
                    fun ns g p ->
                        let p', s' = step h { Step = ns.Step; Prev = Buffers.get ns "prev"; StepSize = Buffers.get ns "step_size" } g p.Value
                        p', toNamed s' } }
