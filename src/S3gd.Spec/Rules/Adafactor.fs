/// Adafactor as torch.optim.Adafactor (pytorch/pytorch torch/optim/_adafactor.py, PyTorch 2.11, `_single_tensor_adafactor`),
/// per parameter and step t (1-based), g negated when maximize:
///   w = t^beta2_decay;  rho = min(lr, 1/sqrt(t));  alpha = max(eps2, ||p||_2 / sqrt(numel)) * rho  (p before the decay);
///   p <- p*(1 - lr*wd)  (only when wd != 0);
///   rank >= 2, factored over the last two dims (R rows, C columns; leading dims a batch of matrices):
///     row_var <- lerp(row_var, ||g||^2 over each row / C, w);  col_var <- lerp(col_var, ||g||^2 over each column / R, w);
///     V = row_var (outer) col_var / max(mean of row_var over R, eps1)  (per matrix of the batch);
///   rank <= 1: variance <- lerp(variance, g^2, w);  V = variance;
///   U = rsqrt(max(V, eps1^2)) * g;  p <- p - alpha / max(1, ||U||_2 / (sqrt(numel) * d)) * U.
/// eps1's None (torch's default) is the parameter dtype's machine epsilon: float64's 2^-52 in this float64 spec (so the
/// spec equals torch on float64 parameters), float32's 2^-23 for float32 parameters (give it explicitly to compare the
/// float32 backends, or torch on float32 parameters, with the spec). State named as torch: `row_var` (torch's shape
/// [..., R, 1]) and `col_var` ([..., 1, C]) for a factored parameter, `variance` (the parameter's shape) otherwise.
module S3gd.Spec.Rules.Adafactor

open System
open MathNet.Numerics.LinearAlgebra

/// Adafactor hyperparameters, torch's names and defaults (torch's `eps` pair split into eps1 and eps2).
type Hyper =
    { Lr: float
      Beta2Decay: float
      /// torch's eps[0]; None: the parameter dtype's machine epsilon (float64's in this spec, see `eps1Of`).
      Eps1: float option
      Eps2: float
      D: float
      WeightDecay: float
      Maximize: bool }

/// The second-moment state of one parameter.
type Moments =
    /// A parameter of rank >= 2: torch's row_var (batch x R, flattened) and col_var (batch x C).
    | Factored of RowVar: Vec * ColVar: Vec
    /// A parameter of rank 0 or 1: torch's variance, one per element.
    | Unfactored of Variance: Vec

/// Adafactor state: the step and the second moments.
type State = { Step: int; Moments: Moments }

/// torch.optim.Adafactor's defaults.
let defaults = { Lr = 1e-2; Beta2Decay = -0.8; Eps1 = None; Eps2 = 1e-3; D = 1.0; WeightDecay = 0.0; Maximize = false }

/// float64's machine epsilon (torch.finfo(torch.float64).eps): eps1's None in this spec.
let float64Eps = Math.Pow(2.0, -52.0)

/// float32's machine epsilon (torch.finfo(torch.float32).eps): eps1's None for float32 parameters.
let float32Eps = Math.Pow(2.0, -23.0)

/// The command line's eps1 for torch's None (eps1 is otherwise >= 0).
let noneEps1 = -1.0

/// eps1 for a parameter whose dtype's machine epsilon is `dtypeEps`.
let eps1Of (dtypeEps: float) (h: Hyper) = defaultArg h.Eps1 dtypeEps

/// The factored layout of a shape: Some(batch, R, C) over the last two dims for rank >= 2, None for rank 0 or 1.
let factors (shape: int list) : (int * int * int) option =
    match List.rev shape with
    | c :: r :: leading -> Some(List.fold (*) 1 leading, r, c)
    | _ -> None

/// The state before the first step for a parameter of the given shape (zeros, as torch allocates them).
let init (shape: int list) : State =
    let zeros (n: int) = Vector<float>.Build.Dense n
    match factors shape with
    | Some(b, r, c) -> { Step = 0; Moments = Factored(zeros (b * r), zeros (b * c)) }
    | None -> { Step = 0; Moments = Unfactored(zeros (List.fold (*) 1 shape)) }

/// torch's `vector_norm(x)**2` of the values at the given indices, in index order (a norm, then squared, as torch).
let private normSquared (g: Vec) (indices: int seq) = (sqrt (indices |> Seq.sumBy (fun i -> g[i] * g[i]))) ** 2.0

/// The variance estimate V of a factored parameter from its updated row_var and col_var, with eps1.
let estimate (b: int, r: int, c: int) (eps1: float) (rowVar: Vec) (colVar: Vec) : Vec =
    let means = Array.init b (fun k -> max (rowVar.SubVector(k * r, r).Sum() / float r) eps1)
    Vector<float>.Build.Dense(b * r * c, fun e -> let k, i, j = e / (r * c), e / c % r, e % c in rowVar[k * r + i] * colVar[k * c + j] / means[k])

/// One Adafactor step on a parameter of the given shape: (hyper, eps1, shape, state, grad, param) -> (param', state').
let stepWith (h: Hyper) (eps1: float) (shape: int list) (s: State) (g: Vec) (p: Vec) : Vec * State =
    let g = if h.Maximize then -g else g
    let t = s.Step + 1
    let w = float t ** h.Beta2Decay
    let rho = min h.Lr (1.0 / (float t ** 0.5))
    let n = float p.Count
    let alpha = max h.Eps2 (p.L2Norm() / (n ** 0.5)) * rho
    let p = if h.WeightDecay <> 0.0 then p * (1.0 - h.Lr * h.WeightDecay) else p
    let moments, v =
        match factors shape, s.Moments with
        | Some(b, r, c), Factored(rowVar, colVar) ->
            let rowMean = Vector<float>.Build.Dense(b * r, fun q -> normSquared g (Seq.init c (fun j -> q * c + j)) / float c)
            let colMean = Vector<float>.Build.Dense(b * c, fun q -> let k, j = q / c, q % c in normSquared g (Seq.init r (fun i -> (k * r + i) * c + j)) / float r)
            let rowVar, colVar = Elementwise.lerp rowVar rowMean w, Elementwise.lerp colVar colMean w
            Factored(rowVar, colVar), estimate (b, r, c) eps1 rowVar colVar
        | None, Unfactored variance ->
            let variance = Elementwise.lerp variance (g.PointwiseMultiply g) w
            Unfactored variance, variance
        | _ -> invalidArg "s" (sprintf "the state's moments do not fit shape %A (factored: rank >= 2)" shape)
    let update = v.Map(fun x -> 1.0 / sqrt (max x (eps1 * eps1))).PointwiseMultiply g
    let denom = max 1.0 (update.L2Norm() / ((n ** 0.5) * h.D))
    p + (-alpha / denom) * update, { Step = t; Moments = moments }

/// One Adafactor step in this float64 spec (eps1's None is float64's machine epsilon).
let step (h: Hyper) (shape: int list) (s: State) (g: Vec) (p: Vec) : Vec * State = stepWith h (eps1Of float64Eps h) shape s g p

/// Adafactor hyperparameters from resolved values (eps1 = noneEps1 is torch's None).
let ofHypers (v: Hypers) : Hyper =
    let eps1 = Hyper.getReal v "eps1"
    { Lr = Hyper.getReal v "lr"; Beta2Decay = Hyper.getReal v "beta2_decay"; Eps1 = (if eps1 = noneEps1 then None else Some eps1)
      Eps2 = Hyper.getReal v "eps2"; D = Hyper.getReal v "d"; WeightDecay = Hyper.getReal v "weight_decay"
      Maximize = Hyper.getFlag v "maximize" }

/// The state as named buffers (torch's row_var and col_var, or variance).
let toNamed (s: State) : NamedState =
    match s.Moments with
    | Factored(r, c) -> { Step = s.Step; Buffers = Map [ "row_var", r; "col_var", c ] }
    | Unfactored v -> { Step = s.Step; Buffers = Map [ "variance", v ] }

/// The typed state from named buffers.
let ofNamed (ns: NamedState) : State =
    match Map.tryFind "variance" ns.Buffers with
    | Some v -> { Step = ns.Step; Moments = Unfactored v }
    | None -> { Step = ns.Step; Moments = Factored(ns.Buffers["row_var"], ns.Buffers["col_var"]) }

/// The registry entry: names, ranges and the adapter to named state.
let info: RuleInfo =
    { Name = "adafactor"
      Summary = "second moments factored into row and column means over the last two dims, relative step size, update RMS clipping"
      Reference = "pytorch/pytorch torch/optim/_adafactor.py (PyTorch 2.11, _single_tensor_adafactor)"
      Hypers =
        [ Hyper.real "lr" defaults.Lr ">= 0" (fun v -> v >= 0.0) "the largest relative step size rho = min(lr, 1/sqrt(t)); decay p*(1 - lr*wd)"
          |> Hyper.typically 1e-3 1e-2
          Hyper.real "beta2_decay" defaults.Beta2Decay "<= 0" (fun v -> v <= 0.0) "the moments' lerp weight is t^beta2_decay"
          |> Hyper.typically -1.0 -0.5
          Hyper.real "eps1" noneEps1 ">= 0, or -1: None (the parameter dtype's machine epsilon)" (fun v -> v >= 0.0 || v = noneEps1)
              "floor of the row mean (eps1) and of V (eps1^2) (torch's eps[0])"
          Hyper.real "eps2" defaults.Eps2 ">= 0" (fun v -> v >= 0.0) "floor of the parameter RMS in the step size (torch's eps[1])"
          Hyper.real "d" defaults.D ">= 1" (fun v -> v >= 1.0) "clipping threshold of the update RMS" |> Hyper.typically 1.0 2.0
          Hyper.real "weight_decay" defaults.WeightDecay ">= 0" (fun v -> v >= 0.0) "decoupled decay: p <- p*(1 - lr*wd)"
          Hyper.flag "maximize" defaults.Maximize "maximize the objective (negate the gradient)" ]
      Pairs = [ "eps", "eps1", "eps2" ]
      Create =
        fun v ->
            let h = ofHypers v
            Ok
                { Init = fun p -> toNamed (init p.Shape)
                  Step = fun ns g p -> let p', s' = step h p.Shape (ofNamed ns) g p.Value in p', toNamed s' } }
