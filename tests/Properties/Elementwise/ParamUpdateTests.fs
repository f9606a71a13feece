/// The bf16 parameter update modes on the host: the configuration's and backend's checks, the bytes a Kahan step moves,
/// the counter-based hash, and the point of it all: many updates below half a bf16 ulp stall with rounding to nearest
/// but move the parameter with Kahan compensation and, in expectation, with stochastic rounding.
module S3gd.Properties.Elementwise.ParamUpdateTests

open System
open Xunit
open S3gd.Spec.Formats
open S3gd.Spec.Rules
open S3gd.Gpu
open S3gd.Gpu.Cpu
open S3gd.Gpu.Elementwise
open S3gd.Conformance

let private rule (name: string) = match Registry.find name with Ok r -> r | Error e -> failwith e

let private throwsNaming (fragments: string list) (f: unit -> obj) =
    let e = Assert.ThrowsAny<ArgumentException>(fun () -> f () |> ignore)
    for fragment in fragments do
        Assert.Contains(fragment, e.Message)

[<Fact>]
let ``a non-nearest update needs bf16 parameters and float32 maths, and the error names the argument and values`` () =
    throwsNaming [ "paramUpdate"; "kahan"; "fp32" ] (fun () -> box (ElementwiseConfig(rule "adamw", Map.empty, paramUpdate = ParamUpdate.Kahan)))
    throwsNaming [ "paramUpdate"; "stochastic"; "fp32" ] (fun () -> box (ElementwiseConfig(rule "sgd", Map.empty, paramUpdate = ParamUpdate.Stochastic)))
    throwsNaming [ "paramUpdate"; "kahan"; "math=bf16" ] (fun () ->
        box (ElementwiseConfig(rule "s3gd", Map.empty, param = Bf16, math = Bf16, paramUpdate = ParamUpdate.Kahan)))
    throwsNaming [ "tiny" ] (fun () -> box (ParamUpdates.Parse "tiny"))
    Assert.Equal(ParamUpdate.Kahan, ParamUpdates.Parse "Kahan")
    let c = ElementwiseConfig(rule "adamw", Map.empty, param = Bf16, paramUpdate = ParamUpdate.Stochastic)
    Assert.Equal(typeof<S3gd.Gpu.Kernels.StochasticUpdate>, S3gd.Gpu.Kernels.KernelBackend.UpdateType c.ParamUpdate)
    Assert.Contains("update=stochastic", c.ToString())
    Assert.False c.HasCompensation

[<Fact>]
let ``the backend checks the Kahan compensation buffer, naming the tensor`` () =
    use cpu = new CpuBackend()
    let kahan = ElementwiseConfig(rule "lion", Map.empty, param = Bf16, paramUpdate = ParamUpdate.Kahan)
    let nearest = ElementwiseConfig(rule "lion", Map.empty, param = Bf16)
    let n = 10L
    let struct (states, scales) = cpu.AllocateElementwiseState(kahan, n)
    let p = cpu.Allocate(ElementType.BFloat16, n)
    let g = cpu.Allocate(ElementType.Float32, n)
    let comp = cpu.AllocateCompensation(kahan, n)
    Assert.Equal(ElementType.BFloat16, comp.ElementType)
    Assert.Null(cpu.AllocateCompensation(nearest, n))
    throwsNaming [ "tensors[0].Compensation"; "missing" ] (fun () -> box (cpu.PlanElementwise(kahan, [ ElementwiseTensor(p, g, states, scales) ])))
    throwsNaming [ "tensors[0].Compensation"; "nearest" ] (fun () -> box (cpu.PlanElementwise(nearest, [ ElementwiseTensor(p, g, states, scales, comp) ])))
    let short = cpu.Allocate(ElementType.BFloat16, n - 1L)
    throwsNaming [ "tensors[0].Compensation"; "9 elements" ] (fun () -> box (cpu.PlanElementwise(kahan, [ ElementwiseTensor(p, g, states, scales, short) ])))
    for b in [ p; g; comp; short ] @ (states |> Array.choose Option.ofObj |> List.ofArray) do
        b.Dispose()

[<Fact>]
let ``a Kahan step moves 4 more bytes per parameter: the compensation read and written`` () =
    use cpu = new CpuBackend()
    let n = 1000L
    let bytes (mode: ParamUpdate) =
        let c = ElementwiseConfig(rule "adamw", Map.empty, param = Bf16, paramUpdate = mode)
        let struct (states, scales) = cpu.AllocateElementwiseState(c, n)
        let t = ElementwiseTensor(cpu.Allocate(ElementType.BFloat16, n), cpu.Allocate(ElementType.Float32, n), states, scales, cpu.AllocateCompensation(c, n))
        use plan = cpu.PlanElementwise(c, [ t ])
        let b = plan.BytesPerStep
        t.Buffers |> Seq.iter (fun x -> x.Dispose())
        b
    // bf16 param read and written (4), fp32 grad (4), two fp32 moments read and written (16).
    Assert.Equal(24L * n, bytes ParamUpdate.Nearest)
    Assert.Equal(bytes ParamUpdate.Nearest + 4L * n, bytes ParamUpdate.Kahan)
    Assert.Equal(bytes ParamUpdate.Nearest, bytes ParamUpdate.Stochastic)

[<Fact>]
let ``the counter-based hash is murmur3's finalizer and its stream depends on seed, step and tensor`` () =
    // fmix32(1) of MurmurHash3, computed independently (Python) from the finalizer's definition.
    Assert.Equal(0x514e28b7u, StochasticRounding.Mix32 1u)
    Assert.Equal(0u, StochasticRounding.Mix32 0u)
    let s = StochasticRounding.Stream(1u, 2u, 3u)
    Assert.NotEqual(s, StochasticRounding.Stream(2u, 2u, 3u))
    Assert.NotEqual(s, StochasticRounding.Stream(1u, 3u, 3u))
    Assert.NotEqual(s, StochasticRounding.Stream(1u, 2u, 4u))
    Assert.NotEqual(StochasticRounding.Element(s, 5L), StochasticRounding.Element(s, 5L + (1L <<< 32)))
    // Rounding: the low half decides; a bf16 value stays; NaN stays NaN, infinity stays.
    let x = BitConverter.UInt32BitsToSingle 0x3f80_4000u // 1 + a quarter of the bf16 ulp
    Assert.Equal(1.0f, StochasticRounding.Round(x, 0xbfffu))
    Assert.Equal(BitConverter.UInt32BitsToSingle 0x3f81_0000u, StochasticRounding.Round(x, 0xc000u))
    Assert.Equal(1.0f, StochasticRounding.Round(1.0f, 0xffffu))
    Assert.True(Single.IsNaN(StochasticRounding.Round(Single.NaN, 0xffffu)))
    Assert.Equal(Single.PositiveInfinity, StochasticRounding.Round(Single.PositiveInfinity, 0xffffu))

/// Elements of the stall demonstration.
let private stallLength = 4096

/// Steps of the stall demonstration.
let private stallSteps = 64

/// Plain SGD with lr = 1 from p = 1 by a constant gradient of -2^-10 for `stallSteps` steps: each update is an eighth
/// of the bf16 ulp 2^-7 in [1, 2), below half of it. Returns the parameters after the steps.
let private stall (mode: ParamUpdate) =
    use cpu = new CpuBackend()
    let c = ElementwiseConfig(rule "sgd", Map [ "lr", Real 1.0 ], param = Bf16, paramUpdate = mode)
    let n = int64 stallLength
    let struct (states, scales) = cpu.AllocateElementwiseState(c, n)
    let p = Transfer.uploadCodes cpu ElementType.BFloat16 (Array.create stallLength (uint32 (Bf16.encode 1.0)))
    let g = Transfer.uploadFloats cpu (Array.create stallLength (float32 -(Math.Pow(2.0, -10.0))))
    let t = ElementwiseTensor(p, g, states, scales, cpu.AllocateCompensation(c, n))
    use plan = cpu.PlanElementwise(c, [ t ])
    for step in 1 .. stallSteps do
        // A fixed seed: the stochastic run is deterministic.
        plan.Step(StepScalars.For(c, step, seed = 42u))
    let result = Transfer.downloadCodes cpu p |> Array.map (fun code -> Bf16.decode (uint16 code))
    t.Buffers |> Seq.iter (fun b -> b.Dispose())
    result

/// Where exact arithmetic takes the parameter: 1 + 64 * 2^-10 = 1.0625, a bf16 value.
let private stallTarget = 1.0 + float stallSteps * Math.Pow(2.0, -10.0)

/// The bf16 ulp in [1, 2).
let private ulpAtOne = Math.Pow(2.0, -7.0)

[<Fact>]
let ``tiny updates stall with rounding to nearest`` () =
    Assert.All(stall ParamUpdate.Nearest, fun p -> Assert.Equal(1.0, p))

[<Fact>]
let ``tiny updates move the parameter with Kahan compensation`` () =
    // The compensation keeps what rounding drops; every value here is a multiple of 2^-10, so p + c is exact and after
    // 64 steps (8 ulps) p is the target itself.
    Assert.All(stall ParamUpdate.Kahan, fun p -> Assert.Equal(stallTarget, p))

[<Fact>]
let ``tiny updates move the parameter in expectation with stochastic rounding`` () =
    let ps = stall ParamUpdate.Stochastic
    // Each element's total rounding error is a sum of 64 martingale differences each in an interval one ulp wide, so
    // by Azuma-Hoeffding over all 4096 * 64 of them P(|mean - target| >= ulp/2) <= 2 exp(-2 (4096/2)^2 / (4096 * 64))
    // = 2 exp(-32) < 1e-13; seeded, so it cannot flake. Nearest is 8 ulps short.
    Assert.InRange(Array.average ps, stallTarget - ulpAtOne / 2.0, stallTarget + ulpAtOne / 2.0)
    Assert.All(ps, fun p -> Assert.Equal(p, Bf16.round p))

[<Fact>]
let ``the update modes' CPU-twin check (a GPU check) passes for the CPU against a second CPU backend`` () =
    use cpu = new CpuBackend()
    // Three cases per rule and mode: the GPU run of `s3gd verify` does more; this runs the check's code path.
    ParamUpdateChecks.cpuTwin.Run (FsCheck.Config.QuickThrowOnFailure.WithMaxTest 3) cpu
