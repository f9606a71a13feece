/// `s3gd soak`: the checkpoint round trip under load. One seeded gradient stream drives two copies of an optimizer;
/// the second is saved to a checkpoint every N steps and reloaded into a fresh optimizer over fresh parameters. At the
/// end every parameter and state buffer of the two must be equal bit for bit. Options are checked through Argu's error
/// path, the output folder before any step; progress and an estimate of the time left show while it runs.
module S3gd.Cli.Soak

open System
open System.IO
open Argu
open S3gd.Gpu
open S3gd.Gpu.Elementwise
open S3gd.Gpu.Optimizers
open S3gd.Cli.Arguments

/// What a soak did: steps run, reloads made, bytes compared, and each buffer that differs.
type Outcome = { Steps: int; Reloads: int; BytesCompared: int64; Differences: string list }

/// The parameters of a soak: the largest of `size` elements, a 2-D one and a scalar, named as a model's.
let shapes (size: int) = [ "layer.weight", [ size ]; "layer.proj", [ max 1 ((size + 6) / 7); 7 ]; "layer.scale", [ 1 ] ]

/// The parameters of a soak of optimizer `name`: Muon takes 2-D parameters only (as torch), so its soak steps a tall
/// matrix of about `size` elements (rows of 8), the same 7-column matrix and a 1 x 1 one; the others step `shapes`.
let shapesOf (name: string) (size: int) =
    if Catalog.isMuon name then [ "layer.weight", [ max 1 (size / 8); 8 ]; "layer.proj", [ max 1 ((size + 6) / 7); 7 ]; "layer.scale", [ 1; 1 ] ]
    else shapes size

/// Uniform values in [-1, 1) from a seeded stream (the same on every machine: System.Random with a seed is fixed).
let private fill (random: Random) (n: int) = Array.init n (fun _ -> float32 (2.0 * random.NextDouble() - 1.0))

/// The formats of a soak: parameter type, state format, bf16 parameter update.
type Formats = { Param: ElementType; State: StateFormat; Update: ParamUpdate }

/// float32 parameters and state, rounding to nearest.
let fp32 = { Param = ElementType.Float32; State = StateFormat.Fp32; Update = ParamUpdate.Nearest }

/// Fresh parameters on a backend, all zero.
let private allocate (formats: Formats) (optimizer: string) (backend: Backend) (size: int) =
    [ for name, shape in shapesOf optimizer size -> Parameter.Allocate(backend, name, shape, formats.Param) ]

/// Writes float32 values into a float32 or bf16 buffer (bf16: the upper half of the float32 bits, a valid bf16 value).
let private write (buffer: DeviceBuffer) (xs: float32[]) =
    if buffer.ElementType = ElementType.BFloat16 then
        buffer.Owner.Upload<uint16>(buffer, ReadOnlySpan(xs |> Array.map (fun x -> uint16 (BitConverter.SingleToUInt32Bits x >>> 16))))
    else buffer.Owner.Upload<float32>(buffer, ReadOnlySpan xs)

/// The second group's learning rate, valid for every rule (some need lr > 0).
let private scalarLr = 1e-4

/// The optimizer of a soak over its parameters: the first two in group 0 at the rule's defaults, the scalar in group 1 at its own lr.
let create (formats: Formats) (name: string) (ps: Parameter list) =
    let group (members: Parameter list) = ParamGroup(members, States = [| formats.State |], ParamUpdate = formats.Update)
    OptimizerCatalog.Create(name, [ group ps[..1]; (group [ ps[2] ]).With("lr", scalarLr) ])

/// Byte-by-byte comparison of two buffers: the number of bytes compared, and a description when they differ.
let compareBuffers (what: string) (a: DeviceBuffer) (b: DeviceBuffer) =
    let x, y = BufferBytes.Read a, BufferBytes.Read b
    let differ =
        if x.Length <> y.Length then Some(sprintf "%s: %d bytes against %d" what x.Length y.Length)
        else
            let first = Array.zip x y |> Array.tryFindIndex (fun (u, v) -> u <> v)
            first |> Option.map (fun i -> sprintf "%s: first difference at byte %d (%d against %d)" what i x[i] y[i])
    int64 (min x.Length y.Length), differ

/// Runs the soak, saving and loading the checkpoint at `checkpoint` and calling `progress` after each step; returns what
/// it did. With `alternate`, the reloaded run moves to `other` at every odd reload and back to `backend` at every even one.
let runWith
    (formats: Formats) (backend: Backend) (alternate: Backend option) (name: string) (steps: int) (every: int) (size: int) (seed: int)
    (checkpoint: string) (progress: int -> unit) : Outcome =
    let initial = Random(seed)
    let values = [ for _, shape in shapesOf name size -> fill initial (List.reduce (*) shape) ]
    let psA = allocate formats name backend size
    let mutable psB = allocate formats name backend size
    for p, v in List.zip psA values do write p.Param v
    for p, v in List.zip psB values do write p.Param v
    let a = create formats name psA
    let mutable b = create formats name psB
    let mutable reloads = 0
    try
        for step in 1..steps do
            let stream = Random(HashCode.Combine(seed, step))
            for i, (_, shape) in List.indexed (shapesOf name size) do
                let g = fill stream (List.reduce (*) shape)
                write psA[i].Grad g
                write psB[i].Grad g
            a.Step()
            b.Step()
            if step % every = 0 && step < steps then
                b.Save checkpoint
                b.Dispose()
                for p in psB do p.Dispose()
                let target =
                    match alternate with
                    | Some other when reloads % 2 = 0 -> other
                    | _ -> backend
                psB <- allocate formats name target size
                b <- create formats name psB
                b.Load checkpoint
                reloads <- reloads + 1
            progress step
        let results =
            [ for pa, pb in List.zip psA psB do
                  yield compareBuffers (sprintf "param %s" pa.Name) pa.Param pb.Param
                  for sa, sb in Seq.zip (a.State pa) (b.State pb) do
                      yield compareBuffers (sprintf "state %s.%s" pa.Name sa.Name) sa.Buffer sb.Buffer ]
        { Steps = steps; Reloads = reloads; BytesCompared = results |> List.sumBy fst; Differences = results |> List.choose snd }
    finally
        a.Dispose()
        b.Dispose()
        for p in psA @ psB do p.Dispose()

/// Runs the soak with float32 parameters and state on one backend.
let run (backend: Backend) (name: string) (steps: int) (every: int) (size: int) (seed: int) (checkpoint: string) : Outcome =
    runWith fp32 backend None name steps every size seed checkpoint ignore

/// The checkpoint file's name in the output folder.
let checkpointName = "soak.safetensors"

/// The summary file's name in the output folder.
let summaryName = "soak.txt"

/// Steps of each run when --steps is absent.
let defaultSteps = 10000

/// Steps between reloads when --every is absent.
let defaultEvery = 1000

/// Elements of the largest parameter when --size is absent.
let defaultSize = 65536

/// A positive count, for Argu's `PostProcessResult`.
let private positive (n: int) = if n < 1 then failwithf "%d is not a positive count" n else n

/// The formats the options ask for, through Argu's error path; bf16 updates other than nearest need bf16 parameters.
let private formatsOf (args: ParseResults<SoakArgs>) : Formats =
    let param =
        args.TryPostProcessResult(SoakArgs.Param_Dtype, function
            | "fp32" -> ElementType.Float32
            | "bf16" -> ElementType.BFloat16
            | other -> failwithf "'%s' is not fp32 or bf16" other)
        |> Option.defaultValue ElementType.Float32
    let state = args.TryPostProcessResult(SoakArgs.State_Dtype, StateFormat.Parse) |> Option.defaultValue StateFormat.Fp32
    let update = args.TryPostProcessResult(SoakArgs.Param_Update, ParamUpdates.Parse) |> Option.defaultValue ParamUpdate.Nearest
    if update <> ParamUpdate.Nearest && param <> ElementType.BFloat16 then
        args.Raise(sprintf "--param-update %s changes only bf16 parameters; add --param-dtype bf16" (update.Name()))
    { Param = param; State = state; Update = update }

/// Runs `s3gd soak`: prints and writes the summary; exit code 0 when bit-identical, 1 on any difference, 2 on bad input.
let command (args: ParseResults<SoakArgs>) =
    let name =
        args.TryPostProcessResult(SoakArgs.Optimizer, fun n ->
            if OptimizerCatalog.ByName.ContainsKey n then n
            else failwithf "'%s' is not one of %s" n (String.Join(", ", OptimizerCatalog.ByName.Keys)))
        |> Option.defaultValue "adamw"
    let steps = args.TryPostProcessResult(SoakArgs.Steps, positive) |> Option.defaultValue defaultSteps
    let every = args.TryPostProcessResult(SoakArgs.Every, positive) |> Option.defaultValue defaultEvery
    let size = args.TryPostProcessResult(SoakArgs.Size, positive) |> Option.defaultValue defaultSize
    if every >= steps then
        args.Raise(sprintf "--every %d is not below --steps %d: the second run would never be reloaded" every steps)
    let formats = formatsOf args
    let kind = args.TryPostProcessResult(SoakArgs.Backend, BackendChoice.parse)
    let alternate = args.Contains SoakArgs.Alternate
    use output = OutFolder.start (args.GetResult SoakArgs.Out)
    let selection = BackendChoice.openBackend kind
    use backend = selection.Backend
    if alternate && backend.Kind = BackendKind.Cpu then
        Errors.fail (sprintf "--alternate reloads onto the CPU and back, but the backend is the CPU already (%s): give --backend cuda or ilgpu-cpu" selection.Reason)
    use cpu = if alternate then Backends.Create BackendKind.Cpu else null
    let o =
        use progress = Progress.start "soak" "steps" steps (float steps)
        progress.Start(sprintf "%d reloads to make" ((steps - 1) / every))
        runWith formats backend (Option.ofObj cpu) name steps every size (args.GetResult(SoakArgs.Seed, 1)) (output.Stage checkpointName)
            (fun step -> progress.Advance(1.0, if step < steps then sprintf "%d reloads made" (step / every) else ""))
    let summary =
        [ sprintf "soak: %s on %s%s, param %s, state %s, update %s, parameters %s" name backend.Device
              (if isNull cpu then "" else " (reloads alternating with the CPU)") (formats.Param.Name()) formats.State.Name (formats.Update.Name())
              (String.Join(", ", shapesOf name size |> List.map (fun (n, s) -> sprintf "%s %A" n s)))
          sprintf "steps run: %d (each of two runs)" o.Steps
          sprintf "checkpoint reloads: %d (every %d steps)" o.Reloads every
          sprintf "bytes compared: %d" o.BytesCompared
          sprintf "differences: %d" o.Differences.Length ]
        @ o.Differences
    for line in summary do printfn "%s" line
    File.WriteAllLines(output.Stage summaryName, summary)
    output.Commit() |> ignore
    if o.Differences.IsEmpty then 0 else Errors.checkFailed
