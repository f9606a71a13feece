/// `s3gd bench`'s measurements: the fused elementwise step's time per case (median of CUDA-event-timed steps after
/// warm-up, data rotated over enough buffer sets that L2 cannot serve it), the bytes a step must move, GB/s, and the
/// ratio to a device-to-device copy of the same bytes measured in the same run; the table rows, bench.csv and bench.svg.
/// BenchCommand.fs reads the options and runs the cases.
module S3gd.Cli.Bench

open System
open System.Globalization
open S3gd.Spec.Formats
open S3gd.Spec.Rules
open S3gd.Gpu
open S3gd.Gpu.Elementwise

/// The GPT-2-small parameter shapes (124M parameters in 148 tensors), as flat lengths in named_parameters() order:
/// token and position embeddings, 12 blocks of (ln_1, attention qkv and projection, ln_2, MLP fc and projection), ln_f.
let gpt2Lengths : int64 list =
    // Vocabulary, context, width and MLP width of GPT-2 small.
    let vocab, context, width, mlp = 50257L, 1024L, 768L, 3072L
    let block =
        [ width; width // ln_1 weight, bias
          3L * width * width; 3L * width // attn.c_attn weight, bias
          width * width; width // attn.c_proj weight, bias
          width; width // ln_2 weight, bias
          mlp * width; mlp // mlp.c_fc weight, bias
          width * mlp; width ] // mlp.c_proj weight, bias
    [ vocab * width; context * width ] @ List.concat (List.replicate 12 block) @ [ width; width ]

/// Bytes of data each case rotates over: ten times the 50 MB L2 of an H100, so no step finds its data in L2.
let rotationBytes = 512L * 1024L * 1024L

/// The most buffer sets a case rotates over (memory bound for small cases).
let maxSets = 16

/// Untimed steps before timing, per set.
let warmupSteps = 3

/// The CPU backend's least warm-up time, seconds: .NET compiles a hot method again, optimised, some 100 ms after its
/// first calls and in the background, so a short warm-up timed part of a CPU case's steps with the first code.
let cpuWarmupSeconds = 1.0

/// One measured case.
type Row =
    { Rule: string; State: string; Param: string; Grad: string; Math: string; Case: string; Params: int64; Tensors: int
      Layout: string; Ms: float; Bytes: int64; GBps: float; CopyGBps: float; Update: string }
    /// Our bandwidth over the copy's.
    member r.Ratio = r.GBps / r.CopyGBps

/// Parses 1M, 16M, 64M, 500K or a plain count; M and K are 2^20 and 2^10.
let parseSize (s: string) : Result<int64, string> =
    let t = s.Trim().ToUpperInvariant()
    let digits, factor =
        if t.EndsWith "M" then t.TrimEnd 'M', 1L <<< 20
        elif t.EndsWith "K" then t.TrimEnd 'K', 1L <<< 10
        else t, 1L
    match Int64.TryParse(digits, NumberStyles.None, CultureInfo.InvariantCulture) with
    | true, v when v > 0L -> Ok(v * factor)
    | _ -> Error(sprintf "--sizes: cannot parse '%s' (a positive count, optionally with K or M)" s)

/// A size as the table writes it: 64M, 500K, 1000.
let showSize (n: int64) =
    if n % (1L <<< 20) = 0L then sprintf "%dM" (n >>> 20)
    elif n % (1L <<< 10) = 0L then sprintf "%dK" (n >>> 10)
    else string n

let private median (xs: float list) =
    let s = List.sort xs
    let n = s.Length
    if n % 2 = 1 then s[n / 2] else (s[n / 2 - 1] + s[n / 2]) / 2.0

/// Bench data's least magnitude: every value lies in [2^-BenchExponent, 2^-BenchExponent+1), gradient-sized.
let private benchExponent = 8

/// float32's exponent bias and mantissa width, for building the bench values' bits.
let private floatBias, mantissaBits = 127, 23

/// Element i of a bench buffer (seeded by `seed`): a normal float32 in +-[2^-8, 2^-7) with a pseudo-random sign and mantissa
/// from a hash of (i, seed). Never zero: zeros would time the IEEE slow paths of the exactly rounded square root and
/// division (sqrt(0), 0/x), which real gradients and moments rarely take, instead of the step's work.
let private benchBits (seed: uint32) (i: int64) =
    // A 32-bit integer hash (multiply, xor-shift): golden-ratio and odd multipliers.
    let mutable x = (uint32 i * 0x9E3779B1u) ^^^ seed
    x <- (x ^^^ (x >>> 15)) * 0x2C1B3C6Du
    x <- x ^^^ (x >>> 12)
    (x &&& 0x80000000u) ||| (uint32 (floatBias - benchExponent) <<< mantissaBits) ||| (x &&& ((1u <<< mantissaBits) - 1u))

/// A buffer of one format (fp32 or bf16) and length holding bench values (`benchBits`; bf16 keeps their upper half).
let private filled (backend: Backend) (format: StorageFormat) (n: int64) (seed: uint32) =
    let b = backend.Allocate(ElementTypes.FromFormat format, n)
    match StorageFormat.size format with
    | 4 -> backend.Upload<uint32>(b, ReadOnlySpan(Array.Parallel.init (int n) (fun i -> benchBits seed (int64 i))))
    | _ -> backend.Upload<uint16>(b, ReadOnlySpan(Array.Parallel.init (int n) (fun i -> uint16 (benchBits seed (int64 i) >>> 16))))
    b

/// Seeds of the parameter and gradient bench buffers.
let private paramSeed, gradSeed = 1u, 2u

/// Times `run` on each of `sets` items in turn, `iterations` times in all after warm-up (warmupSteps per set, and on the
/// CPU at least cpuWarmupSeconds); the median in milliseconds.
let private timeRotating (backend: Backend) (sets: int) (iterations: int) (run: int -> unit) =
    let clock = Diagnostics.Stopwatch.StartNew()
    let least = if backend.Kind = BackendKind.Cpu then cpuWarmupSeconds else 0.0
    let mutable i = 0
    while i < warmupSteps * sets || clock.Elapsed.TotalSeconds < least do
        run (i % sets)
        i <- i + 1
    backend.Synchronize()
    median [ for i in 0 .. iterations - 1 -> backend.TimeMilliseconds(fun () -> run (i % sets)) ]

/// The device-to-device copy's GB/s over `sets` rotating pairs of buffers that together move `bytes` (each copy reads and
/// writes half of them). Each source is written (by a copy the other way) before timing, each destination by the warm-up
/// copies: on the CPU an array never written reads from the kernel's shared zero page, in cache, which doubled the
/// copy's apparent speed in about half of the runs.
let private copyGBps (backend: Backend) (sets: int) (iterations: int) (bytes: int64) =
    let words = max 1L (bytes / 2L / 4L)
    let copies = Array.init sets (fun _ -> backend.Allocate(ElementType.Float32, words), backend.Allocate(ElementType.Float32, words))
    try
        for source, destination in copies do backend.Copy(destination, source)
        let ms = timeRotating backend sets iterations (fun k -> backend.Copy(fst copies[k], snd copies[k]))
        float (2L * 4L * words) / (ms * 1e-3) / 1e9
    finally copies |> Array.iter (fun (a, b) -> a.Dispose(); b.Dispose())

/// Measures one configuration on one list of tensor lengths, with each of the launch layouts given; reports the fastest.
let measure (backend: Backend) (config: ElementwiseConfig) (caseName: string) (lengths: int64 list) (iterations: int) (layouts: ElementwiseLaunch list) : Row =
    let makeSet () =
        lengths
        |> List.map (fun n ->
            let struct (states, scales) = backend.AllocateElementwiseState(config, n)
            ElementwiseTensor(filled backend config.Param n paramSeed, filled backend config.Grad n gradSeed, states, scales, backend.AllocateCompensation(config, n)))
    let first = makeSet ()
    let bytes = (using (backend.PlanElementwise(config, first)) (fun p -> p.BytesPerStep))
    let sets = int (max 2L (min (int64 maxSets) ((rotationBytes + bytes - 1L) / bytes)))
    let tensors = first :: List.init (sets - 1) (fun _ -> makeSet ())
    try
        let scalars = StepScalars.For(config, 10)
        let timeLayout (layout: ElementwiseLaunch) =
            let plans = tensors |> List.map (fun t -> backend.PlanElementwise(config, t, launch = layout)) |> List.toArray
            try layout, timeRotating backend sets iterations (fun k -> plans[k].Step scalars)
            finally plans |> Array.iter (fun p -> p.Dispose())
        // Tuning tries every layout; one that cannot run (a compile error) is reported and left out, unless it is the only one.
        let tryLayout (layout: ElementwiseLaunch) =
            if layouts.Length = 1 then Some(timeLayout layout)
            else
                try Some(timeLayout layout)
                with e ->
                    eprintfn "layout %s of %O failed: %s" layout.Name config e.Message
                    None
        let layout, ms = layouts |> List.choose tryLayout |> List.minBy snd
        let gbps (b: int64) (t: float) = float b / (t * 1e-3) / 1e9
        let states = config.States |> Seq.filter (fun s -> s.HasValue) |> Seq.map (fun s -> s.Value.Name) |> Seq.distinct |> String.concat "/"
        { Rule = config.RuleInfo.Name; State = (if states = "" then "none" else states); Param = StorageFormat.name config.Param
          Grad = StorageFormat.name config.Grad; Math = (if config.MathBf16 then "bf16" else "fp32"); Case = caseName
          Params = List.sum lengths; Tensors = lengths.Length; Layout = layout.Name; Ms = ms; Bytes = bytes; GBps = gbps bytes ms
          CopyGBps = copyGBps backend sets iterations bytes; Update = config.ParamUpdate.Name() }
    finally
        tensors |> List.iter (List.iter (fun t -> t.Buffers |> Seq.iter (fun b -> b.Dispose())))

/// Elements per Adam-mini block on a single benchmarked tensor: one row of a 4096-wide layer (per output neuron), when
/// it divides the size; otherwise the whole tensor is one block.
let miniRow = 4096L

/// The (length, block length, decays) of each tensor of a structured case: StableAdamW reduces whole tensors; Adam-mini
/// takes single tensors in rows of `miniRow` and the GPT-2 shapes under the Hessian-aware partition (`s3gd partition`).
let structuredTensors (rule: string) (caseName: string) (lengths: int64 list) : (int64 * int64 * bool) list =
    if Catalog.structured rule = Some Structured.StructuredRule.StableAdamW then lengths |> List.map (fun n -> n, 0L, true)
    elif caseName = "gpt2" then
        match Partition.rows AdamMiniPartition.Hessian Partition.gpt2Model Partition.gpt2 with
        | Ok rows -> rows |> List.map (fun r -> int64 r.Blocks * int64 r.Block, int64 r.Block, r.Decays)
        | Error e -> invalidOp e
    else lengths |> List.map (fun n -> n, (if n % miniRow = 0L then miniRow else n), true)

/// Measures one structured configuration (reduce, finalize and update kernels per step) on a list of tensors, with each of
/// the launch layouts given; reports the fastest.
let measureStructured
    (backend: Backend) (config: Structured.StructuredConfig) (caseName: string) (tensors: (int64 * int64 * bool) list) (iterations: int)
    (layouts: Structured.StructuredLaunch list) : Row =
    let makeSet () =
        tensors
        |> List.map (fun (n, block, decays) ->
            let struct (moment, second, comp) = backend.AllocateStructuredState(config, n, block)
            let fallback = backend.AllocateMomentFallback(config, n, block)
            Structured.StructuredTensor(filled backend config.Param n paramSeed, filled backend config.Grad n gradSeed, moment, second, block, decays, comp, fallback))
    let first = makeSet ()
    let bytes = (using (backend.PlanStructured(config, first)) (fun p -> p.BytesPerStep))
    let sets = int (max 2L (min (int64 maxSets) ((rotationBytes + bytes - 1L) / bytes)))
    let all = first :: List.init (sets - 1) (fun _ -> makeSet ())
    try
        let scalars = Structured.StructuredScalars.For(config, 10)
        let timeLayout (layout: Structured.StructuredLaunch) =
            let plans = all |> List.map (fun t -> backend.PlanStructured(config, t, layout)) |> List.toArray
            try layout, timeRotating backend sets iterations (fun k -> plans[k].Step scalars)
            finally plans |> Array.iter (fun p -> p.Dispose())
        // As measure: a layout that cannot run is reported and left out while tuning, unless it is the only one.
        let tryLayout (layout: Structured.StructuredLaunch) =
            if layouts.Length = 1 then Some(timeLayout layout)
            else
                try Some(timeLayout layout)
                with e ->
                    eprintfn "layout %s of %O failed: %s" layout.Name config e.Message
                    None
        let layout, ms = layouts |> List.choose tryLayout |> List.minBy snd
        let gbps (b: int64) (t: float) = float b / (t * 1e-3) / 1e9
        { Rule = config.RuleInfo.Name; State = StorageFormat.name config.Moment + "/" + StorageFormat.name config.SecondMoment
          Param = StorageFormat.name config.Param; Grad = StorageFormat.name config.Grad; Math = "fp32"; Case = caseName
          Params = tensors |> List.sumBy (fun (n, _, _) -> n); Tensors = tensors.Length; Layout = layout.Name; Ms = ms; Bytes = bytes
          GBps = gbps bytes ms; CopyGBps = copyGBps backend sets iterations bytes; Update = (if config.HasCompensation then "kahan" else "nearest") }
    finally
        all |> List.iter (List.iter (fun t -> t.Buffers |> Seq.iter (fun b -> b.Dispose())))

/// The hyperparameters a benchmarked rule runs with: its defaults, with the momentum or weight decay on where a
/// default would leave a state buffer or a term out (SGD keeps a momentum buffer; decay is on for every rule).
let benchHypers (rule: string) : Hypers =
    match rule with
    | "sgd" -> Map [ "momentum", Real 0.9; "weight_decay", Real 1e-4 ]
    | "rmsprop" -> Map [ "weight_decay", Real 1e-4 ]
    | "adam" -> Map [ "weight_decay", Real 1e-4 ]
    | _ -> Map [ "weight_decay", Real 1e-2 ]

/// One table row.
let row (r: Row) =
    sprintf "%-11s %-18s %-5s %-5s %-5s %-6s %6d %-14s %8.3f %10d %8.0f %8.0f %6.3f %s"
        r.Rule r.State r.Param r.Grad r.Math r.Case r.Tensors r.Layout r.Ms r.Bytes r.GBps r.CopyGBps r.Ratio r.Update

/// The table header matching `row`.
let header =
    sprintf "%-11s %-18s %-5s %-5s %-5s %-6s %6s %-14s %8s %10s %8s %8s %6s %s" "rule" "state" "param" "grad" "math" "case" "tensors" "layout" "ms" "bytes" "GB/s" "copyGB/s" "ratio" "update"

/// The CSV of the rows, with the backend's device on every line.
let csv (device: string) (rows: Row list) =
    let inv (x: float) = x.ToString("R", CultureInfo.InvariantCulture)
    "device,rule,state,param,grad,math,case,params,tensors,layout,ms,bytes,gbps,copy_gbps,ratio,update"
    :: [ for r in rows ->
             String.Join(",", [ "\"" + device + "\""; r.Rule; r.State; r.Param; r.Grad; r.Math; r.Case; string r.Params; string r.Tensors
                                r.Layout; inv r.Ms; string r.Bytes; inv r.GBps; inv r.CopyGBps; inv r.Ratio; r.Update ]) ]

/// An SVG chart of GB/s against parameters (log scale), one line per rule and state, the copy dashed.
let svg (device: string) (rows: Row list) =
    let single = rows |> List.filter (fun r -> r.Tensors = 1)
    let series =
        [ for name, rs in single |> List.groupBy (fun r -> r.Rule + " " + r.State + " " + r.Param + (if r.Update = "nearest" then "" else " " + r.Update)) ->
              ({ Name = name; Points = [ for r in List.sortBy (fun r -> r.Params) rs -> float r.Params, r.GBps ]; Colour = None; Dashed = false }: Chart.Line) ]
    let copy =
        single |> List.groupBy (fun r -> r.Params) |> List.map (fun (n, rs) -> float n, rs |> List.averageBy (fun r -> r.CopyGBps)) |> List.sortBy fst
    Chart.render
        { Chart.Chart.Title = sprintf "s3gd bench: GB/s against parameters, %s" device
          YLabel = "GB/s"
          YFormat = fun y -> y.ToString("F0", CultureInfo.InvariantCulture)
          XLog = true
          XTicks = [ for n in single |> List.map (fun r -> r.Params) |> List.distinct -> float n, showSize n ]
          Series = series @ (if single.IsEmpty then [] else [ ({ Name = "copy (dashed)"; Points = copy; Colour = Some "#000000"; Dashed = true }: Chart.Line) ]) }
