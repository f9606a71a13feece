/// RAdam as torch.optim.RAdam (pytorch/pytorch, torch/optim/radam.py, _single_tensor_radam, PyTorch 2.x), Adam with the
/// variance of its adaptive learning rate rectified, plain momentum SGD while that variance is intractable:
///   g <- -g if maximize;  decoupled: p <- p*(1 - lr*wd), else g <- g + wd*p;
///   m <- lerp(m, g, 1-b1);  v <- b2*v + (1-b2)*g*g;  bc1 = 1-b1^t, bc2 = 1-b2^t;
///   rho_inf = 2/(1-b2) - 1;  rho_t = rho_inf - 2t*b2^t/bc2;
///   rho_t > 5: r_t = sqrt((rho_t-4)(rho_t-2)rho_inf / ((rho_inf-4)(rho_inf-2)rho_t)),  l = sqrt(bc2)/(sqrt(v) + eps),
///              p <- p - (m/bc1)*lr*l*r_t;
///   else:      p <- p - (m/bc1)*lr.
/// Operation order is torch's: the products left to right, ((m/bc1)*lr*l)*r_t, then p.add_(x, alpha=-1).
module S3gd.Spec.Rules.RAdam

open MathNet.Numerics.LinearAlgebra
open S3gd.Spec.Rules.Elementwise

/// RAdam hyperparameters, torch.optim.RAdam's names (betas split into beta1, beta2) and defaults.
type Hyper =
    { Lr: float; Beta1: float; Beta2: float; Eps: float; WeightDecay: float; Maximize: bool
      /// torch's decoupled_weight_decay (true: p <- p*(1 - lr*wd), as AdamW).
      DecoupledWeightDecay: bool }

/// RAdam state: step, exp_avg and exp_avg_sq, as torch names them.
type State = { Step: int; ExpAvg: Vec; ExpAvgSq: Vec }

/// torch.optim.RAdam's defaults.
let defaults = { Lr = 1e-3; Beta1 = 0.9; Beta2 = 0.999; Eps = 1e-8; WeightDecay = 0.0; Maximize = false; DecoupledWeightDecay = false }

/// The state before the first step for a parameter of n elements.
let init (n: int) : State = { Step = 0; ExpAvg = zeros n; ExpAvgSq = zeros n }

/// torch's threshold: the rectified step is taken once the approximated SMA's length rho_t exceeds it.
let rectifiedAbove = 5.0

/// The rectification term r_t of step t, or None while rho_t <= 5 (the unrectified step), as torch computes it.
let rectification (beta2: float) (t: int) : float option =
    let step = float t
    let bc2 = 1.0 - beta2 ** step
    let rhoInf = 2.0 / (1.0 - beta2) - 1.0
    let rhoT = rhoInf - 2.0 * step * (beta2 ** step) / bc2
    if rhoT > rectifiedAbove then Some(((rhoT - 4.0) * (rhoT - 2.0) * rhoInf / ((rhoInf - 4.0) * (rhoInf - 2.0) * rhoT)) ** 0.5)
    else None

/// One RAdam step: (hyper, state, grad, param) -> (param', state').
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
    let mHat = div m bc1
    let update =
        match rectification h.Beta2 t with
        | Some r ->
            let adaptiveLr = (sqrt v + h.Eps).Map((fun d -> bc2 ** 0.5 / d), Zeros.Include)
            ((mHat * h.Lr).PointwiseMultiply adaptiveLr) * r
        | None -> mHat * h.Lr
    p - update, { Step = t; ExpAvg = m; ExpAvgSq = v }

/// The registry entry: names, ranges and the adapter to named state.
let info: RuleInfo =
    let beta name dflt = Hyper.real name dflt "[0, 1)" (fun v -> v >= 0.0 && v < 1.0)
    { Name = "radam"
      Summary = "RAdam: Adam with a rectified adaptive learning rate, maximize and coupled (or decoupled) weight decay"
      Reference = "pytorch/pytorch torch/optim/radam.py (PyTorch 2.x)"
      Hypers =
        [ (Hyper.real "lr" defaults.Lr ">= 0" (fun v -> v >= 0.0) "learning rate") |> Hyper.typically 1e-05 0.01
          beta "beta1" defaults.Beta1 "decay of the first-moment average (betas[0])" |> Hyper.typically 0.5 0.99
          beta "beta2" defaults.Beta2 "decay of the second-moment average (betas[1])" |> Hyper.typically 0.9 0.9999
          (Hyper.real "eps" defaults.Eps ">= 0" (fun v -> v >= 0.0) "added to the denominator") |> Hyper.typically 1e-10 1e-06
          (Hyper.real "weight_decay" defaults.WeightDecay ">= 0" (fun v -> v >= 0.0) "weight decay (coupled L2, or decoupled p <- p*(1-lr*wd))") |> Hyper.typically 0.0 0.1
          Hyper.flag "decoupled_weight_decay" defaults.DecoupledWeightDecay "decay p <- p*(1-lr*wd) instead of g <- g + wd*p (RAdamW)"
          Hyper.flag "maximize" defaults.Maximize "maximize the objective instead of minimizing" ]
      Pairs = [ "betas", "beta1", "beta2" ]
      Create =
        fun v ->
            let h =
                { Lr = Hyper.getReal v "lr"; Beta1 = Hyper.getReal v "beta1"; Beta2 = Hyper.getReal v "beta2"; Eps = Hyper.getReal v "eps"
                  WeightDecay = Hyper.getReal v "weight_decay"; Maximize = Hyper.getFlag v "maximize"
                  DecoupledWeightDecay = Hyper.getFlag v "decoupled_weight_decay" }
            let toNamed (s: State) = Buffers.named s.Step [ "exp_avg", Some s.ExpAvg; "exp_avg_sq", Some s.ExpAvgSq ]
            Ok
                { Init = fun p -> toNamed (init p.Value.Count)
                  Step =
                    fun ns g p ->
                        let p', s' = step h { Step = ns.Step; ExpAvg = Buffers.get ns "exp_avg"; ExpAvgSq = Buffers.get ns "exp_avg_sq" } g p.Value
                        p', toNamed s' } }
