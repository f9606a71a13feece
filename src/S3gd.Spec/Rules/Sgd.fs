/// SGD as torch.optim.SGD (pytorch/pytorch, torch/optim/sgd.py, PyTorch 2.11):
///   g <- -g if maximize;  g <- g + wd*p;
///   buf <- g on the first step, else buf <- momentum*buf + (1-dampening)*g;
///   g <- g + momentum*buf if nesterov else buf;  p <- p - lr*g.
module S3gd.Spec.Rules.Sgd

/// SGD hyperparameters, torch.optim.SGD's names and defaults (lr has no default there; 1e-3 here).
type Hyper =
    { Lr: float; Momentum: float; Dampening: float; WeightDecay: float; Nesterov: bool; Maximize: bool }

/// SGD state: the momentum buffer, absent before the first step with momentum (as in torch).
type State = { MomentumBuffer: Vec option }

/// torch.optim.SGD's defaults.
let defaults = { Lr = 1e-3; Momentum = 0.0; Dampening = 0.0; WeightDecay = 0.0; Nesterov = false; Maximize = false }

/// The state before the first step.
let init: State = { MomentumBuffer = None }

/// One SGD step: (hyper, state, grad, param) -> (param', state').
let step (h: Hyper) (s: State) (g: Vec) (p: Vec) : Vec * State =
    let g = if h.Maximize then -g else g
    let g = if h.WeightDecay <> 0.0 then g + h.WeightDecay * p else g
    if h.Momentum = 0.0 then p - h.Lr * g, s
    else
        let buf =
            match s.MomentumBuffer with
            | None -> g
            | Some b -> h.Momentum * b + (1.0 - h.Dampening) * g
        let d = if h.Nesterov then g + h.Momentum * buf else buf
        p - h.Lr * d, { MomentumBuffer = Some buf }

/// The registry entry: names, ranges and the adapter to named state.
let info: RuleInfo =
    { Name = "sgd"
      Summary = "stochastic gradient descent with momentum, dampening, Nesterov, weight decay and maximize"
      Reference = "pytorch/pytorch torch/optim/sgd.py (PyTorch 2.11)"
      Hypers =
        [ (Hyper.real "lr" defaults.Lr ">= 0" (fun v -> v >= 0.0) "learning rate") |> Hyper.typically 0.0001 0.1
          (Hyper.real "momentum" defaults.Momentum ">= 0" (fun v -> v >= 0.0) "momentum factor") |> Hyper.typically 0.5 0.99
          (Hyper.real "dampening" defaults.Dampening "[0, 1]" (fun v -> v >= 0.0 && v <= 1.0) "dampening of the momentum") |> Hyper.typically 0.0 0.5
          (Hyper.real "weight_decay" defaults.WeightDecay ">= 0" (fun v -> v >= 0.0) "coupled L2 penalty: g <- g + wd*p") |> Hyper.typically 0.0 0.1
          Hyper.flag "nesterov" defaults.Nesterov "Nesterov momentum (needs momentum > 0 and dampening = 0)"
          Hyper.flag "maximize" defaults.Maximize "maximize the objective instead of minimizing" ]
      Pairs = []
      Create =
        fun v ->
            let h =
                { Lr = Hyper.getReal v "lr"; Momentum = Hyper.getReal v "momentum"; Dampening = Hyper.getReal v "dampening"
                  WeightDecay = Hyper.getReal v "weight_decay"; Nesterov = Hyper.getFlag v "nesterov"; Maximize = Hyper.getFlag v "maximize" }
            if h.Nesterov && (h.Momentum <= 0.0 || h.Dampening <> 0.0) then
                Error(sprintf "nesterov=true needs momentum > 0 and dampening = 0 (momentum=%g, dampening=%g)" h.Momentum h.Dampening)
            else
                let toNamed (n: int) (s: State) =
                    { Step = n; Buffers = s.MomentumBuffer |> Option.map (fun b -> Map [ "momentum_buffer", b ]) |> Option.defaultValue Map.empty }
                Ok
                    { Init = fun _ -> toNamed 0 init
                      Step =
                        fun ns g p ->
                            let p', s' = step h { MomentumBuffer = Map.tryFind "momentum_buffer" ns.Buffers } g p.Value
                            p', toNamed (ns.Step + 1) s' } }
