/// `s3gd bench --rule muon`: Muon's step over the 48 block matrices of GPT-2 small (default settings, 5 Newton–Schulz
/// iterations), the median of CUDA-event-timed steps after warm-up, with the TFLOP/s its Newton–Schulz matrix products
/// achieve over the whole step's time (a lower bound on the GEMMs' own rate); a table and muon.csv, which
/// tools/device/bench_muon.py reads to print torch.optim.Muon beside it.
module S3gd.Cli.MuonBench

open System
open System.Globalization
open System.IO
open S3gd.Gpu
open S3gd.Gpu.Muon

/// The weight matrices of one GPT-2-small block as torch.nn.Linear stores them (out x in): attention qkv and
/// projection, MLP fc and projection.
let gpt2BlockShapes = [ 2304, 768; 768, 768; 3072, 768; 768, 3072 ]

/// Transformer blocks of GPT-2 small.
let gpt2Blocks = 12

/// The 48 block matrices of GPT-2 small.
let gpt2Shapes = List.concat (List.replicate gpt2Blocks gpt2BlockShapes)

/// Untimed steps before timing with a fixed count (module loading, cuBLAS's first calls).
let warmupSteps = 3

/// Timed steps when --iterations is absent, on a GPU.
let defaultIterations = 50

/// How long the CPU's bench may take when --iterations is absent: a GPT-2 step takes some 40 s on two cores, so the
/// default there is what fits in this after one warm-up step (at least the warm-up step itself).
let cpuBudget = TimeSpan.FromMinutes 1.0

/// How many steps are timed: a fixed count after `warmupSteps`, or, after one warm-up step, as many (up to
/// `defaultIterations`) as fit in a time budget with it; when none fits, the warm-up step is the one measured.
type Iterations =
    | Fixed of int
    | Budget of TimeSpan

/// Seed of the random gradients (their values do not change the work; random ones keep the iteration non-trivial).
let private seed = 1

/// One measured case.
type Row =
    { Case: string; Matrices: int; Groups: int; NsSteps: int; Params: int64; Ms: float; NsFlops: float; Timed: int }
    /// The Newton–Schulz FLOPs over the step's time, in TFLOP/s.
    member r.Tflops = r.NsFlops / (r.Ms * 1e-3) / 1e12

/// The timed steps a budget leaves after a warm-up step of `first` milliseconds (0: the warm-up step is the measurement).
let budgetSteps (budget: TimeSpan) (first: float) =
    if first <= 0.0 then defaultIterations else int (min (float defaultIterations) ((budget.TotalMilliseconds - first) / first)) |> max 0

/// Times Muon (torch's defaults) over matrices of the given shapes: the median step after warm-up; `progress` is called
/// after every step with the steps done and the steps in all.
let measureWith (backend: Backend) (caseName: string) (shapes: (int * int) list) (iterations: Iterations) (progress: int -> int -> unit) : Row =
    let random = Random(seed)
    let buffers =
        shapes
        |> List.map (fun (rows, cols) ->
            let n = int64 rows * int64 cols
            let grad = backend.Allocate(ElementType.Float32, n)
            backend.Upload<float32>(grad, ReadOnlySpan(Array.init (int n) (fun _ -> float32 (random.NextDouble() * 2.0 - 1.0))))
            MuonTensor(backend.AllocateMuonMomentum n, grad, backend.AllocateMuonMomentum n, rows, cols))
        |> List.toArray
    try
        let config = MuonConfig()
        use plan = backend.PlanMuon(config, buffers)
        let time () = backend.TimeMilliseconds(fun () -> plan.Step())
        let times =
            match iterations with
            | Fixed n ->
                for k in 1..warmupSteps do
                    plan.Step()
                    progress k (warmupSteps + n)
                backend.Synchronize()
                List.init n (fun k -> let t = time () in progress (warmupSteps + k + 1) (warmupSteps + n); t)
            | Budget budget ->
                let first = time ()
                let n = budgetSteps budget first
                progress 1 (1 + n)
                if n = 0 then [ first ] else List.init n (fun k -> let t = time () in progress (k + 2) (1 + n); t)
            |> List.sort
        let count = times.Length
        let ms = if count % 2 = 1 then times[count / 2] else (times[count / 2 - 1] + times[count / 2]) / 2.0
        { Case = caseName; Matrices = buffers.Length; Groups = plan.Groups.Count; NsSteps = config.NsSteps
          Params = buffers |> Array.sumBy (fun t -> t.Length); Ms = ms; NsFlops = plan.NsFlopsPerStep; Timed = count }
    finally
        for t in buffers do
            t.Param.Dispose()
            t.Grad.Dispose()
            t.MomentumBuffer.Dispose()

/// Times Muon over matrices of the given shapes: `iterations` steps after `warmupSteps`.
let measure (backend: Backend) (caseName: string) (shapes: (int * int) list) (iterations: int) : Row =
    measureWith backend caseName shapes (Fixed iterations) (fun _ _ -> ())

/// The table header matching `row`.
let header = sprintf "%-12s %8s %6s %8s %12s %9s %10s %8s %6s" "case" "matrices" "groups" "ns_steps" "params" "ms" "NS GFLOP" "TFLOP/s" "timed"

/// One table row.
let row (r: Row) =
    sprintf "%-12s %8d %6d %8d %12d %9.3f %10.1f %8.1f %6d" r.Case r.Matrices r.Groups r.NsSteps r.Params r.Ms (r.NsFlops / 1e9) r.Tflops r.Timed

/// muon.csv's lines, with the device on every row.
let csv (device: string) (rows: Row list) =
    let inv (x: float) = x.ToString("R", CultureInfo.InvariantCulture)
    "device,case,matrices,groups,ns_steps,params,ms,ns_flops,tflops,timed"
    :: [ for r in rows ->
             String.Join(",", [ "\"" + device + "\""; r.Case; string r.Matrices; string r.Groups; string r.NsSteps; string r.Params
                                inv r.Ms; inv r.NsFlops; inv r.Tflops; string r.Timed ]) ]

/// The file `run` writes.
let fileName = "muon.csv"

/// Runs the GPT-2 case on the backend with a progress line, prints it and stages muon.csv in `output` when given.
let run (backend: Backend) (iterations: Iterations) (output: OutFolder.Output option) =
    let measured =
        let planned = match iterations with Fixed n -> warmupSteps + n | Budget _ -> 1
        use progress = Progress.start "muon bench" "steps" planned (float planned)
        progress.Start "GPT-2's 48 block matrices"
        measureWith backend "gpt2-blocks" gpt2Shapes iterations (fun _ total ->
            progress.Plan(total, float total)
            progress.Advance(1.0, ""))
    printfn "%s" header
    printfn "%s" (row measured)
    output |> Option.iter (fun o -> File.WriteAllLines(o.Stage fileName, csv backend.Device [ measured ]))
