/// ASGD as torch.optim.ASGD (pytorch/pytorch, torch/optim/asgd.py, _single_tensor_asgd, PyTorch 2.x), SGD with a
/// decaying rate and a running average ax of the iterates from step t0 on:
///   g <- -g if maximize;  g <- g + wd*p;
///   p <- p*(1 - lambd*eta);  p <- p - eta*g;
///   ax <- p while mu = 1, else ax <- ax + (p - ax)*mu;
/// with eta and mu those torch stored at the previous step: eta_0 = lr, mu_0 = 1, and after step k
///   eta_k = lr/(1 + lambd*lr*k)^alpha,  mu_k = 1/max(1, k - t0).
/// Operation order is torch's. torch keeps step, eta and mu as 0-dim tensors; they follow from the step number, so here
/// they are functions of it (`eta`, `mu`) and the state holds step and ax.
module S3gd.Spec.Rules.Asgd

open S3gd.Spec.Rules.Elementwise

/// ASGD hyperparameters, torch.optim.ASGD's names and defaults.
type Hyper = { Lr: float; Lambd: float; Alpha: float; T0: float; WeightDecay: float; Maximize: bool }

/// ASGD state: step and ax (the averaged iterate), as torch names them.
type State = { Step: int; Ax: Vec }

/// torch.optim.ASGD's defaults.
let defaults = { Lr = 1e-2; Lambd = 1e-4; Alpha = 0.75; T0 = 1e6; WeightDecay = 0.0; Maximize = false }

/// The state before the first step for a parameter of n elements.
let init (n: int) : State = { Step = 0; Ax = zeros n }

/// torch's eta after step k (the rate step k+1 takes): lr at the state's creation (k = 0), then lr/(1 + lambd*lr*k)^alpha.
let eta (lr: float) (lambd: float) (alpha: float) (k: int) = if k = 0 then lr else lr / ((1.0 + lambd * lr * float k) ** alpha)

/// torch's mu after step k (the averaging weight step k+1 takes): 1 at the state's creation (k = 0), then 1/max(1, k - t0).
let mu (t0: float) (k: int) = if k = 0 then 1.0 else 1.0 / max 1.0 (float k - t0)

/// One ASGD step: (hyper, state, grad, param) -> (param', state').
let step (h: Hyper) (s: State) (g: Vec) (p: Vec) : Vec * State =
    let g = if h.Maximize then -g else g
    let g = if h.WeightDecay = 0.0 then g else g + h.WeightDecay * p
    let etaValue = eta h.Lr h.Lambd h.Alpha s.Step
    let muValue = mu h.T0 s.Step
    let p = p * (1.0 - h.Lambd * etaValue)
    let p = p + (-etaValue) * g
    let ax = if muValue <> 1.0 then s.Ax + (p - s.Ax) * muValue else p
    p, { Step = s.Step + 1; Ax = ax }

/// The registry entry: names, ranges and the adapter to named state.
let info: RuleInfo =
    let nonNegative name dflt doc = Hyper.real name dflt ">= 0" (fun v -> v >= 0.0) doc
    { Name = "asgd"
      Summary = "ASGD: SGD with a decaying rate, averaging the iterates from step t0 on, maximize and coupled weight decay"
      Reference = "pytorch/pytorch torch/optim/asgd.py (PyTorch 2.x)"
      Hypers =
        [ nonNegative "lr" defaults.Lr "learning rate" |> Hyper.typically 1e-03 0.1
          nonNegative "lambd" defaults.Lambd "decay term: p <- p*(1 - lambd*eta), eta = lr/(1 + lambd*lr*t)^alpha" |> Hyper.typically 0.0 0.1
          nonNegative "alpha" defaults.Alpha "power of eta's decay" |> Hyper.typically 0.5 1.0
          // Typically small here, so the averaging starts within the property tests' few steps.
          nonNegative "t0" defaults.T0 "step after which ax averages the iterates (mu = 1/max(1, t - t0))" |> Hyper.typically 0.0 5.0
          nonNegative "weight_decay" defaults.WeightDecay "coupled L2 weight decay: g <- g + wd*p" |> Hyper.typically 0.0 0.1
          Hyper.flag "maximize" defaults.Maximize "maximize the objective instead of minimizing" ]
      Pairs = []
      Create =
        fun v ->
            let h =
                { Lr = Hyper.getReal v "lr"; Lambd = Hyper.getReal v "lambd"; Alpha = Hyper.getReal v "alpha"; T0 = Hyper.getReal v "t0"
                  WeightDecay = Hyper.getReal v "weight_decay"; Maximize = Hyper.getFlag v "maximize" }
            let toNamed (s: State) = Buffers.named s.Step [ "ax", Some s.Ax ]
            Ok
                { Init = fun p -> toNamed (init p.Value.Count)
                  Step =
                    fun ns g p ->
                        let p', s' = step h { Step = ns.Step; Ax = Buffers.get ns "ax" } g p.Value
                        p', toNamed s' } }
