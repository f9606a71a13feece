/// RMSprop as torch.optim.RMSprop (pytorch/pytorch, torch/optim/rmsprop.py, _single_tensor_rmsprop, PyTorch 2.11):
///   g <- -g if maximize;  g <- g + wd*p;  sq <- alpha*sq + (1-alpha)*g*g;
///   centered: ga <- lerp(ga, g, 1-alpha), avg <- sqrt(sq - ga*ga) + eps;  else avg <- sqrt(sq) + eps;
///   momentum > 0: buf <- momentum*buf + g/avg, p <- p - lr*buf;  else p <- p - lr*g/avg.
/// Checked against PyTorch 2.11 in float64 (257 elements, 5 steps): plain RMSprop within 2 ulps of torch on the
/// CPU; centered with momentum within 1e-13 relative (torch's CPU lerp and CUDA kernels fuse multiply-adds).
module S3gd.Spec.Rules.RmsProp

open S3gd.Spec.Rules.Elementwise

/// RMSprop hyperparameters, torch.optim.RMSprop's names and defaults.
type Hyper =
    { Lr: float; Alpha: float; Eps: float; WeightDecay: float; Momentum: float; Centered: bool; Maximize: bool }

/// RMSprop state: torch allocates momentum_buffer only with momentum > 0 and grad_avg only when centered.
type State = { Step: int; SquareAvg: Vec; MomentumBuffer: Vec option; GradAvg: Vec option }

/// torch.optim.RMSprop's defaults.
let defaults = { Lr = 1e-2; Alpha = 0.99; Eps = 1e-8; WeightDecay = 0.0; Momentum = 0.0; Centered = false; Maximize = false }

/// The state before the first step for a parameter of n elements (zeros, as torch allocates them).
let init (h: Hyper) (n: int) : State =
    { Step = 0
      SquareAvg = zeros n
      MomentumBuffer = if h.Momentum > 0.0 then Some(zeros n) else None
      GradAvg = if h.Centered then Some(zeros n) else None }

/// One RMSprop step: (hyper, state, grad, param) -> (param', state').
let step (h: Hyper) (s: State) (g: Vec) (p: Vec) : Vec * State =
    let g = if h.Maximize then -g else g
    let g = if h.WeightDecay <> 0.0 then g + h.WeightDecay * p else g
    let sq = addcmul (h.Alpha * s.SquareAvg) (1.0 - h.Alpha) g g
    let ga = s.GradAvg |> Option.map (fun ga -> lerp ga g (1.0 - h.Alpha))
    let avg =
        match ga with
        | Some ga -> sqrt (addcmul sq (-1.0) ga ga) + h.Eps
        | None -> sqrt sq + h.Eps
    let s' = { s with Step = s.Step + 1; SquareAvg = sq; GradAvg = ga }
    match s.MomentumBuffer with
    | Some buf ->
        let buf = addcdiv (h.Momentum * buf) 1.0 g avg
        p - h.Lr * buf, { s' with MomentumBuffer = Some buf }
    | None -> addcdiv p (-h.Lr) g avg, s'

/// The registry entry: names, ranges and the adapter to named state.
let info: RuleInfo =
    { Name = "rmsprop"
      Summary = "RMSprop with momentum, centering, coupled weight decay and maximize"
      Reference = "pytorch/pytorch torch/optim/rmsprop.py (PyTorch 2.11)"
      Hypers =
        [ (Hyper.real "lr" defaults.Lr ">= 0" (fun v -> v >= 0.0) "learning rate") |> Hyper.typically 1e-05 0.01
          (Hyper.real "alpha" defaults.Alpha ">= 0" (fun v -> v >= 0.0) "smoothing constant of the squared-gradient average") |> Hyper.typically 0.9 0.999
          (Hyper.real "eps" defaults.Eps ">= 0" (fun v -> v >= 0.0) "added to the root of the average") |> Hyper.typically 1e-10 1e-06
          (Hyper.real "weight_decay" defaults.WeightDecay ">= 0" (fun v -> v >= 0.0) "coupled L2 penalty: g <- g + wd*p") |> Hyper.typically 0.0 0.1
          (Hyper.real "momentum" defaults.Momentum ">= 0" (fun v -> v >= 0.0) "momentum factor (0: none)") |> Hyper.typically 0.5 0.99
          Hyper.flag "centered" defaults.Centered "normalize by the estimated variance instead of the second moment"
          Hyper.flag "maximize" defaults.Maximize "maximize the objective instead of minimizing" ]
      Pairs = []
      Create =
        fun v ->
            let h =
                { Lr = Hyper.getReal v "lr"; Alpha = Hyper.getReal v "alpha"; Eps = Hyper.getReal v "eps"
                  WeightDecay = Hyper.getReal v "weight_decay"; Momentum = Hyper.getReal v "momentum"
                  Centered = Hyper.getFlag v "centered"; Maximize = Hyper.getFlag v "maximize" }
            let toNamed (s: State) =
                Buffers.named s.Step [ "square_avg", Some s.SquareAvg; "momentum_buffer", s.MomentumBuffer; "grad_avg", s.GradAvg ]
            let ofNamed (ns: NamedState) =
                { Step = ns.Step
                  SquareAvg = Buffers.get ns "square_avg"
                  MomentumBuffer = if h.Momentum > 0.0 then Some(Buffers.get ns "momentum_buffer") else None
                  GradAvg = if h.Centered then Some(Buffers.get ns "grad_avg") else None }
            Ok
                { Init = fun p -> toNamed (init h p.Value.Count)
                  Step =
                    fun ns g p ->
                        let p', s' = step h (ofNamed ns) g p.Value
                        p', toNamed s' } }
