/// The kernels as backends of `run` and `compare`: `cpu` (the CPU twin) and `cuda`, each storing the parameter,
/// gradients and state in the requested formats, with float32 maths: the elementwise rules (fp8 state block-scaled,
/// except S3GD's bounded momentum, which is stored unscaled as the S3GD reference stores it), the structured ones,
/// StableAdamW and Adam-mini (fp32 or bf16 moments; Adam-mini's vmean fp32), and Muon and OAdamW through their optimizer
/// classes (Newton–Schulz in float32 on the CPU; on CUDA Muon's in bf16 with float32 accumulation, OAdamW's in float32 or,
/// with ns_precision=bf16, in bf16).
module S3gd.Cli.KernelBackend

open System
open S3gd.Spec.Formats
open S3gd.Spec.Rules
open S3gd.Gpu
open S3gd.Gpu.Elementwise
open S3gd.Gpu.Optimizers
open S3gd.Gpu.Structured
open S3gd.Cli.Backend

/// The state format the backend keeps a rule's state in for a requested storage format: fp8 block-scaled, unless the
/// rule's state is bounded (Catalog.boundedState).
let stateFormat (rule: string) (format: StorageFormat) =
    let fp8 = format = Fp8E4M3 || format = Fp8E5M2
    StateFormat(format, fp8 && not (Catalog.boundedState rule))

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
            let block = { Format = format; BlockSize = ElementwiseLayout.ScaleBlock; Codes = Array.map byte codes; Exponents = backend.Download<byte> scales }
            BlockScaled.decode block |> Array.map float
    Vec.Build.DenseOfArray values

/// The gradient's non-finite elements as the backend stores it (a float64 beyond the format's range stored as infinity
/// counts): counted on the host from the values uploaded, exactly.
let private storedNonFinite (format: StorageFormat) (g: Vec) = countNonFinite (SpecBackend.roundTo format g)

/// Steps an elementwise rule. Its kernel measures nothing, so telemetry reads the parameter before and after each step
/// (the largest change, exact) and counts the gradient's non-finite elements on the host.
let private runElementwise (backend: S3gd.Gpu.Backend) (r: Request) : Outcome =
    let config = ElementwiseConfig(r.Rule, r.Hypers, r.Dtypes.Param, r.Dtypes.Grad, Fp32, [| stateFormat r.Rule.Name r.Dtypes.State |])
    let n = int64 r.Param.Value.Count
    let p = backend.Allocate(r.Dtypes.Param, n)
    let g = backend.Allocate(r.Dtypes.Grad, n)
    let struct (states, scales) = backend.AllocateElementwiseState(config, n)
    let tensor = ElementwiseTensor(p, g, states, scales)
    try
        upload backend r.Dtypes.Param p r.Param.Value
        use plan = backend.PlanElementwise(config, [ tensor ])
        let readings = ResizeArray<StepReading>()
        for step in 1 .. r.Steps do
            upload backend r.Dtypes.Grad g r.Grads[step - 1]
            let scalars = StepScalars.For(config, step)
            if not r.Telemetry then plan.Step scalars
            else
                let before = download backend r.Dtypes.Param p null
                let ms = backend.TimeMilliseconds(fun () -> plan.Step scalars)
                readings.Add
                    { Step = step; Milliseconds = ms; MaxAbsUpdate = Some(maxAbsChange before (download backend r.Dtypes.Param p null))
                      NonFiniteGrads = Some(storedNonFinite r.Dtypes.Grad r.Grads[step - 1]); Fallbacks = None }
        let slotNames = config.SlotNames
        let buffers =
            Map [ for k in 0..2 do
                      if not (isNull states[k]) then
                          yield slotNames[k], download backend config.States[k].Value.Storage states[k] scales[k] ]
        { Param = download backend r.Dtypes.Param p null; Buffers = buffers; Telemetry = List.ofSeq readings }
    finally
        tensor.Buffers |> Seq.iter (fun b -> b.Dispose())

/// Adam-mini's block length and decay of the request's parameter (the spec's partition of its name and shape);
/// StableAdamW's group is the whole tensor (0) and it always decays.
let private structuredLayout (r: Request) : int64 * bool =
    if Catalog.structured r.Rule.Name <> Some StructuredRule.AdamMini then 0L, true
    else
        match AdamMini.ofHypers r.Hypers with
        | Ok h -> int64 (fst (AdamMini.layout h r.Param)), AdamMiniPartition.decays h.Partition r.Param.Name
        | Error e -> invalidArg "hypers" e

/// Steps a structured rule; with telemetry the plan counts on the device (the largest |update| before the parameter is
/// stored, and the non-finite gradient elements read).
let private runStructured (backend: S3gd.Gpu.Backend) (r: Request) : Outcome =
    // Adam-mini's vmean (one per block) is float32 whatever the state format.
    let second = if Catalog.structured r.Rule.Name = Some StructuredRule.StableAdamW then r.Dtypes.State else Fp32
    let config = StructuredConfig(r.Rule, r.Hypers, r.Dtypes.Param, r.Dtypes.Grad, r.Dtypes.State, second, r.Telemetry)
    let block, decays = structuredLayout r
    let n = int64 r.Param.Value.Count
    let p = backend.Allocate(r.Dtypes.Param, n)
    let g = backend.Allocate(r.Dtypes.Grad, n)
    let struct (moment, secondMoment, compensation) = backend.AllocateStructuredState(config, n, block)
    // Adam-mini's fp8 first moment keeps block words and bf16 slots beside its codes.
    let tensor = StructuredTensor(p, g, moment, secondMoment, block, decays, compensation, backend.AllocateMomentFallback(config, n, block))
    try
        upload backend r.Dtypes.Param p r.Param.Value
        use plan = backend.PlanStructured(config, [ tensor ])
        let readings = ResizeArray<StepReading>()
        for step in 1 .. r.Steps do
            upload backend r.Dtypes.Grad g r.Grads[step - 1]
            let scalars = StructuredScalars.For(config, step)
            if not r.Telemetry then plan.Step scalars
            else
                let ms = backend.TimeMilliseconds(fun () -> plan.Step scalars)
                let counters = plan.ReadTelemetry()[0]
                // Fallbacks exist only with an fp8 first moment.
                readings.Add
                    { Step = step; Milliseconds = ms; MaxAbsUpdate = Some(float counters.MaxAbsUpdate)
                      NonFiniteGrads = Some counters.NonFiniteGrads
                      Fallbacks = if config.MomentIsFp8 then Some counters.Fallbacks else None }
        let names = config.StateNames
        let buffers =
            Map [ yield names[0], (match tensor.Fallback with
                                   | null -> download backend config.Moment moment null
                                   | f -> Vec.Build.DenseOfArray(MomentFallback.Decode(ReadOnlySpan(backend.Download<byte> moment), ReadOnlySpan(backend.Download<float32> f.Scales), ReadOnlySpan(backend.Download<uint16> f.Pool), block)))
                  yield names[1], download backend config.SecondMoment secondMoment null
                  if not (isNull compensation) then yield "kahan_comp", download backend Bf16 compensation null ]
        { Param = download backend r.Dtypes.Param p null; Buffers = buffers; Telemetry = List.ofSeq readings }
    finally
        tensor.Buffers |> Seq.iter (fun b -> b.Dispose())

/// Steps a rule through its optimizer class (Muon and OAdamW, whose Newton–Schulz is no single fused kernel): the
/// parameter alone in one group carrying the request's hyperparameters, the state in the requested format, read back by
/// the names the optimizer gives it (torch's). With telemetry the optimizer times each step; what it does not measure is
/// measured as for the elementwise rules (the parameter read before and after, the gradient counted on the host).
let private runOptimizer (backend: S3gd.Gpu.Backend) (r: Request) : Outcome =
    use p = Parameter.Allocate(backend, r.Param.Name, r.Param.Shape, ElementTypes.FromFormat r.Dtypes.Param, ElementTypes.FromFormat r.Dtypes.Grad)
    let read (b: DeviceBuffer) = download backend (ElementTypes.ToFormat b.ElementType) b null
    upload backend r.Dtypes.Param p.Param r.Param.Value
    let group = r.Hypers |> Map.fold (fun (g: ParamGroup) name value -> g.With(name, value)) (ParamGroup([ p ], States = [| StateFormat(r.Dtypes.State, false) |]))
    use optimizer = OptimizerCatalog.Create(r.Rule.Name, [ group ])
    optimizer.TelemetryEnabled <- r.Telemetry
    let readings = ResizeArray<StepReading>()
    for step in 1 .. r.Steps do
        upload backend r.Dtypes.Grad p.Grad r.Grads[step - 1]
        let before = if r.Telemetry then Some(read p.Param) else None
        optimizer.Step()
        for t in optimizer.Telemetry do
            readings.Add
                { Step = step; Milliseconds = t.WallMilliseconds
                  MaxAbsUpdate = Option.ofNullable t.MaxAbsUpdate |> Option.orElse (before |> Option.map (fun b -> maxAbsChange b (read p.Param)))
                  NonFiniteGrads = Option.ofNullable t.NonFiniteGrads |> Option.orElse (Some(storedNonFinite r.Dtypes.Grad r.Grads[step - 1]))
                  Fallbacks = Option.ofNullable t.Fallbacks }
    { Param = read p.Param; Buffers = Map [ for s in optimizer.State p -> s.Name, read s.Buffer ]; Telemetry = List.ofSeq readings }

/// Runs the request's steps on a backend of the given kind, by the rule's family in the catalog.
let private run (kind: BackendKind) (r: Request) : Result<Outcome, string> =
    match Catalog.family r.Rule.Name with
    | None -> Error(sprintf "rule %s is not in the optimizer catalog" r.Rule.Name)
    | Some family ->
        try
            use backend: S3gd.Gpu.Backend = S3gd.Gpu.Backends.Create kind
            Ok(match family with
               | RuleFamily.Elementwise -> runElementwise backend r
               | RuleFamily.Structured -> runStructured backend r
               | _ -> runOptimizer backend r)
        with
        | :? BackendUnavailableException as e -> Error e.Message
        | :? UnsupportedFormatException as e -> Error e.Message
        | :? ArgumentException as e -> Error e.Message

/// The CPU twin of the kernels.
let cpu: Backend =
    { Name = "cpu"; Summary = "the kernels' CPU twin (float32 maths, storage in the requested dtypes)"; Store = SpecBackend.roundTo
      Run = run BackendKind.Cpu; NewtonSchulz = Float32Iteration }

/// The CUDA kernels.
let cuda: Backend =
    { Name = "cuda"; Summary = "the CUDA kernels (float32 maths, Newton–Schulz as the rule asks, storage in the requested dtypes)"
      Store = SpecBackend.roundTo; Run = run BackendKind.Cuda; NewtonSchulz = RequestedIteration }
