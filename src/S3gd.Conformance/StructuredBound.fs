/// The float32 error bound of the structured kernels (StableAdamW, Adam-mini), stated in code with MathBound's forward error
/// analysis: the elementwise operations as there, and each float32 sum bounded by the classic recursive-summation bound
/// (Higham, Accuracy and Stability, 4.2): a sum whose every term passes through at most k additions differs from the
/// exact sum of its (rounded) terms by at most k*u/(1 - k*u) times the sum of the terms' magnitudes.
module S3gd.Conformance.StructuredBound

open System
open S3gd.Gpu.Structured
open S3gd.Conformance.MathBound

/// The most additions any term passes through in a group of `segments` segments: log2(Vec) in its lane run's tree,
/// LaneRuns in the lane's running sum, log2(32) in the segment warp's halving, ceil(segments/32) in the finalize lane's
/// running sum and log2(32) in the finalize warp's halving.
let additions (segments: int) =
    int (Math.Log2(float StructuredLayout.Vec)) + StructuredLayout.LaneRuns + int (Math.Log2(float StructuredLayout.WarpSize))
    + (segments + StructuredLayout.WarpSize - 1) / StructuredLayout.WarpSize + int (Math.Log2(float StructuredLayout.WarpSize))

/// The float32 sum of bounded terms, in any order of at most `k` additions per term.
let sum (k: int) (terms: Bounded seq) =
    let terms = Array.ofSeq terms
    let gamma = float k * float32Maths.U / (1.0 - float k * float32Maths.U)
    let magnitude = terms |> Array.sumBy (fun t -> abs t.V + t.E)
    bounded (terms |> Array.sumBy (fun t -> t.V)) ((terms |> Array.sumBy (fun t -> t.E)) + gamma * magnitude + float k * float32Maths.Tiny)

/// The segments a group of `length` elements is cut into.
let segments (length: int64) = int ((length + int64 StructuredLayout.Chunk - 1L) / int64 StructuredLayout.Chunk)

let private m = float32Maths
let private k (v: float32) = scalar m v

/// A lower bound of a denominator root + eps with the root >= 0: eps less its rounding.
let epsFloor (sc: StructuredScalars) = float sc.Eps * (1.0 - 2.0 * m.U)

/// StableAdamW's summed term g^2 / max(v_new, eps^2) of one element (v is the stored exp_avg_sq before the step).
let stableTerm (sc: StructuredScalars) (g: float) (v: float) =
    let gg = mul m (exact g) (exact g)
    let vn = madd m (k sc.Beta2) (exact v) (mul m (k sc.OneMinusBeta2) gg)
    divAtLeast m (float sc.EpsSquared * (1.0 - m.U)) gg (maximum vn (k sc.EpsSquared))

/// StableAdamW's summed term for a gradient known only to lie within g.E of g.V (OAdamW's projected gradient, within
/// the Newton–Schulz bound of the spec's). The exact term x / max(b2 v + (1 - b2) x, eps^2) is nondecreasing in x = g^2
/// (its derivative is b2 v / den^2 >= 0, and x / eps^2 where clamped), so over the interval it moves from its value at
/// g.V by at most its change to the smallest or the largest |g|; the float32 rounding bound is the one at the largest
/// |g|, as every part of it grows with the term's operands. (Interval arithmetic on g would lose that the numerator and
/// the denominator move together, and give a useless bound for every g whose interval reaches zero.)
/// With no input error it is stableTerm's bound itself, lower bound included.
let stableTermWithin (sc: StructuredScalars) (g: Bounded) (v: float) =
    let at x = stableTerm sc x v
    let centre, low, high = at g.V, at (max 0.0 (abs g.V - g.E)), at (abs g.V + g.E)
    if g.E = 0.0 then centre else bounded centre.V (max (high.V - centre.V) (centre.V - low.V) + high.E)

/// lr / max(1, rms): exact lr where rms is surely at most 1, a rounded division where surely above, else the whole range.
let clippedLr (sc: StructuredScalars) (rms: Bounded) =
    let lr = k sc.Lr
    if rms.V + rms.E <= 1.0 then lr
    elif rms.V - rms.E >= 1.0 then div m lr rms
    else
        let v = lr.V / max 1.0 rms.V
        round m (bounded v (lr.E + max (lr.V - lr.V / (rms.V + rms.E)) (abs (v - lr.V))))

/// StableAdamW's clipped lr and decay factor of a tensor from its elements' bounded gradients and v before the step.
let stableScalarsWithin (sc: StructuredScalars) (g: Bounded[]) (v: float[]) =
    let n = int64 g.Length
    let total = sum (additions (segments n)) (Seq.map2 (stableTermWithin sc) g v)
    let lrT = clippedLr sc (sqrt m (div m total (k (float32 n))))
    lrT, madd m (neg lrT) (k sc.WeightDecay) (exact 1.0)

/// StableAdamW's clipped lr and decay factor of a tensor from its elements' (g, v) before the step.
let stableScalars (sc: StructuredScalars) (g: float[]) (v: float[]) = stableScalarsWithin sc (Array.map exact g) v

/// StableAdamW's element update for a bounded gradient (its error carried through every operation): (p, exp_avg,
/// exp_avg_sq) after the step, from the tensor's clipped lr and decay.
let stableElementWithin (c: StructuredConfig) (sc: StructuredScalars) (lrT: Bounded, decay: Bounded) (p: float) (g: Bounded) (m0: float) (v0: float) =
    let p = if c.WeightDecay then mul m (exact p) decay else exact p
    let m1 = madd m (k sc.Beta1) (exact m0) (mul m (k sc.OneMinusBeta1) g)
    let v1 = madd m (k sc.Beta2) (exact v0) (mul m (k sc.OneMinusBeta2) (mul m g g))
    let u = divAtLeast m (epsFloor sc) m1 (add m (sqrt m v1) (k sc.Eps))
    madd m (neg lrT) u p, m1, v1

/// StableAdamW's element update: (p, exp_avg, exp_avg_sq) after the step, from the tensor's clipped lr and decay.
let stableElement (c: StructuredConfig) (sc: StructuredScalars) (lrT: Bounded, decay: Bounded) (p: float) (g: float) (m0: float) (v0: float) =
    stableElementWithin c sc (lrT, decay) p (exact g) m0 v0

/// Adam-mini's block: the new vmean and the denominator sqrt(vmean)/sqrt(1 - beta2^t) + eps, from the block's gradients.
let miniBlock (sc: StructuredScalars) (g: float[]) (vmean: float) =
    let block = int64 g.Length
    let total = sum (additions (segments block)) (g |> Seq.map (fun x -> mul m (exact x) (exact x)))
    let vm = madd m (k sc.Beta2) (exact vmean) (mul m (k sc.OneMinusBeta2) (div m total (k (float32 block))))
    vm, madd m (sqrt m vm) (k sc.InvSqrtBc2) (k sc.Eps)

/// Adam-mini's element update: (p, m) after the step, from the block's denominator.
let miniElement (c: StructuredConfig) (sc: StructuredScalars) (decays: bool) (denom: Bounded) (p: float) (g: float) (m0: float) =
    let p = if c.WeightDecay && decays then mul m (exact p) (k sc.Decay) else exact p
    let m1 = madd m (k sc.Beta1) (exact m0) (mul m (k sc.OneMinusBeta1) (exact g))
    madd m (neg (k sc.StepSize)) (divAtLeast m (epsFloor sc) m1 denom) p, m1
