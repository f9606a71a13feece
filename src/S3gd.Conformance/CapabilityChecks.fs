/// An older GPU on a newer one (CudaBackend's capability argument): the kernels compiled for sm_80 step as the device's
/// own do, and the fp8 formats, which need sm_89's conversion instructions, are refused naming the device and bf16.
module S3gd.Conformance.CapabilityChecks

open System
open S3gd.Spec.Formats
open S3gd.Spec.Rules
open S3gd.Gpu
open S3gd.Gpu.Elementwise

/// The oldest architecture the kernels take (bf16 instructions), below fp8's sm_89.
let private olderCapability = struct (8, 0)

/// Elements of the step compared: two chunks and a tail.
let private elements = 5000L

/// AdamW with the given state on fp32 parameters, at its defaults.
let private adamw (state: StateFormat) =
    ElementwiseConfig(AdamW.info, Map.empty, Fp32, Fp32, Fp32, [| state |])

/// Three steps of the configuration over seeded values on a backend; the parameter's bytes after them.
let private stepped (backend: Backend) (config: ElementwiseConfig) =
    let random = Random 7
    let values () = Array.init (int elements) (fun _ -> float32 (2.0 * random.NextDouble() - 1.0))
    let p = backend.Allocate(ElementType.Float32, elements)
    let g = backend.Allocate(ElementType.Float32, elements)
    let struct (states, scales) = backend.AllocateElementwiseState(config, elements)
    let tensor = ElementwiseTensor(p, g, states, scales)
    try
        backend.Upload<float32>(p, ReadOnlySpan(values ()))
        use plan = backend.PlanElementwise(config, [ tensor ])
        for step in 1..3 do
            backend.Upload<float32>(g, ReadOnlySpan(values ()))
            plan.Step(StepScalars.For(config, step))
        backend.Download<uint32> p
    finally
        tensor.Buffers |> Seq.iter (fun b -> b.Dispose())

/// On an sm_80 stand-in: no fp8 (refused with the device and bf16 named; the bf16 fallback chosen where asked), and the
/// fp32 step of kernels compiled for sm_80 equal to the device's own, bit for bit.
let olderGpu : Checks.Check =
    { Property = "an sm_80 GPU refuses fp8 naming bf16, its kernels step alike"
      Format = None
      AppliesTo = fun backend -> backend.Kind = BackendKind.Cuda
      Run = fun _ backend ->
          let cuda = backend :?> Cuda.CudaBackend
          use older = new Cuda.CudaBackend(cuda.Info.Ordinal, Nullable olderCapability)
          if older.SupportsFp8 then failwithf "%s reports fp8 support" older.Device
          let fp8 = adamw (StateFormat.Parse "fp8e4m3")
          match (try stepped older fp8 |> ignore; None with :? UnsupportedFormatException as e -> Some e.Message) with
          | None -> failwithf "%s stepped %O" older.Device fp8
          | Some message when not (message.Contains cuda.Info.Name && message.Contains "bf16") ->
              failwithf "the refusal names neither the device nor bf16: %s" message
          | Some _ -> ()
          let choice = older.ChooseStateFormat(ElementType.Fp8E4M3, Fp8Fallback.Bf16)
          if choice.Actual <> ElementType.BFloat16 then failwithf "%s chose %O for fp8 with the bf16 fallback" older.Device choice.Actual
          let fp32 = adamw StateFormat.Fp32
          if stepped older fp32 <> stepped backend fp32 then
              failwithf "%O: the kernels compiled for %s step differently from %s's" fp32 older.Info.Architecture cuda.Info.Architecture }

/// Every capability check.
let all : Checks.Check list = [ olderGpu ]
