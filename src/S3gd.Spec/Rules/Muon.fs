/// Muon as torch.optim.Muon (pytorch/pytorch torch/optim/_muon.py, PyTorch 2.11), 2-D parameters only:
///   buf <- lerp(buf, g, 1 - momentum);  u <- lerp(g, buf, momentum) if nesterov else buf;  u <- NS(u);
///   p <- p * (1 - lr*wd);  p <- p - lr' * u,
///   lr' = lr * sqrt(max(1, rows/cols)) ('original', torch's default) or 0.2 * sqrt(max(rows, cols)) * lr ('match_rms_adamw').
/// NS runs in modelled bf16 by default, as torch does (see NewtonSchulz); `ns_precision=float64` gives the exact iteration.
module S3gd.Spec.Rules.Muon

open MathNet.Numerics.LinearAlgebra

/// Muon hyperparameters, torch.optim.Muon's names and defaults.
type Hyper =
    { Lr: float
      WeightDecay: float
      Momentum: float
      Nesterov: bool
      NsCoefficients: NewtonSchulz.Coefficients
      Eps: float
      NsSteps: int
      AdjustLrFn: string
      NsPrecision: NewtonSchulz.Precision }

/// Muon state: the momentum buffer, zero before the first step (as torch allocates it).
type State = { MomentumBuffer: Vec }

/// torch.optim.Muon's defaults (adjust_lr_fn None means 'original').
let defaults =
    { Lr = 1e-3; WeightDecay = 0.1; Momentum = 0.95; Nesterov = true; NsCoefficients = NewtonSchulz.quintic
      Eps = 1e-7; NsSteps = 5; AdjustLrFn = "original"; NsPrecision = NewtonSchulz.Bf16 }

/// The state before the first step for a parameter of n elements.
let init (n: int) : State = { MomentumBuffer = Vector<float>.Build.Dense n }

/// The learning rate scaled for a rows x cols matrix by adjust_lr_fn.
let adjustLr (h: Hyper) (rows: int) (cols: int) : float =
    match h.AdjustLrFn with
    | "original" -> h.Lr * sqrt (max 1.0 (float rows / float cols))
    // 0.2: Moonshot's factor that matches AdamW's update RMS ("Muon is Scalable for LLM Training").
    | "match_rms_adamw" -> 0.2 * sqrt (float (max rows cols)) * h.Lr
    | other -> invalidArg "adjust_lr_fn" (sprintf "adjust_lr_fn must be original or match_rms_adamw, got '%s'" other)

/// One Muon step on a rows x cols parameter (values row-major): (hyper, shape, state, grad, param) -> (param', state').
let step (h: Hyper) (rows: int, cols: int) (s: State) (g: Vec) (p: Vec) : Vec * State =
    let buf = Elementwise.lerp s.MomentumBuffer g (1.0 - h.Momentum)
    let u = if h.Nesterov then Elementwise.lerp g buf h.Momentum else buf
    let o = NewtonSchulz.orthogonalize h.NsPrecision NewtonSchulz.MaxEps h.NsCoefficients h.NsSteps h.Eps (NewtonSchulz.toMatrix rows cols u)
    let p = p * (1.0 - h.Lr * h.WeightDecay)
    p - adjustLr h rows cols * NewtonSchulz.ofMatrix o, { MomentumBuffer = buf }

/// The (rows, cols) of a 2-D parameter; any other shape is an error naming the parameter and its shape.
let matrixShape (p: Param) : int * int =
    match p.Shape with
    | [ rows; cols ] -> rows, cols
    | shape -> invalidArg "param" (sprintf "muon takes 2-D parameters only; '%s' has shape %A" p.Name shape)

/// Muon hyperparameters from resolved values.
let ofHypers (v: Hypers) : Hyper =
    { Lr = Hyper.getReal v "lr"; WeightDecay = Hyper.getReal v "weight_decay"; Momentum = Hyper.getReal v "momentum"
      Nesterov = Hyper.getFlag v "nesterov"
      NsCoefficients = NewtonSchulz.coefficientSets |> List.find (fun (n, _) -> n = Hyper.getWord v "ns_coefficients") |> snd
      Eps = Hyper.getReal v "eps"; NsSteps = Hyper.getWhole v "ns_steps"; AdjustLrFn = Hyper.getWord v "adjust_lr_fn"
      NsPrecision = if Hyper.getWord v "ns_precision" = "bf16" then NewtonSchulz.Bf16 else NewtonSchulz.Float64 }

/// The registry entry: names, ranges and the adapter to named state.
let info: RuleInfo =
    { Name = "muon"
      Summary = "momentum orthogonalised by Newton-Schulz, for 2-D parameters"
      Reference = "pytorch/pytorch torch/optim/_muon.py (PyTorch 2.11)"
      Hypers =
        [ Hyper.real "lr" defaults.Lr ">= 0" (fun v -> v >= 0.0) "learning rate"
          Hyper.real "weight_decay" defaults.WeightDecay ">= 0" (fun v -> v >= 0.0) "decoupled decay: p <- p*(1 - lr*wd)"
          Hyper.real "momentum" defaults.Momentum ">= 0" (fun v -> v >= 0.0) "momentum factor"
          Hyper.flag "nesterov" defaults.Nesterov "Nesterov momentum"
          Hyper.word "ns_coefficients" "quintic" (List.map fst NewtonSchulz.coefficientSets)
              "Newton-Schulz coefficients: quintic (3.4445, -4.7750, 2.0315) or cubic (1.5, -0.5, 0)"
          Hyper.real "eps" defaults.Eps "> 0" (fun v -> v > 0.0) "floor of the Frobenius norm in the normalisation"
          // 100: torch rejects ns_steps >= 100.
          Hyper.whole "ns_steps" defaults.NsSteps "[1, 99]" (fun v -> v >= 1 && v < 100) "Newton-Schulz iterations"
          Hyper.word "adjust_lr_fn" defaults.AdjustLrFn [ "original"; "match_rms_adamw" ] "learning-rate scaling by shape"
          Hyper.word "ns_precision" "bf16" [ "bf16"; "float64" ] "Newton-Schulz arithmetic: torch's bf16 (modelled) or exact float64" ]
      Pairs = []
      Create =
        fun v ->
            let h = ofHypers v
            let toNamed (n: int) (s: State) = { Step = n; Buffers = Map [ "momentum_buffer", s.MomentumBuffer ] }
            Ok
                { Init = fun p -> matrixShape p |> ignore; toNamed 0 (init p.Value.Count)
                  Step =
                    fun ns g p ->
                        let p', s' = step h (matrixShape p) { MomentumBuffer = ns.Buffers["momentum_buffer"] } g p.Value
                        p', toNamed (ns.Step + 1) s' } }
