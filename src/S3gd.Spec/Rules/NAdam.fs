/// NAdam as torch.optim.NAdam (pytorch/pytorch, torch/optim/nadam.py, _single_tensor_nadam, PyTorch 2.x), Adam with
/// Nesterov momentum under Dozat's momentum schedule:
///   g <- -g if maximize;  decoupled: p <- p*(1 - lr*wd), else g <- g + wd*p;
///   mu_t = b1*(1 - 0.5*0.96^(t*momentum_decay));  mu_product_t = mu_1*...*mu_t (torch's mu_product state);
///   m <- lerp(m, g, 1-b1);  v <- b2*v + (1-b2)*g*g;  denom = sqrt(v/(1 - b2^t)) + eps;
///   p <- p + (-lr*(1-mu_t)/(1-mu_product_t)) * g/denom;
///   p <- p + (-lr*mu_{t+1}/(1-mu_product_t*mu_{t+1})) * m/denom.
/// Operation order is torch's (each update an addcdiv as ATen's CPU kernel orders it, p + (value*x)/denom). torch keeps
/// mu_product as a tensor of the default dtype, multiplied by mu_t each step; here it is the same product in float64 from
/// the step number (bit for bit torch's with a float64 default dtype).
module S3gd.Spec.Rules.NAdam

open S3gd.Spec.Rules.Elementwise

/// NAdam hyperparameters, torch.optim.NAdam's names (betas split into beta1, beta2) and defaults.
type Hyper =
    { Lr: float; Beta1: float; Beta2: float; Eps: float; WeightDecay: float; MomentumDecay: float; Maximize: bool
      /// torch's decoupled_weight_decay (true: p <- p*(1 - lr*wd), as AdamW).
      DecoupledWeightDecay: bool }

/// NAdam state: step, exp_avg and exp_avg_sq (torch's mu_product follows from the step: `muProduct`).
type State = { Step: int; ExpAvg: Vec; ExpAvgSq: Vec }

/// torch.optim.NAdam's defaults.
let defaults =
    { Lr = 2e-3; Beta1 = 0.9; Beta2 = 0.999; Eps = 1e-8; WeightDecay = 0.0; MomentumDecay = 4e-3; Maximize = false
      DecoupledWeightDecay = false }

/// The state before the first step for a parameter of n elements.
let init (n: int) : State = { Step = 0; ExpAvg = zeros n; ExpAvgSq = zeros n }

/// The momentum coefficient of step t: mu_t = b1*(1 - 0.5*0.96^(t*momentum_decay)).
let mu (beta1: float) (momentumDecay: float) (t: int) = beta1 * (1.0 - 0.5 * (0.96 ** (float t * momentumDecay)))

/// torch's mu_product after step t: mu_1*...*mu_t, multiplied in torch's order (1 before the first step).
let muProduct (beta1: float) (momentumDecay: float) (t: int) = List.fold (fun acc i -> acc * mu beta1 momentumDecay i) 1.0 [ 1 .. t ]

/// The two addcdiv values of step t at learning rate lr, as torch computes them: the gradient's
/// -lr*(1-mu_t)/(1-mu_product_t) and the momentum's -lr*mu_{t+1}/(1-mu_product_t*mu_{t+1}).
let coefficients (lr: float) (beta1: float) (momentumDecay: float) (t: int) : float * float =
    let muT = mu beta1 momentumDecay t
    let muNext = mu beta1 momentumDecay (t + 1)
    let product = muProduct beta1 momentumDecay t
    let productNext = product * muNext
    -lr * (1.0 - muT) / (1.0 - product), (-lr * muNext) / (1.0 - productNext)

/// One NAdam step: (hyper, state, grad, param) -> (param', state').
let step (h: Hyper) (s: State) (g: Vec) (p: Vec) : Vec * State =
    let g = if h.Maximize then -g else g
    let t = s.Step + 1
    let bc2 = 1.0 - h.Beta2 ** float t
    let p, g =
        if h.WeightDecay = 0.0 then p, g
        elif h.DecoupledWeightDecay then decoupledDecay h.Lr h.WeightDecay p, g
        else p, g + h.WeightDecay * p
    let gradValue, momentumValue = coefficients h.Lr h.Beta1 h.MomentumDecay t
    let m = lerp s.ExpAvg g (1.0 - h.Beta1)
    let v = addcmul (h.Beta2 * s.ExpAvgSq) (1.0 - h.Beta2) g g
    let denom = sqrt (div v bc2) + h.Eps
    let p = addcdiv p gradValue g denom
    addcdiv p momentumValue m denom, { Step = t; ExpAvg = m; ExpAvgSq = v }

/// The registry entry: names, ranges and the adapter to named state.
let info: RuleInfo =
    let beta name dflt = Hyper.real name dflt "[0, 1)" (fun v -> v >= 0.0 && v < 1.0)
    { Name = "nadam"
      Summary = "NAdam: Adam with Nesterov momentum under a momentum schedule, maximize and coupled (or decoupled) weight decay"
      Reference = "pytorch/pytorch torch/optim/nadam.py (PyTorch 2.x)"
      Hypers =
        [ (Hyper.real "lr" defaults.Lr ">= 0" (fun v -> v >= 0.0) "learning rate") |> Hyper.typically 1e-05 0.01
          beta "beta1" defaults.Beta1 "decay of the first-moment average (betas[0])" |> Hyper.typically 0.5 0.99
          beta "beta2" defaults.Beta2 "decay of the second-moment average (betas[1])" |> Hyper.typically 0.9 0.9999
          (Hyper.real "eps" defaults.Eps ">= 0" (fun v -> v >= 0.0) "added to the denominator") |> Hyper.typically 1e-10 1e-06
          (Hyper.real "weight_decay" defaults.WeightDecay ">= 0" (fun v -> v >= 0.0) "weight decay (coupled L2, or decoupled p <- p*(1-lr*wd))") |> Hyper.typically 0.0 0.1
          (Hyper.real "momentum_decay" defaults.MomentumDecay ">= 0" (fun v -> v >= 0.0) "psi of the momentum schedule mu_t = b1*(1 - 0.5*0.96^(t*psi))") |> Hyper.typically 1e-03 1e-02
          Hyper.flag "decoupled_weight_decay" defaults.DecoupledWeightDecay "decay p <- p*(1-lr*wd) instead of g <- g + wd*p (AdamW's form)"
          Hyper.flag "maximize" defaults.Maximize "maximize the objective instead of minimizing" ]
      Pairs = [ "betas", "beta1", "beta2" ]
      Create =
        fun v ->
            let h =
                { Lr = Hyper.getReal v "lr"; Beta1 = Hyper.getReal v "beta1"; Beta2 = Hyper.getReal v "beta2"; Eps = Hyper.getReal v "eps"
                  WeightDecay = Hyper.getReal v "weight_decay"; MomentumDecay = Hyper.getReal v "momentum_decay"
                  Maximize = Hyper.getFlag v "maximize"; DecoupledWeightDecay = Hyper.getFlag v "decoupled_weight_decay" }
            let toNamed (s: State) = Buffers.named s.Step [ "exp_avg", Some s.ExpAvg; "exp_avg_sq", Some s.ExpAvgSq ]
            Ok
                { Init = fun p -> toNamed (init p.Value.Count)
                  Step =
                    fun ns g p ->
                        let p', s' = step h { Step = ns.Step; ExpAvg = Buffers.get ns "exp_avg"; ExpAvgSq = Buffers.get ns "exp_avg_sq" } g p.Value
                        p', toNamed s' } }
