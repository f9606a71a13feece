/// What `compare` allows beyond `Tolerance` for the rules that orthogonalise by Newton–Schulz (Muon, OAdamW's matrices):
/// an absolute allowance per buffer, derived step by step from the spec's own quantities on the compared inputs.
///
/// Newton–Schulz, one step. Each backend's iteration is within a stated distance of an anchor: the spec's exact float64
/// iteration (`exact`) or its bf16 model of torch (`model`). The spec iterating in float64 is `exact` itself, in bf16
/// `model` itself; a float32 iteration (the CPU; CUDA for OAdamW by default) is within MuonBound.float32 of `exact`; a
/// bf16 one with float32 accumulation (CUDA for Muon, and for OAdamW with ns_precision=bf16) within MuonBound.bf16 of
/// `model`. Two backends are then within the sum of their distances from their anchors, plus
/// max |model - exact| (computed) when the anchors differ: the triangle inequality, elementwise.
///
/// Muon across steps. The parameter moves by p <- p (1 - lr wd) - lr' NS(u), so an earlier error is carried by
/// |1 - lr wd| and each step adds lr' times its Newton–Schulz distance, plus the float32 roundings of lr' NS(u) (4 of
/// the update's magnitude, as MuonChecks counts them). The momentum buffer has no Newton–Schulz in it: Tolerance
/// covers it. The input the backend orthogonalises differs from the spec's by its momentum's float32 roundings, a first-
/// order perturbation of the size of the input roundings MuonBound's float32 bound already counts with a 2^10 margin.
///
/// OAdamW across steps (matrices; vectors take plain StableAdamW, which Tolerance covers). The projection scale NS(g)
/// is within d = scale times the distance above (plus its float32 scaling) wherever it is recomputed, and reused
/// unchanged in between, so ns_cache is within the largest d. exp_avg is an average of the projections (weights summing
/// to 1), so within the largest d too; exp_avg_sq an average of their squares, within the largest (2 |g'| + d) d. The
/// parameter: m / (sqrt(v) + eps) is not Lipschitz in (m, v) where a projected element is near zero, so the bound is
/// the update's magnitude instead, sound for any gradients: optimi's debiased EMAs give m = sum a_k g_k and
/// v = sum b_k g_k^2 with known weights, so |m| / sqrt(v) <= K_t = sqrt(sum a_k^2 / b_k) (Cauchy–Schwarz), and the
/// stored EMAs' roundings (at most 4 per step each, in the state format's unit roundoff u) raise it by at most a factor
/// 1 + 8 t u. Both backends' updates lie within lr K_t of their decayed parameters (the clipped lr is at most lr), and
/// their decay factors lie in [1 - lr wd, 1] (lr wd / max_lr with decouple_lr): per step the parameter's error is
/// carried by at most max(1, |1 - lr wd|) and grows by 2 lr K_t (1 + 8 t u) + |p| lr wd. Loose, but stated and sound.
module S3gd.Cli.NewtonSchulzTolerance

open S3gd.Spec.Formats
open S3gd.Spec.Rules
open S3gd.Gpu.Optimizers
open S3gd.Cli.Backend

/// float32's unit roundoff.
let private u32 = 2.0 ** -24.0

/// The float32 roundings of an update a * x, counted per element as MuonChecks does (decay, product, difference, store).
let private updateRoundings = 4.0

/// What a Newton–Schulz is within a distance of.
type private Anchor =
    | Exact
    | Model

/// The largest |a - b| over two arrays of one length.
let private maxDistance (a: float[]) (b: float[]) = Array.fold2 (fun m x y -> max m (abs (x - y))) 0.0 a b

/// A backend's anchor and its distance from it, given the spec's precision (the rule's: a backend asked for it iterates
/// in bf16 for Bf16, in float32 for Float64) and the spec's two iterations of the input.
let private anchored (arithmetic: NsArithmetic) (spec: NewtonSchulz.Precision) (model: float[]) (exact: float[]) =
    match arithmetic with
    | SpecIteration -> (if spec = NewtonSchulz.Float64 then Exact else Model), 0.0
    | Float32Iteration -> Exact, MuonBound.float32 model exact
    | Bf16Iteration -> Model, MuonBound.bf16 model exact
    | RequestedIteration when spec = NewtonSchulz.Bf16 -> Model, MuonBound.bf16 model exact
    | RequestedIteration -> Exact, MuonBound.float32 model exact

/// The largest elementwise distance between two backends' Newton–Schulz of one input (the spec's in `spec` precision,
/// the rule's).
let distance (tested: NsArithmetic) (reference: NsArithmetic) (spec: NewtonSchulz.Precision) (model: float[]) (exact: float[]) =
    let at, dt = anchored tested spec model exact
    let ar, dr = anchored reference spec model exact
    dt + dr + (if at = ar then 0.0 else maxDistance model exact)

/// The spec's two iterations (bf16 model, exact) of a rows x cols input.
let private iterations (normalise: NewtonSchulz.Normalise) (k: NewtonSchulz.Coefficients) (steps: int) (eps: float) (rows: int, cols: int) (u: Vec) =
    let ns precision = NewtonSchulz.orthogonalize precision normalise k steps eps (NewtonSchulz.toMatrix rows cols u) |> NewtonSchulz.ofMatrix |> Seq.toArray
    ns NewtonSchulz.Bf16, ns NewtonSchulz.Float64

/// Muon's allowance on the parameter after the request's steps.
let private muon (tested: NsArithmetic) (reference: NsArithmetic) (r: Request) : Map<string, float> =
    let h = Muon.ofHypers r.Hypers
    let rows, cols = Muon.matrixShape r.Param
    let adjusted = Muon.adjustLr h rows cols
    // p <- p (1 - lr wd) - lr' NS(u): an earlier error is carried by at most |1 - lr wd|.
    let carried = abs (1.0 - h.Lr * h.WeightDecay)
    let step (buf: Vec, total: float) (g: Vec) =
        let buf = Elementwise.lerp buf g (1.0 - h.Momentum)
        let u = if h.Nesterov then Elementwise.lerp g buf h.Momentum else buf
        let model, exact = iterations NewtonSchulz.MaxEps h.NsCoefficients h.NsSteps h.Eps (rows, cols) u
        let d = distance tested reference h.NsPrecision model exact
        let largest = (exact |> Array.fold (fun m x -> max m (abs x)) 0.0) + d
        buf, carried * total + adjusted * (d + updateRoundings * u32 * largest)
    let _, total = Seq.take r.Steps r.Grads |> Seq.fold step ((Muon.init r.Param.Value.Count).MomentumBuffer, 0.0)
    Map [ "param", total ]

/// K_t: the bound on |m| / sqrt(v) of optimi's debiased EMAs after t steps (infinite where some b_k is 0 and a_k not).
let private updateBound (beta1: float) (beta2: float) (t: int) =
    // The weight of step k's gradient in the EMA after step t (beta 0: 1 for k = t, as 0 ** 0 = 1).
    let weight (beta: float) k = (1.0 - beta) * beta ** float (t - k) / (1.0 - beta ** float t)
    sqrt (Seq.sum (seq { for k in 1 .. t -> let a = weight beta1 k in if a = 0.0 then 0.0 else a * a / weight beta2 k }))

/// Where OAdamW's walk along the spec stands after a step: the spec's state and parameter, the projection's allowance
/// and largest magnitude (of the latest recomputation), and each buffer's allowance so far.
type private OAdamWWalk =
    { State: OAdamW.State
      Param: Vec
      Projection: float
      Projected: float
      NsCache: float
      ExpAvg: float
      ExpAvgSq: float
      ParamAllowance: float }

/// OAdamW's allowances on ns_cache, exp_avg, exp_avg_sq and the parameter after the request's steps (none for a vector).
let private oadamw (tested: NsArithmetic) (reference: NsArithmetic) (r: Request) : Map<string, float> =
    let h = OAdamW.ofHypers r.Hypers
    if not (OAdamW.isMatrix r.Param.Shape) then Map.empty
    else
        let rows = List.head r.Param.Shape
        let cols = r.Param.Value.Count / rows
        let core = h.Core
        // The stored moments' unit roundoff: float32's, or the state format's where coarser.
        let u = max u32 (StorageFormat.ulp r.Dtypes.State 1.0 / 2.0)
        // Decay factors lie in [1 - gap, 1] whatever the clipped lr: two differ by at most gap, none exceeds `largest`.
        let decayGap = core.Lr * core.WeightDecay / (if core.DecoupleLr then (if core.MaxLr > 0.0 then core.MaxLr else core.Lr) else 1.0)
        let largestDecay = max 1.0 (abs (1.0 - decayGap))
        let step (w: OAdamWWalk) (t: int, g: Vec) =
            let projection, projected =
                if w.State.NsCache.IsSome && t % h.UpdateProjGap <> 0 then w.Projection, w.Projected
                else
                    let model, exact = iterations NewtonSchulz.AddEps NewtonSchulz.quintic h.NsSteps OAdamW.projectorEps (rows, cols) g
                    let largest = exact |> Array.fold (fun m x -> max m (abs x)) 0.0
                    let ns = distance tested reference h.NsPrecision model exact
                    // scale * NS rounds once in float32.
                    h.Scale * ns + u32 * h.Scale * (largest + ns), h.Scale * largest
            let p', state' = OAdamW.step h r.Param.Shape w.State g w.Param
            let update = core.Lr * updateBound core.Beta1 core.Beta2 t * (1.0 + 8.0 * float t * u)
            { State = state'; Param = p'; Projection = projection; Projected = projected
              NsCache = max w.NsCache projection; ExpAvg = max w.ExpAvg projection
              ExpAvgSq = max w.ExpAvgSq ((2.0 * projected + projection) * projection)
              ParamAllowance = largestDecay * w.ParamAllowance + (w.Param.InfinityNorm() + w.ParamAllowance) * decayGap + 2.0 * update }
        let start =
            { State = OAdamW.init h r.Param.Value.Count; Param = r.Param.Value; Projection = 0.0; Projected = 0.0
              NsCache = 0.0; ExpAvg = 0.0; ExpAvgSq = 0.0; ParamAllowance = 0.0 }
        let w = Seq.take r.Steps r.Grads |> Seq.indexed |> Seq.map (fun (i, g) -> i + 1, g) |> Seq.fold step start
        Map [ "param", w.ParamAllowance; "exp_avg", w.ExpAvg; "exp_avg_sq", w.ExpAvgSq ]
        |> (if w.State.NsCache.IsSome then Map.add "ns_cache" w.NsCache else id)

/// The absolute allowance per buffer name (the parameter is "param") for the request on `tested` against `reference`,
/// by the rule's family in the catalog: empty for a rule without Newton–Schulz.
let allowances (tested: NsArithmetic) (reference: NsArithmetic) (r: Request) : Map<string, float> =
    match Catalog.family r.Rule.Name with
    | Some RuleFamily.Muon -> muon tested reference r
    | Some RuleFamily.OAdamW -> oadamw tested reference r
    | _ -> Map.empty
