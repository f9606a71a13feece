/// The fused elementwise kernels as backends of `run` and `compare`: `cpu` (the CPU twin) and `cuda`, each storing the
/// parameter, gradients and state in the requested formats (fp8 state block-scaled, except S3GD's bounded momentum,
/// which is stored unscaled as the S3GD reference stores it), with float32 maths.
module S3gd.Cli.KernelBackend

open System
open S3gd.Spec.Formats
open S3gd.Spec.Rules
open S3gd.Gpu
open S3gd.Gpu.Elementwise
open S3gd.Cli.Backend

/// The state format the backend keeps a rule's state in for a requested storage format.
let stateFormat (rule: string) (format: StorageFormat) =
    let fp8 = format = Fp8E4M3 || format = Fp8E5M2
    StateFormat(format, fp8 && rule <> "s3gd")

let private upload (backend: S3gd.Gpu.Backend) (format: StorageFormat) (buffer: DeviceBuffer) (v: Vec) =
    let codes = v.ToArray() |> Array.map (StorageFormat.encode format)
    match StorageFormat.size format with
    | 4 -> backend.Upload<uint32>(buffer, ReadOnlySpan codes)
    | 2 -> backend.Upload<uint16>(buffer, ReadOnlySpan(Array.map uint16 codes))
    | _ -> backend.Upload<byte>(buffer, ReadOnlySpan(Array.map byte codes))

let private download (backend: S3gd.Gpu.Backend) (format: StorageFormat) (buffer: DeviceBuffer) (scales: DeviceBuffer) : Vec =
    let codes =
        match StorageFormat.size format with
        | 4 -> backend.Download<uint32> buffer
        | 2 -> backend.Download<uint16> buffer |> Array.map uint32
        | _ -> backend.Download<byte> buffer |> Array.map uint32
    let values =
        if isNull scales then codes |> Array.map (StorageFormat.decode format)
        else
            let block = { Format = format; BlockSize = ElementwiseLayout.ScaleBlock; Codes = Array.map byte codes; Scales = backend.Download<float32> scales }
            BlockScaled.decode block |> Array.map float
    Vec.Build.DenseOfArray values

/// Runs the request's steps on a backend of the given kind.
let private run (kind: BackendKind) (r: Request) : Result<Outcome, string> =
    if not (ElementwiseRules.ByName.ContainsKey r.Rule.Name) then
        Error(sprintf "rule %s has no fused kernel (the %O backend runs: %s)" r.Rule.Name kind (String.Join(", ", ElementwiseRules.ByName.Keys)))
    else
        try
            use backend: S3gd.Gpu.Backend = S3gd.Gpu.Backends.Create kind
            let config = ElementwiseConfig(r.Rule, r.Hypers, r.Dtypes.Param, r.Dtypes.Grad, Fp32, [| stateFormat r.Rule.Name r.Dtypes.State |])
            let n = int64 r.Param.Value.Count
            let p = backend.Allocate(r.Dtypes.Param, n)
            let g = backend.Allocate(r.Dtypes.Grad, n)
            let struct (states, scales) = backend.AllocateElementwiseState(config, n)
            let tensor = ElementwiseTensor(p, g, states, scales)
            try
                upload backend r.Dtypes.Param p r.Param.Value
                use plan = backend.PlanElementwise(config, [ tensor ])
                for step in 1 .. r.Steps do
                    upload backend r.Dtypes.Grad g r.Grads[step - 1]
                    plan.Step(StepScalars.For(config, step))
                let slotNames = ElementwiseRules.SlotNames config.Rule
                let buffers =
                    Map [ for k in 0..2 do
                              if not (isNull states[k]) then
                                  yield slotNames[k], download backend config.States[k].Value.Format states[k] scales[k] ]
                Ok { Param = download backend r.Dtypes.Param p null; Buffers = buffers }
            finally
                tensor.Buffers |> Seq.iter (fun b -> b.Dispose())
        with
        | :? BackendUnavailableException as e -> Error e.Message
        | :? UnsupportedFormatException as e -> Error e.Message
        | :? ArgumentException as e -> Error e.Message

/// The CPU twin of the fused kernels.
let cpu: Backend =
    { Name = "cpu"; Summary = "the fused elementwise kernels' CPU twin (float32 maths, storage in the requested dtypes)"; Run = run BackendKind.Cpu }

/// The fused CUDA kernels.
let cuda: Backend =
    { Name = "cuda"; Summary = "the fused elementwise CUDA kernels (float32 maths, storage in the requested dtypes)"; Run = run BackendKind.Cuda }
