/// StableAdamW as optimi (warner-benjamin/optimi, optimi/stableadamw.py, `_single_param_stableadamw`):
/// no bias correction; the betas are debiased instead, b_hat(t) = b*(1 - b^(t-1))/(1 - b^t):
///   m <- lerp(m, g, 1 - b1_hat);  v <- b2_hat*v + (1 - b2_hat)*g^2;
///   RMS = sqrt(mean(g^2 / max(v, eps^2)));  lr_t = lr / max(1, RMS);
///   p <- p*(1 - lr_t*wd)  (decouple_lr: p <- p*(1 - (lr_t/max_lr)*wd));  p <- p - lr_t * m/(sqrt(v) + eps).
/// With kahan_sum the parameter is modelled as bf16 with a bf16 compensation buffer c (each result
/// rounded with Bf16.round; the moments stay float64):
///   p <- bf16(p*(1 - lr_t*wd));  c <- bf16(c - lr_t*m/(sqrt(v)+eps));  prev = p;  p <- bf16(p + c);  c <- bf16(c + bf16(prev - p)).
module S3gd.Spec.Rules.StableAdamW

open MathNet.Numerics.LinearAlgebra
open S3gd.Spec.Formats

/// StableAdamW hyperparameters, optimi's names and defaults (lr has no default there; 1e-3 here, as OAdamW).
type Hyper =
    { Lr: float
      Beta1: float
      Beta2: float
      WeightDecay: float
      Eps: float
      DecoupleLr: bool
      /// optimi's max_lr; 0 stands for None (then lr is the maximum).
      MaxLr: float
      KahanSum: bool }

/// StableAdamW state, named as optimi: exp_avg, exp_avg_sq, and kahan_comp when kahan_sum is on.
type State = { Step: int; ExpAvg: Vec; ExpAvgSq: Vec; KahanComp: Vec option }

/// optimi's defaults.
let defaults =
    { Lr = 1e-3; Beta1 = 0.9; Beta2 = 0.99; WeightDecay = 1e-2; Eps = 1e-6; DecoupleLr = false; MaxLr = 0.0; KahanSum = false }

/// The state before the first step for a parameter of n elements.
let init (h: Hyper) (n: int) : State =
    let zeros () = Vector<float>.Build.Dense n
    { Step = 0; ExpAvg = zeros (); ExpAvgSq = zeros (); KahanComp = if h.KahanSum then Some(zeros ()) else None }

/// optimi.utils.debias_beta: b*(1 - b^(t-1))/(1 - b^t), the beta that makes the EMA unbiased at step t.
let debiasBeta (beta: float) (t: int) : float = (beta ** float t - beta) / (beta ** float t - 1.0)

/// The RMS-clipped learning rate lr / max(1, sqrt(mean(g^2 / max(v, eps^2)))) for updated moments v.
let clippedLr (h: Hyper) (g: Vec) (v: Vec) : float =
    let rms = sqrt ((g.PointwisePower 2.0).PointwiseDivide(v.Map(fun x -> max x (h.Eps * h.Eps))).Sum() / float g.Count)
    h.Lr / max 1.0 rms

/// The decay factor for the clipped learning rate: 1 - lr_t*wd, or 1 - (lr_t/max_lr)*wd with decouple_lr.
let decay (h: Hyper) (lrT: float) : float =
    if h.DecoupleLr then 1.0 - (lrT / (if h.MaxLr > 0.0 then h.MaxLr else h.Lr)) * h.WeightDecay
    else 1.0 - lrT * h.WeightDecay

/// One StableAdamW step: (hyper, state, grad, param) -> (param', state').
let step (h: Hyper) (s: State) (g: Vec) (p: Vec) : Vec * State =
    let t = s.Step + 1
    let b1, b2 = debiasBeta h.Beta1 t, debiasBeta h.Beta2 t
    let m = Elementwise.lerp s.ExpAvg g (1.0 - b1)
    let v = b2 * s.ExpAvgSq + (1.0 - b2) * g.PointwiseMultiply g
    let lrT = clippedLr h g v
    let p = if h.WeightDecay <> 0.0 then p * decay h lrT else p
    let update = -lrT * m.PointwiseDivide(v.PointwiseSqrt() + h.Eps)
    let state = { Step = t; ExpAvg = m; ExpAvgSq = v; KahanComp = s.KahanComp }
    match s.KahanComp with
    | None -> p + update, state
    | Some c ->
        let bf (x: Vec) = x.Map Bf16.round
        let prev = bf p
        let c = bf (c + update)
        let p = bf (prev + c)
        p, { state with KahanComp = Some(bf (c + bf (prev - p))) }

/// The hyperparameter definitions StableAdamW and OAdamW share.
let hyperDefs: HyperDef list =
    [ Hyper.real "lr" defaults.Lr ">= 0" (fun v -> v >= 0.0) "learning rate (the maximum; clipped by the update RMS)"
      Hyper.real "beta1" defaults.Beta1 "[0, 1)" (fun v -> v >= 0.0 && v < 1.0) "EMA factor of the gradient (debiased per step)"
      Hyper.real "beta2" defaults.Beta2 "[0, 1)" (fun v -> v >= 0.0 && v < 1.0) "EMA factor of the squared gradient (debiased per step)"
      Hyper.real "weight_decay" defaults.WeightDecay ">= 0" (fun v -> v >= 0.0) "decoupled decay: p <- p*(1 - lr_t*wd)"
      Hyper.real "eps" defaults.Eps ">= 0" (fun v -> v >= 0.0) "added to sqrt(v); eps^2 floors v in the RMS"
      Hyper.flag "decouple_lr" defaults.DecoupleLr "fully decoupled decay: p <- p*(1 - (lr_t/max_lr)*wd)"
      Hyper.real "max_lr" defaults.MaxLr ">= 0 (0: lr)" (fun v -> v >= 0.0) "maximum scheduled lr for decouple_lr; 0 means lr"
      Hyper.flag "kahan_sum" defaults.KahanSum "model a bf16 parameter with a Kahan compensation buffer" ]

/// StableAdamW hyperparameters from resolved values.
let ofHypers (v: Hypers) : Hyper =
    { Lr = Hyper.getReal v "lr"; Beta1 = Hyper.getReal v "beta1"; Beta2 = Hyper.getReal v "beta2"
      WeightDecay = Hyper.getReal v "weight_decay"; Eps = Hyper.getReal v "eps"; DecoupleLr = Hyper.getFlag v "decouple_lr"
      MaxLr = Hyper.getReal v "max_lr"; KahanSum = Hyper.getFlag v "kahan_sum" }

/// The state as named buffers (exp_avg, exp_avg_sq, kahan_comp).
let toNamed (s: State) : NamedState =
    let buffers = Map [ "exp_avg", s.ExpAvg; "exp_avg_sq", s.ExpAvgSq ]
    { Step = s.Step; Buffers = match s.KahanComp with Some c -> buffers.Add("kahan_comp", c) | None -> buffers }

/// The typed state from named buffers.
let ofNamed (ns: NamedState) : State =
    { Step = ns.Step; ExpAvg = ns.Buffers["exp_avg"]; ExpAvgSq = ns.Buffers["exp_avg_sq"]; KahanComp = Map.tryFind "kahan_comp" ns.Buffers }

/// The registry entry: names, ranges and the adapter to named state.
let info: RuleInfo =
    { Name = "stableadamw"
      Summary = "AdamW with debiased betas, update-RMS clipping of lr, decoupled decay and optional Kahan-compensated bf16 parameters"
      Reference = "warner-benjamin/optimi optimi/stableadamw.py"
      Hypers = hyperDefs
      Pairs = [ "betas", "beta1", "beta2" ]
      Create =
        fun v ->
            let h = ofHypers v
            Ok
                { Init = fun p -> toNamed (init h p.Value.Count)
                  Step = fun ns g p -> let p', s' = step h (ofNamed ns) g p.Value in p', toNamed s' } }
