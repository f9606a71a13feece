/// Adam as torch.optim.Adam (pytorch/pytorch, torch/optim/adam.py, _single_tensor_adam, PyTorch 2.11), the
/// core AdamW shares:
///   g <- -g if maximize;  decoupled: p <- p*(1 - lr*wd), else g <- g + wd*p;
///   m <- lerp(m, g, 1-b1);  v <- b2*v + (1-b2)*g*g;  bc1 = 1-b1^t, bc2 = 1-b2^t;
///   amsgrad: vmax <- max(vmax, v), v' = vmax, else v' = v;
///   denom = sqrt(v')/sqrt(bc2) + eps;  p <- p - (lr/bc1) * m/denom.
/// Operation order is torch's; the last line is addcdiv as ATen's CPU kernel orders it, p + ((-lr/bc1)*m)/denom.
/// Checked against PyTorch 2.11 in float64 (257 elements, 5 steps): within 2 ulps of torch on the CPU, 4 on CUDA
/// (which contracts multiply-adds into FMAs).
module S3gd.Spec.Rules.Adam

open S3gd.Spec.Rules.Elementwise

/// Adam hyperparameters, torch.optim.Adam's names (betas split into beta1, beta2) and defaults.
type Hyper =
    { Lr: float; Beta1: float; Beta2: float; Eps: float; WeightDecay: float; Amsgrad: bool; Maximize: bool
      /// torch's decoupled_weight_decay (true makes this AdamW).
      DecoupledWeightDecay: bool }

/// Adam state: step, exp_avg, exp_avg_sq, and max_exp_avg_sq only with amsgrad (as torch allocates them).
type State = { Step: int; ExpAvg: Vec; ExpAvgSq: Vec; MaxExpAvgSq: Vec option }

/// torch.optim.Adam's defaults.
let defaults =
    { Lr = 1e-3; Beta1 = 0.9; Beta2 = 0.999; Eps = 1e-8; WeightDecay = 0.0; Amsgrad = false; Maximize = false
      DecoupledWeightDecay = false }

/// The state before the first step for a parameter of n elements.
let init (h: Hyper) (n: int) : State =
    { Step = 0; ExpAvg = zeros n; ExpAvgSq = zeros n; MaxExpAvgSq = if h.Amsgrad then Some(zeros n) else None }

/// One Adam step: (hyper, state, grad, param) -> (param', state').
let step (h: Hyper) (s: State) (g: Vec) (p: Vec) : Vec * State =
    let g = if h.Maximize then -g else g
    let t = s.Step + 1
    let p, g =
        if h.WeightDecay = 0.0 then p, g
        elif h.DecoupledWeightDecay then decoupledDecay h.Lr h.WeightDecay p, g
        else p, g + h.WeightDecay * p
    let m = lerp s.ExpAvg g (1.0 - h.Beta1)
    let v = addcmul (h.Beta2 * s.ExpAvgSq) (1.0 - h.Beta2) g g
    let bc1 = 1.0 - h.Beta1 ** float t
    let bc2 = 1.0 - h.Beta2 ** float t
    let stepSize = h.Lr / bc1
    let vmax = s.MaxExpAvgSq |> Option.map (fun vm -> maximum vm v)
    let denom = div (sqrt (defaultArg vmax v)) (bc2 ** 0.5) + h.Eps
    addcdiv p (-stepSize) m denom, { Step = t; ExpAvg = m; ExpAvgSq = v; MaxExpAvgSq = vmax }

/// The hyperparameter definitions shared by Adam and AdamW, with the given defaults (decoupled_weight_decay apart).
let hyperDefs (d: Hyper) : HyperDef list =
    let beta name dflt = Hyper.real name dflt "[0, 1)" (fun v -> v >= 0.0 && v < 1.0)
    [ (Hyper.real "lr" d.Lr ">= 0" (fun v -> v >= 0.0) "learning rate") |> Hyper.typically 1e-05 0.01
      beta "beta1" d.Beta1 "decay of the first-moment average (betas[0])" |> Hyper.typically 0.5 0.99
      beta "beta2" d.Beta2 "decay of the second-moment average (betas[1])" |> Hyper.typically 0.9 0.9999
      (Hyper.real "eps" d.Eps ">= 0" (fun v -> v >= 0.0) "added to the denominator") |> Hyper.typically 1e-10 1e-06
      (Hyper.real "weight_decay" d.WeightDecay ">= 0" (fun v -> v >= 0.0) "weight decay (coupled L2, or decoupled p <- p*(1-lr*wd))") |> Hyper.typically 0.0 0.1
      Hyper.flag "amsgrad" d.Amsgrad "use the running maximum of the second moment (AMSGrad)"
      Hyper.flag "maximize" d.Maximize "maximize the objective instead of minimizing" ]

/// torch's betas pair.
let betasPair = [ "betas", "beta1", "beta2" ]

/// Hyperparameters from resolved values; decoupled as given (AdamW) or read from decoupled_weight_decay (Adam).
let read (v: Hypers) (decoupled: bool) : Hyper =
    { Lr = Hyper.getReal v "lr"; Beta1 = Hyper.getReal v "beta1"; Beta2 = Hyper.getReal v "beta2"; Eps = Hyper.getReal v "eps"
      WeightDecay = Hyper.getReal v "weight_decay"; Amsgrad = Hyper.getFlag v "amsgrad"; Maximize = Hyper.getFlag v "maximize"
      DecoupledWeightDecay = decoupled }

/// The rule for resolved hyperparameters, adapting to named buffers.
let rule (h: Hyper) : Rule =
    let toNamed (s: State) =
        Buffers.named s.Step [ "exp_avg", Some s.ExpAvg; "exp_avg_sq", Some s.ExpAvgSq; "max_exp_avg_sq", s.MaxExpAvgSq ]
    let ofNamed (ns: NamedState) =
        { Step = ns.Step; ExpAvg = Buffers.get ns "exp_avg"; ExpAvgSq = Buffers.get ns "exp_avg_sq"
          MaxExpAvgSq = if h.Amsgrad then Some(Buffers.get ns "max_exp_avg_sq") else None }
    { Init = fun p -> toNamed (init h p.Value.Count)
      Step =
        fun ns g p ->
            let p', s' = step h (ofNamed ns) g p.Value
            p', toNamed s' }

/// The registry entry: names, ranges and the adapter to named state.
let info: RuleInfo =
    { Name = "adam"
      Summary = "Adam with AMSGrad, maximize and coupled (or, optionally, decoupled) weight decay"
      Reference = "pytorch/pytorch torch/optim/adam.py (PyTorch 2.11)"
      Hypers =
        hyperDefs defaults
        @ [ Hyper.flag "decoupled_weight_decay" defaults.DecoupledWeightDecay "decay p <- p*(1-lr*wd) instead of g <- g + wd*p (AdamW)" ]
      Pairs = betasPair
      Create = fun v -> Ok(rule (read v (Hyper.getFlag v "decoupled_weight_decay"))) }
