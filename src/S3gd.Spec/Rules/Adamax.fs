/// Adamax as torch.optim.Adamax (pytorch/pytorch, torch/optim/adamax.py, _single_tensor_adamax, PyTorch 2.x), Adam's
/// variant with an exponentially weighted infinity norm in place of the second moment:
///   g <- -g if maximize;  g <- g + wd*p;
///   m <- lerp(m, g, 1-b1);  u <- max(b2*u, |g| + eps);
///   clr = lr/(1 - b1^t);  p <- p - clr * m/u.
/// Operation order is torch's; the last line is addcdiv as ATen's CPU kernel orders it, p + ((-clr)*m)/u.
module S3gd.Spec.Rules.Adamax

open S3gd.Spec.Rules.Elementwise

/// Adamax hyperparameters, torch.optim.Adamax's names (betas split into beta1, beta2) and defaults.
type Hyper = { Lr: float; Beta1: float; Beta2: float; Eps: float; WeightDecay: float; Maximize: bool }

/// Adamax state: step, exp_avg and exp_inf (the weighted infinity norm), as torch names them.
type State = { Step: int; ExpAvg: Vec; ExpInf: Vec }

/// torch.optim.Adamax's defaults.
let defaults = { Lr = 2e-3; Beta1 = 0.9; Beta2 = 0.999; Eps = 1e-8; WeightDecay = 0.0; Maximize = false }

/// The state before the first step for a parameter of n elements.
let init (n: int) : State = { Step = 0; ExpAvg = zeros n; ExpInf = zeros n }

/// One Adamax step: (hyper, state, grad, param) -> (param', state').
let step (h: Hyper) (s: State) (g: Vec) (p: Vec) : Vec * State =
    let g = if h.Maximize then -g else g
    let t = s.Step + 1
    let g = if h.WeightDecay = 0.0 then g else g + h.WeightDecay * p
    let m = lerp s.ExpAvg g (1.0 - h.Beta1)
    let u = maximum (h.Beta2 * s.ExpInf) (g.PointwiseAbs() + h.Eps)
    let clr = h.Lr / (1.0 - h.Beta1 ** float t)
    addcdiv p (-clr) m u, { Step = t; ExpAvg = m; ExpInf = u }

/// The registry entry: names, ranges and the adapter to named state.
let info: RuleInfo =
    let beta name dflt = Hyper.real name dflt "[0, 1)" (fun v -> v >= 0.0 && v < 1.0)
    { Name = "adamax"
      Summary = "Adamax: Adam with an exponentially weighted infinity norm, maximize and coupled weight decay"
      Reference = "pytorch/pytorch torch/optim/adamax.py (PyTorch 2.x)"
      Hypers =
        [ (Hyper.real "lr" defaults.Lr ">= 0" (fun v -> v >= 0.0) "learning rate") |> Hyper.typically 1e-05 0.01
          beta "beta1" defaults.Beta1 "decay of the first-moment average (betas[0])" |> Hyper.typically 0.5 0.99
          beta "beta2" defaults.Beta2 "decay of the infinity norm (betas[1])" |> Hyper.typically 0.9 0.9999
          (Hyper.real "eps" defaults.Eps ">= 0" (fun v -> v >= 0.0) "added to |g| before the maximum") |> Hyper.typically 1e-10 1e-06
          (Hyper.real "weight_decay" defaults.WeightDecay ">= 0" (fun v -> v >= 0.0) "coupled L2 weight decay: g <- g + wd*p") |> Hyper.typically 0.0 0.1
          Hyper.flag "maximize" defaults.Maximize "maximize the objective instead of minimizing" ]
      Pairs = [ "betas", "beta1", "beta2" ]
      Create =
        fun v ->
            let h =
                { Lr = Hyper.getReal v "lr"; Beta1 = Hyper.getReal v "beta1"; Beta2 = Hyper.getReal v "beta2"; Eps = Hyper.getReal v "eps"
                  WeightDecay = Hyper.getReal v "weight_decay"; Maximize = Hyper.getFlag v "maximize" }
            let toNamed (s: State) = Buffers.named s.Step [ "exp_avg", Some s.ExpAvg; "exp_inf", Some s.ExpInf ]
            Ok
                { Init = fun p -> toNamed (init p.Value.Count)
                  Step =
                    fun ns g p ->
                        let p', s' = step h { Step = ns.Step; ExpAvg = Buffers.get ns "exp_avg"; ExpInf = Buffers.get ns "exp_inf" } g p.Value
                        p', toNamed s' } }
