/// How far a backend's Newton–Schulz may be from the spec's, elementwise, in the wide orientation's units (the
/// normalised iterates have singular values below about 1.2): pure functions of the spec's two iterations of one input,
/// which the conformance checks and `s3gd compare` (the CLI's NewtonSchulzTolerance) both use.
///
/// Float32 (the CPU backend) against the exact float64 iteration. A worst-case first-order bound is easy to state but
/// useless here: each product's elements are within u (inner length) of exact (u = 2^-24), the iteration's slope L =
/// max |f'(s)| on the singular values' range [0, sMax] carries errors on, so after k steps u (n + 2m + 8) K (1 + ... +
/// L^k) with K = |a| sMax + |b| sMax^3 + |c| sMax^5 — about 0.1 for 40 x 40 and 5 steps, 3e5 times what float32 does.
/// The bound used is sharper and still derived: to first order a rounding error is proportional to the unit roundoff
/// of the rounding that makes it, and the CPU rounds at exactly the places where the spec's bf16 model rounds to bf16
/// (the input, the normalisation, each product's result), with a unit roundoff 2^16 times smaller; the float32
/// accumulations are the same in both. So the CPU's distance from exact is about 2^-16 times the bf16 model's; the bound
/// allows 2^-6 of it (a 2^10 margin for accumulation order and the iteration's nonlinearity), and 2^-16 of the largest
/// element for cases where the bf16 model happens to round exactly.
///
/// bf16 (the kernel backends: cuBLAS on CUDA, GemmKernel on ilgpu-cpu) against the spec's bf16 model of torch: the same
/// roundings at the same places; only the order of the float32 accumulations differs (the norm's, and cuBLAS's), which
/// may flip a bf16 rounding that the iteration then carries on.
/// Such a run is another draw of bf16 noise around the exact result: its distance from the model is at most its own
/// distance from exact plus the model's, each of the size of the model's distance from exact. The bound allows three
/// times the model's distance (one more for the spread of the largest element's deviation between draws), plus one bf16
/// ulp (2^-8 relative) of the largest element for a flip in the last product.
module S3gd.Spec.Rules.MuonBound

/// The float32 bound on an element of NS(G), from the spec's bf16 model and its float64 iteration on the same input.
let float32 (model: float[]) (exact: float[]) =
    let distance = Array.map2 (fun a b -> abs (a - b)) model exact |> Array.max
    (2.0 ** -6.0) * distance + (2.0 ** -16.0) * (exact |> Array.map abs |> Array.max)

/// The bf16 bound: three times the largest distance between the spec's bf16 model and its float64 iteration, plus 2^-8
/// of the largest element (one bf16 ulp at most).
let bf16 (model: float[]) (exact: float[]) =
    let distance = Array.map2 (fun a b -> abs (a - b)) model exact |> Array.max
    3.0 * distance + (2.0 ** -8.0) * (model |> Array.map abs |> Array.max)
