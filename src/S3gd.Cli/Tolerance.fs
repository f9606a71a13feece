/// The one tolerance `compare` and the properties use, in ulps of a buffer's storage format.
///
/// Derivation. A backend keeping a buffer in storage format F rounds it once per step when it stores it:
/// at most half an ulp of F (round to nearest). It computes the update in float32, evaluating a handful of
/// operations per element, each rounding by at most half an fp32 ulp; relative to F's ulp that is
/// `ulp(fp32) / ulp(F)` times smaller (2^-16 for bf16, 1 for fp32). An error made at one step is carried
/// to the next (parameters and EMA/momentum state are updated as old value plus a change, with factors of
/// at most 1 on the old value), so the bounds add up over the steps:
///     tolerance(F, N) = N * (1/2 + fp32Operations * 1/2 * ulp(fp32) / ulp(F))   ulps of F.
/// Errors are measured at the buffer's scale: the largest error over the buffer divided by F's ulp at the
/// buffer's largest reference magnitude (elements that cancel to near zero would otherwise read as huge
/// relative errors while being as accurate as the buffer's scale allows).
/// Not covered: an error of a coarser buffer carried into a finer one through the update (fp8 state feeding
/// an fp32 parameter moves it by lr times the state's error, many fp32 ulps); such a comparison reads outside,
/// which against `spec` is the true statement that the state format changes the parameter beyond its own precision.
module S3gd.Cli.Tolerance

open S3gd.Spec.Formats

/// float32 operations an update evaluates per element per step (an Adam-like step: two EMAs, square root,
/// add eps, divide, decay, multiply by lr, subtract), each rounding by at most half an fp32 ulp.
let fp32Operations = 8.0

/// The ulps of F one step may add: half an ulp for storing, plus the float32 maths converted to F's ulps.
let perStep (format: StorageFormat) =
    // ulp at 1.0 of each format: the ratio of the two formats' ulps at any magnitude both hold normally.
    0.5 + fp32Operations * 0.5 * StorageFormat.ulp Fp32 1.0 / StorageFormat.ulp format 1.0

/// The ulps of F a buffer stored in F may be off by after `steps` steps.
let ulps (format: StorageFormat) (steps: int) = float steps * perStep format

/// An error in ulps of F at the buffer's scale: `maxAbsError` over F's ulp at the largest reference magnitude.
let errorUlps (format: StorageFormat) (maxAbsError: float) (maxReference: float) =
    maxAbsError / StorageFormat.ulp format maxReference
