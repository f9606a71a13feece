// What AdamW's square root and two divisions cost the CPU backend by themselves: torch's denominator and quotient
// (sqrt(v) / sqrt(bc2) + eps, then m / denom, each operation rounded once, as the CPU backend computes them) over eight
// Vector256 lanes, for as many elements as `s3gd bench --sizes 16M` steps, on 1 and 2 threads, from arrays that stay in
// the L1 cache (no memory traffic): a floor under the step's time that no loop order or memory layout removes.
// Run: dotnet fsi --optimize+ tools/cpu-divider.fsx
open System
open System.Diagnostics
open System.Runtime.Intrinsics
open System.Threading.Tasks

/// Elements a step covers: `s3gd bench --sizes 16M`.
let elements = 16 * 1024 * 1024

/// Elements of each thread's arrays, re-read until the thread has covered its share: 2048 float32 pairs stay in L1.
let resident = 2048

/// Timed repetitions after the warm-up ones.
let repetitions = 10

let lanes = Vector256<float32>.Count
let v = Array.init resident (fun i -> float32 (i % 1000 + 1))
let m = Array.init resident (fun i -> float32 (i % 777) * 1e-3f)
let sqrtBc2 = Vector256.Create 0.9f
let eps = Vector256.Create 1e-8f

/// One thread's share of the elements: the denominator and the quotient, stored so the work is kept.
let share (count: int) (out: float32[]) =
    for _ in 1 .. count / resident do
        let mutable i = 0
        while i < resident do
            let denom = Vector256.Sqrt(Vector256.LoadUnsafe(&v.[i])) / sqrtBc2 + eps
            (Vector256.LoadUnsafe(&m.[i]) / denom).StoreUnsafe(&out.[i])
            i <- i + lanes

let timeThreads threads =
    let outs = Array.init threads (fun _ -> Array.zeroCreate<float32> resident)
    let run () = Parallel.For(0, threads, fun t -> share (elements / threads) outs.[t]) |> ignore
    for _ in 1 .. 3 do run ()
    let clock = Stopwatch.StartNew()
    for _ in 1 .. repetitions do run ()
    clock.Elapsed.TotalMilliseconds / float repetitions

printfn "%-44s %8s" "AdamW's sqrt + 2 divisions, 16M elements" "ms"
for threads in [ 1; 2 ] do
    printfn "%-44s %8.2f" (sprintf "%d thread(s), operands in L1" threads) (timeThreads threads)
