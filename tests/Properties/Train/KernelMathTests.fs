/// The kernels' exp, log and tanh (KernelMath, used by the MLP kernels on every kernel backend) against the float64
/// functions: within a stated number of ulps on a sweep of float32 values, and the special values IEEE functions give.
module S3gd.Properties.Train.KernelMathTests

open System
open Xunit
open S3gd.Gpu.Cpu
open S3gd.Gpu.Kernels

/// float32's mantissa bits and smallest normal exponent: an ulp of x is 2^(max(ilogb x, -126) - 23).
let private ulp (x: float) = Math.Pow(2.0, float (max (Math.ILogB x) -126 - 23))

/// Bit patterns skipped between sampled values: about 8 million values per sign over all finite float32s.
let private step = 257u

/// The largest error in ulps of `f` against `exact` over the sampled values of [lo, hi] (both signs where lo < 0).
let private worst (f: float32 -> float32) (exact: float -> float) (lo: float32) (hi: float32) =
    let sample (top: float32) (sign: float32) =
        seq { for bits in 0u .. step .. BitConverter.SingleToUInt32Bits top -> sign * BitConverter.UInt32BitsToSingle bits }
    let values = Seq.append (sample hi 1.0f) (if lo < 0.0f then sample -lo -1.0f else Seq.empty) |> Seq.filter (fun x -> x >= lo && x <= hi)
    values
    |> Seq.map (fun x ->
        let e = exact (float x)
        let y = f x
        if Double.IsInfinity e || Single.IsInfinity(float32 e) then (if y = float32 e then 0.0 else infinity), x
        else abs (float y - e) / ulp e, x)
    |> Seq.maxBy fst

let private check (name: string) (bound: float) (f: float32 -> float32) (exact: float -> float) (lo: float32) (hi: float32) =
    let error, at = worst f exact lo hi
    Assert.True(error <= bound, sprintf "%s(%g) = %g is %g ulps from %g (allowed %g)" name at (f at) error (exact (float at)) bound)

[<Fact>]
let ``exp is within 1 ulp from underflow to overflow`` () =
    check "exp" 1.0 KernelMath.Exp<ScalarMaths> Math.Exp -110.0f 95.0f

[<Fact>]
let ``log is within 1 ulp on every positive float32`` () =
    check "log" 1.0 KernelMath.Log<ScalarMaths> Math.Log 0.0f Single.MaxValue

[<Fact>]
let ``tanh is within 3 ulps on both signs`` () =
    check "tanh" 3.0 KernelMath.Tanh<ScalarMaths> Math.Tanh -20.0f 20.0f

[<Fact>]
let ``special values are IEEE's`` () =
    let same (expected: float32) (actual: float32) =
        Assert.True(BitConverter.SingleToUInt32Bits expected = BitConverter.SingleToUInt32Bits actual || (Single.IsNaN expected && Single.IsNaN actual),
                    sprintf "expected %g, got %g" expected actual)
    for x in [ nanf; infinityf; -infinityf; 0.0f; -0.0f; -1.0f ] do
        same (float32 (Math.Log(float x))) (KernelMath.Log<ScalarMaths> x)
    for x in [ nanf; infinityf; -infinityf; 0.0f; -0.0f ] do
        same (float32 (Math.Exp(float x))) (KernelMath.Exp<ScalarMaths> x)
        same (float32 (Math.Tanh(float x))) (KernelMath.Tanh<ScalarMaths> x)
