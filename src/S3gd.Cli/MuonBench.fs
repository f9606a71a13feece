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

/// Untimed steps before timing.
let warmupSteps = 3

/// Seed of the random gradients (their values do not change the work; random ones keep the iteration non-trivial).
let private seed = 1

/// One measured case.
type Row =
    { Case: string; Matrices: int; Groups: int; NsSteps: int; Params: int64; Ms: float; NsFlops: float }
    /// The Newton–Schulz FLOPs over the step's time, in TFLOP/s.
    member r.Tflops = r.NsFlops / (r.Ms * 1e-3) / 1e12

/// Times Muon (torch's defaults) over matrices of the given shapes: the median step of `iterations` after warm-up.
let measure (backend: Backend) (caseName: string) (shapes: (int * int) list) (iterations: int) : Row =
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
        for _ in 1..warmupSteps do
            plan.Step()
        backend.Synchronize()
        let times = List.init iterations (fun _ -> backend.TimeMilliseconds(fun () -> plan.Step())) |> List.sort
        let ms = if iterations % 2 = 1 then times[iterations / 2] else (times[iterations / 2 - 1] + times[iterations / 2]) / 2.0
        { Case = caseName; Matrices = buffers.Length; Groups = plan.Groups.Count; NsSteps = config.NsSteps
          Params = buffers |> Array.sumBy (fun t -> t.Length); Ms = ms; NsFlops = plan.NsFlopsPerStep }
    finally
        for t in buffers do
            t.Param.Dispose()
            t.Grad.Dispose()
            t.MomentumBuffer.Dispose()

/// The table header matching `row`.
let header = sprintf "%-12s %8s %6s %8s %12s %9s %10s %8s" "case" "matrices" "groups" "ns_steps" "params" "ms" "NS GFLOP" "TFLOP/s"

/// One table row.
let row (r: Row) =
    sprintf "%-12s %8d %6d %8d %12d %9.3f %10.1f %8.1f" r.Case r.Matrices r.Groups r.NsSteps r.Params r.Ms (r.NsFlops / 1e9) r.Tflops

/// muon.csv's lines, with the device on every row.
let csv (device: string) (rows: Row list) =
    let inv (x: float) = x.ToString("R", CultureInfo.InvariantCulture)
    "device,case,matrices,groups,ns_steps,params,ms,ns_flops,tflops"
    :: [ for r in rows ->
             String.Join(",", [ "\"" + device + "\""; r.Case; string r.Matrices; string r.Groups; string r.NsSteps; string r.Params
                                inv r.Ms; inv r.NsFlops; inv r.Tflops ]) ]

/// Runs the GPT-2 case on the backend, prints it and writes muon.csv into `out` when given.
let run (backend: Backend) (iterations: int) (out: string option) =
    printfn "%s" header
    let rows = [ measure backend "gpt2-blocks" gpt2Shapes iterations ]
    rows |> List.iter (row >> printfn "%s")
    out |> Option.iter (fun dir ->
        Directory.CreateDirectory dir |> ignore
        File.WriteAllLines(Path.Combine(dir, "muon.csv"), csv backend.Device rows)
        printfn "wrote %s" (Path.Combine(dir, "muon.csv")))
