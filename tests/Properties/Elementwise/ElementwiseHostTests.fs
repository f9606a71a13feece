/// The host side of the fused elementwise step: configuration checks with errors naming the argument and value,
/// state format names, per-step scalars from float64, chunking, launch layouts, the backend's argument checks, and the
/// bench's sizes and GPT-2 shapes.
module S3gd.Properties.Elementwise.ElementwiseHostTests

open System
open Xunit
open FsCheck
open FsCheck.FSharp
open FsCheck.Xunit
open S3gd.Spec.Formats
open S3gd.Spec.Rules
open S3gd.Gpu
open S3gd.Gpu.Cpu
open S3gd.Gpu.Elementwise

let private rule (name: string) = match Registry.find name with Ok r -> r | Error e -> failwith e

let private throwsNaming (fragments: string list) (f: unit -> obj) =
    let e = Assert.ThrowsAny<ArgumentException>(fun () -> f () |> ignore)
    for fragment in fragments do
        Assert.Contains(fragment, e.Message)

[<Fact>]
let ``a configuration rejects bad input with an error naming the argument and value`` () =
    throwsNaming [ "muon" ] (fun () -> box (ElementwiseConfig(rule "muon", Map.empty)))
    throwsNaming [ "param"; "fp8e4m3" ] (fun () -> box (ElementwiseConfig(rule "adamw", Map.empty, param = Fp8E4M3)))
    throwsNaming [ "math"; "fp8e5m2" ] (fun () -> box (ElementwiseConfig(rule "sgd", Map.empty, math = Fp8E5M2)))
    throwsNaming [ "exp_avg"; "fp8e4m3-unscaled" ] (fun () -> box (ElementwiseConfig(rule "adamw", Map.empty, states = [| StateFormat(Fp8E4M3, false) |])))
    throwsNaming [ "use_shape_scaling" ] (fun () -> box (ElementwiseConfig(rule "signum", Map [ "use_shape_scaling", Flag true ])))
    throwsNaming [ "lr" ] (fun () -> box (ElementwiseConfig(rule "adamw", Map [ "lr", Real -1.0 ])))
    throwsNaming [ "3 state formats"; "exp_avg" ] (fun () ->
        box (ElementwiseConfig(rule "adamw", Map.empty, states = [| StateFormat.Fp32; StateFormat.Fp32; StateFormat.Fp32 |])))
    throwsNaming [ "fp32-unscaled" ] (fun () -> box (StateFormat.Parse "fp32-unscaled"))
    throwsNaming [ "fp9" ] (fun () -> box (StateFormat.Parse "fp9"))

[<Fact>]
let ``unscaled fp8 is accepted for S3GD's bounded momentum only`` () =
    let c = ElementwiseConfig(rule "s3gd", Map.empty, states = [| StateFormat.Parse "fp8e4m3-unscaled" |])
    Assert.Equal(Some(StateFormat(Fp8E4M3, false)), c.States[0] |> Option.ofNullable)
    Assert.True(c.UsesFp8)

[<Fact>]
let ``state format names round-trip and fp8 is block-scaled unless it says unscaled`` () =
    for name in [ "fp32"; "bf16"; "fp8e4m3"; "fp8e5m2"; "fp8e4m3-unscaled"; "fp8e5m2-unscaled" ] do
        Assert.Equal(name, (StateFormat.Parse name).Name)
    Assert.True((StateFormat.Parse "fp8e5m2").BlockScaled)
    Assert.False((StateFormat.Parse "bf16").BlockScaled)

[<Fact>]
let ``each configuration keeps exactly the state buffers the spec rule keeps`` () =
    let kept (name: string) (hypers: Hypers) = (ElementwiseConfig(rule name, hypers)).StateNames |> List.ofSeq
    Assert.Equal<string list>([], kept "sgd" Map.empty)
    Assert.Equal<string list>([ "momentum_buffer" ], kept "sgd" (Map [ "momentum", Real 0.9 ]))
    Assert.Equal<string list>([ "exp_avg"; "exp_avg_sq" ], kept "adamw" Map.empty)
    Assert.Equal<string list>([ "exp_avg"; "exp_avg_sq"; "max_exp_avg_sq" ], kept "adam" (Map [ "amsgrad", Flag true ]))
    Assert.Equal<string list>([ "square_avg"; "momentum_buffer"; "grad_avg" ], kept "rmsprop" (Map [ "momentum", Real 0.5; "centered", Flag true ]))
    let amsgrad = ElementwiseConfig(rule "adam", Map [ "amsgrad", Flag true ])
    Assert.Equal(typeof<S3gd.Gpu.Rules.AdamStep<S3gd.Gpu.Maths.On>>, amsgrad.RuleType)
    Assert.Equal(typeof<S3gd.Gpu.Kernels.Fp32Format>, S3gd.Gpu.Kernels.KernelBackend.StateType amsgrad.States[2])
    Assert.Equal(typeof<S3gd.Gpu.Kernels.NoFormat>, S3gd.Gpu.Kernels.KernelBackend.StateType (ElementwiseConfig(rule "adam", Map.empty)).States[2])

[<Property(MaxTest = 200)>]
let ``Adam's scalars are its bias corrections computed in float64 and rounded once`` () =
    let prop (b1k: int, b2k: int, t: int) =
        let beta1, beta2 = float b1k / 1000.0, 0.9 + float b2k / 10000.0
        let lr = 3e-4
        let c = ElementwiseConfig(rule "adamw", Map [ "beta1", Real beta1; "beta2", Real beta2; "lr", Real lr ])
        let sc = StepScalars.For(c, t)
        sc.StepSize = float32 (lr / (1.0 - beta1 ** float t))
        && sc.SqrtBc2 = float32 ((1.0 - beta2 ** float t) ** 0.5)
        && sc.LerpFromEnd = (if float32 (1.0 - beta1) < 0.5f then 0 else 1)
        && sc.Decay = float32 (1.0 - lr * 1e-2)
        && sc.OneMinusBeta1 = float32 (1.0 - beta1)
    let gen = Gen.zip3 (Gen.choose (0, 999)) (Gen.choose (0, 999)) (Gen.choose (1, 10000))
    Prop.forAll (Arb.fromGen gen) prop

[<Fact>]
let ``SGD's buffer starts as the gradient on the first step only, and bf16 maths gets bf16 scalars`` () =
    let c = ElementwiseConfig(rule "sgd", Map [ "momentum", Real 0.9 ])
    Assert.Equal(1, (StepScalars.For(c, 1)).FirstStep)
    Assert.Equal(0, (StepScalars.For(c, 2)).FirstStep)
    let b = ElementwiseConfig(rule "s3gd", Map [ "beta", Real 0.9 ], math = Bf16)
    let sc = StepScalars.For(b, 1)
    Assert.Equal(float32 (Bf16.round 0.9), sc.Beta1)
    Assert.Equal(float32 (Bf16.round 0.1), sc.OneMinusBeta1)
    Assert.Throws<ArgumentOutOfRangeException>(fun () -> StepScalars.For(c, 0) |> ignore) |> ignore

[<Property(MaxTest = 200)>]
let ``chunks cover every tensor exactly once, each starting at a multiple of the chunk`` () =
    let prop (lengths: int list, unroll: int) =
        let chunk = ElementwiseLayout.Threads * ElementwiseLayout.Vec * unroll
        let chunks = ElementwiseChunks(lengths |> List.map int64 |> List.toArray, chunk)
        let covered = Array.zeroCreate<int64> lengths.Length
        for k in 0 .. chunks.Count - 1 do
            let t = chunks.ChunkTensor[k]
            let start = chunks.Start k
            if start % int64 chunk <> 0L || start <> covered[t] then failwithf "chunk %d of tensor %d starts at %d" k t start
            covered[t] <- min (int64 lengths[t]) (start + int64 chunk)
        covered |> Array.mapi (fun t c -> c = int64 lengths[t]) |> Array.forall id
    let gen = Gen.zip (Gen.listOf (Gen.choose (0, 20000))) (Gen.elements [ 1; 2; 4 ])
    Prop.forAll (Arb.fromGen gen) prop

[<Fact>]
let ``launch layouts parse from their names and reject bad values`` () =
    for c in ElementwiseLaunch.Candidates do
        Assert.Equal(c, ElementwiseLaunch.Parse c.Name)
    Assert.Equal(ElementwiseLaunch.Default, ElementwiseLaunch.For(ElementwiseConfig(rule "sgd", Map.empty)))
    throwsNaming [ "u3" ] (fun () -> box (ElementwiseLaunch.Parse "u3"))
    Assert.Throws<ArgumentOutOfRangeException>(fun () -> ElementwiseLaunch(3, 0).Validated() |> ignore) |> ignore
    Assert.Throws<ArgumentOutOfRangeException>(fun () -> ElementwiseLaunch(1, ElementwiseLaunch.MaxSharedBytes + 1).Validated() |> ignore) |> ignore

[<Fact>]
let ``the backend checks tensors against the configuration, naming the tensor and buffer`` () =
    use cpu = new CpuBackend()
    let c = ElementwiseConfig(rule "adamw", Map.empty)
    let n = 10L
    let struct (states, scales) = cpu.AllocateElementwiseState(c, n)
    let p = cpu.Allocate(ElementType.BFloat16, n)
    let g = cpu.Allocate(ElementType.Float32, n)
    let wrongType = ElementwiseTensor(p, g, states, scales)
    throwsNaming [ "tensors[0].Param"; "bf16"; "fp32" ] (fun () -> box (cpu.PlanElementwise(c, [ wrongType ])))
    let p32 = cpu.Allocate(ElementType.Float32, n)
    let missing = ElementwiseTensor(p32, g, [| states[0]; null; null |], scales)
    throwsNaming [ "tensors[0].States[1]"; "exp_avg_sq" ] (fun () -> box (cpu.PlanElementwise(c, [ missing ])))
    let flagged = ElementwiseConfig(rule "adamw", Map.empty, foundInf = true)
    throwsNaming [ "found-inf" ] (fun () -> box (cpu.PlanElementwise(flagged, [ ElementwiseTensor(p32, g, states, scales) ])))
    for b in [ p; g; p32 ] @ (states |> Array.choose Option.ofObj |> List.ofArray) do
        b.Dispose()

[<Fact>]
let ``a step with the fused kernel equals the spec's first AdamW step on a small example`` () =
    use cpu = new CpuBackend()
    let c = ElementwiseConfig(rule "adamw", Map [ "lr", Real 0.1 ])
    let struct (states, scales) = cpu.AllocateElementwiseState(c, 3L)
    let p = S3gd.Conformance.Transfer.uploadFloats cpu [| 1.0f; -2.0f; 0.5f |]
    let g = S3gd.Conformance.Transfer.uploadFloats cpu [| 0.5f; 0.0f; -4.0f |]
    cpu.StepElementwise(c, StepScalars.For(c, 1), [ ElementwiseTensor(p, g, states, scales) ])
    // First AdamW step: p*(1 - lr*wd) - lr*sign(g) (m_hat/sqrt(v_hat) = g/|g|, eps aside), with lr 0.1 and wd 0.01.
    let expected = [| 1.0 * 0.999 - 0.1; -2.0 * 0.999; 0.5 * 0.999 + 0.1 |]
    let got = cpu.Download<float32> p
    Array.iter2 (fun (e: float) (x: float32) -> Assert.InRange(float x, e - 1e-6, e + 1e-6)) expected got
