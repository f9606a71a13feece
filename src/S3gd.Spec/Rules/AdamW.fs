/// AdamW as torch.optim.AdamW (pytorch/pytorch, torch/optim/adamw.py, PyTorch 2.11): torch.optim.Adam with
/// decoupled_weight_decay=True and weight_decay 1e-2, i.e. p <- p*(1 - lr*wd) before the Adam update (see Adam).
module S3gd.Spec.Rules.AdamW

/// AdamW hyperparameters: Adam's, always with decoupled decay.
type Hyper = Adam.Hyper

/// AdamW state: Adam's.
type State = Adam.State

/// torch.optim.AdamW's defaults: Adam's with weight_decay 1e-2, decoupled.
let defaults: Hyper = { Adam.defaults with WeightDecay = 1e-2; DecoupledWeightDecay = true }

/// The state before the first step for a parameter of n elements.
let init (h: Hyper) (n: int) : State = Adam.init h n

/// One AdamW step: (hyper, state, grad, param) -> (param', state'); the Adam core with decoupled decay.
let step (h: Hyper) (s: State) (g: Vec) (p: Vec) : Vec * State = Adam.step { h with DecoupledWeightDecay = true } s g p

/// The registry entry: Adam's hyperparameters with AdamW's defaults.
let info: RuleInfo =
    { Name = "adamw"
      Summary = "Adam with decoupled weight decay (AdamW), AMSGrad and maximize"
      Reference = "pytorch/pytorch torch/optim/adamw.py (PyTorch 2.11: Adam with decoupled_weight_decay=True)"
      Hypers = Adam.hyperDefs defaults
      Pairs = Adam.betasPair
      Create = fun v -> Ok(Adam.rule (Adam.read v true)) }
