/// The float32 error bound of Adafactor's kernels (AdafactorKernels, their CPU twin CpuAdafactor), stated in code with
/// MathBound's forward error analysis, operation for operation as AdafactorMaths does them: each sum bounded as
/// StructuredBound.sum states it (Higham's recursive-summation bound) with the most additions a term passes through in
/// the kernels' fixed order; each clamp (the row mean's eps1, V's eps1^2, alpha's eps2, the clip's 1) is a `maximum`,
/// 1-Lipschitz, so a value near its threshold is bounded whichever side either computation falls.
module S3gd.Conformance.AdafactorBound

open System
open S3gd.Gpu.Adafactor
open S3gd.Conformance.MathBound

let private m = float32Maths
let private k (v: float32) = scalar m v

/// Additions a term of a tensor's sum of squares passes through: its thread's running sum over every
/// ReductionThreads-th element, then the halving tree (log2 of the threads).
let tensorAdditions (length: int64) =
    int ((length + int64 AdafactorMaths.ReductionThreads - 1L) / int64 AdafactorMaths.ReductionThreads)
    + int (Math.Log2(float AdafactorMaths.ReductionThreads))

/// torch.lerp as MuonMaths.Lerp computes it, on bounded values, with the float32 weight: s + w(e - s) below 0.5, else
/// e - (e - s)(1 - w).
let lerp (start: Bounded) (stop: Bounded) (w: float32) =
    let difference = add m stop (neg start)
    if abs w < 0.5f then add m start (mul m (k w) difference)
    else add m stop (neg (mul m difference (add m (exact 1.0) (neg (k w)))))

/// A sum of squares of the given values, in order (each term one rounding at most: Madd's is a single one).
let private squares (additions: int) (xs: Bounded seq) = StructuredBound.sum additions (xs |> Seq.map (fun x -> mul m x x))

/// The new moments and each element's V of one tensor: (row_var, col_var, V) factored (batch, rows, cols), or
/// (variance, empty, V) for a vector; the state before the step is exact (as stored).
let moments (sc: AdafactorScalars) (factors: (int * int * int) option) (g: float[]) (s0: float[]) (s1: float[]) =
    match factors with
    | None ->
        let variance = Array.map2 (fun v x -> lerp (exact v) (mul m (exact x) (exact x)) sc.Weight) s0 g
        variance, [||], variance
    | Some(b, r, c) ->
        let rowVar = Array.init (b * r) (fun q -> lerp (exact s0[q]) (div m (squares c (Seq.init c (fun j -> exact g[q * c + j]))) (exact (float c))) sc.Weight)
        let colVar =
            Array.init (b * c) (fun q ->
                let start = q / c * r * c + q % c
                lerp (exact s1[q]) (div m (squares r (Seq.init r (fun i -> exact g[start + i * c]))) (exact (float r))) sc.Weight)
        let means = Array.init b (fun q -> maximum (div m (StructuredBound.sum r rowVar[q * r .. q * r + r - 1]) (exact (float r))) (k sc.Eps1))
        let v = Array.init (b * r * c) (fun e -> div m (mul m rowVar[e / c] colVar[e / (r * c) * c + e % c]) means[e / (r * c)])
        rowVar, colVar, v

/// U of each element from its gradient and V.
let updates (sc: AdafactorScalars) (g: float[]) (v: Bounded[]) =
    Array.map2 (fun x ve -> mul m (div m (exact 1.0) (sqrt m (maximum ve (k sc.Eps1Squared)))) (mul m (k sc.GradSign) (exact x))) g v

/// The parameter after the step, per element, from the parameter before it and U.
let parameters (sc: AdafactorScalars) (d: float) (p: float[]) (u: Bounded[]) =
    let n = int64 p.Length
    let struct (sqrtNumel, sqrtNumelD) = AdafactorMaths.Sizes(n, d)
    let additions = tensorAdditions n
    let alpha = mul m (maximum (k sc.Eps2) (div m (sqrt m (squares additions (Seq.map exact p))) (k sqrtNumel))) (k sc.Rho)
    let denom = maximum (exact 1.0) (div m (sqrt m (squares additions u)) (k sqrtNumelD))
    let coefficient = neg (div m alpha denom)
    Array.map2 (fun x ue -> madd m coefficient ue (mul m (exact x) (k sc.Decay))) p u
