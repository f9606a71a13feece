/// The backend abstraction's argument checks, selection and the fp8 fallback rule.
module S3gd.Properties.Backends.BackendTests

open System
open Xunit
open S3gd.Gpu
open S3gd.Gpu.Cpu
open S3gd.Spec.Formats
open S3gd.Properties.Backends.BackendFacts

[<Fact>]
let ``an upload with the wrong length or element size is an error naming both`` () =
    use backend = new CpuBackend()
    use buffer = backend.Allocate(ElementType.BFloat16, 5L)
    let wrongLength = Assert.Throws<ArgumentException>(fun () -> backend.Upload<uint16>(buffer, ReadOnlySpan(Array.zeroCreate<uint16> 4)))
    Assert.Contains("4 elements", wrongLength.Message)
    Assert.Contains("5", wrongLength.Message)
    let wrongSize = Assert.Throws<ArgumentException>(fun () -> backend.Upload<float32>(buffer, ReadOnlySpan(Array.zeroCreate<float32> 5)))
    Assert.Contains("bf16", wrongSize.Message)

[<Fact>]
let ``encoding needs float32 sources of the destination's length`` () =
    use backend = new CpuBackend()
    use codes = backend.Allocate(ElementType.Fp8E4M3, 3L)
    use floats = backend.Allocate(ElementType.Float32, 4L)
    let e = Assert.Throws<ArgumentException>(fun () -> backend.Encode([| TensorPair(floats, codes) |]))
    Assert.Contains("3", e.Message)
    use narrow = backend.Allocate(ElementType.BFloat16, 3L)
    let e = Assert.Throws<ArgumentException>(fun () -> backend.Encode([| TensorPair(narrow, codes) |]))
    Assert.Contains("must be float32", e.Message)

[<Fact>]
let ``a buffer of one backend is refused by another and a disposed one by its own`` () =
    use a = new CpuBackend()
    use b = new CpuBackend()
    let buffer = a.Allocate(ElementType.Float32, 2L)
    Assert.Throws<ArgumentException>(fun () -> b.Upload<float32>(buffer, ReadOnlySpan [| 1.0f; 2.0f |])) |> ignore
    buffer.Dispose()
    Assert.Throws<ObjectDisposedException>(fun () -> a.Upload<float32>(buffer, ReadOnlySpan [| 1.0f; 2.0f |])) |> ignore
    Assert.Equal(0, a.LiveBuffers)

[<Fact>]
let ``fp8 on a device without it is an error naming the device, unless the bf16 fallback is asked for`` () =
    let device = "Tesla V100 (sm_70)"
    let e = Assert.Throws<UnsupportedFormatException>(fun () -> FormatSupport.Choose(ElementType.Fp8E4M3, Fp8Fallback.None, device, false) |> ignore)
    Assert.Contains(device, e.Message)
    Assert.Contains("fp8e4m3", e.Message)
    let choice = FormatSupport.Choose(ElementType.Fp8E5M2, Fp8Fallback.Bf16, device, false)
    Assert.Equal(ElementType.BFloat16, choice.Actual)
    Assert.True(choice.IsFallback)
    Assert.Contains(device, choice.Notice)

[<Fact>]
let ``formats the device supports are kept as requested, with no notice`` () =
    for t in ElementTypes.All do
        let choice = FormatSupport.Choose(t, Fp8Fallback.Bf16, "NVIDIA H100 (sm_90)", true)
        Assert.Equal(t, choice.Actual)
        Assert.Null(choice.Notice)
    let bf16 = FormatSupport.Choose(ElementType.BFloat16, Fp8Fallback.None, "Tesla V100 (sm_70)", false)
    Assert.False(bf16.IsFallback)

[<Fact>]
let ``element types map to the spec's formats and back`` () =
    for t in ElementTypes.All do
        Assert.Equal(t, ElementTypes.FromFormat(ElementTypes.ToFormat t))
        Assert.Equal(S3gd.Spec.Formats.StorageFormat.size (ElementTypes.ToFormat t), t.SizeOf())

[<Fact>]
let ``the best backend is CUDA exactly where CUDA is available, and says why`` () =
    if isNull (Environment.GetEnvironmentVariable Backends.EnvironmentVariable) then
        let selection = Backends.Best()
        use _ = selection.Backend
        let expected = if (cudaUnavailable ()).IsNone then BackendKind.Cuda else BackendKind.Cpu
        Assert.Equal(expected, selection.Backend.Kind)
        Assert.StartsWith("best available", selection.Reason)
        cudaUnavailable () |> Option.iter (fun reason -> Assert.Contains(reason, selection.Reason))

[<Fact>]
let ``backend names parse case-insensitively and anything else is refused`` () =
    Assert.Equal(Nullable BackendKind.Cuda, Backends.Parse "CUDA")
    Assert.Equal(Nullable BackendKind.Cpu, Backends.Parse " cpu ")
    Assert.False((Backends.Parse "opencl").HasValue)

[<Fact>]
let ``S3GD_BACKEND overrides the best choice, and an unknown value is an error naming it`` () =
    let saved = Environment.GetEnvironmentVariable Backends.EnvironmentVariable
    try
        Environment.SetEnvironmentVariable(Backends.EnvironmentVariable, "CPU")
        let selection = Backends.Best()
        use _ = selection.Backend
        Assert.Equal(BackendKind.Cpu, selection.Backend.Kind)
        Assert.Contains("S3GD_BACKEND=CPU", selection.Reason)
        Environment.SetEnvironmentVariable(Backends.EnvironmentVariable, "tpu")
        let e = Assert.Throws<ArgumentException>(fun () -> Backends.Best() |> ignore)
        Assert.Contains("'tpu'", e.Message)
    finally
        Environment.SetEnvironmentVariable(Backends.EnvironmentVariable, saved)

[<Fact>]
let ``one list operation covers empty, multi-block and single-element tensors`` () =
    use backend = new CpuBackend()
    // An empty tensor, one just over two CPU blocks (2 x 65536 elements), and a single element.
    let inputs = [ [||]; Array.init 131073 (fun i -> float32 i * 0.37f - 1000.0f); [| 1.0f / 3.0f |] ]
    let sources = inputs |> List.map (S3gd.Conformance.Transfer.uploadFloats backend)
    let destinations = inputs |> List.map (fun xs -> backend.Allocate(ElementType.BFloat16, int64 xs.Length))
    backend.Encode(List.map2 (fun s d -> TensorPair(s, d)) sources destinations |> List.toArray)
    for xs, d in List.zip inputs destinations do
        let expected = xs |> Array.map (fun x -> uint16 (Bf16.encode (float x)))
        Assert.Equal<uint16[]>(expected, backend.Download<uint16> d)
    for b in sources @ destinations do b.Dispose()
    Assert.Equal(0, backend.LiveBuffers)

[<Fact>]
let ``timing runs the work once and gives a non-negative duration`` () =
    use backend = new CpuBackend()
    let mutable runs = 0
    let ms = backend.TimeMilliseconds(fun () -> runs <- runs + 1)
    Assert.Equal(1, runs)
    Assert.True(ms >= 0.0, sprintf "duration %g ms" ms)

[<Fact>]
let ``a buffer can be allocated by spec format, and a negative length is refused naming it`` () =
    use backend = new CpuBackend()
    use buffer = backend.Allocate(StorageFormat.Fp8E5M2, 7L)
    Assert.Equal(ElementType.Fp8E5M2, buffer.ElementType)
    Assert.Equal(7L, buffer.SizeInBytes)
    let e = Assert.Throws<ArgumentOutOfRangeException>(fun () -> backend.Allocate(ElementType.Float32, -1L) |> ignore)
    Assert.Equal("length", e.ParamName)
