/// `s3gd partition` and the structured cases of `s3gd bench`: the GPT-2 partition's blocks, custom shapes, errors naming
/// the bad value, and a CPU bench of StableAdamW and Adam-mini writing its rows.
module S3gd.Properties.Structured.StructuredCliTests

open System.IO
open Xunit
open S3gd.Spec.Rules
open S3gd.Cli

[<Fact>]
let ``the GPT-2 shapes match the bench's lengths and every block length divides its tensor`` () =
    Assert.Equal<int64 list>(Bench.gpt2Lengths, Partition.gpt2 |> List.map (fun (_, s) -> s |> List.fold (fun a d -> a * int64 d) 1L))
    match Partition.rows AdamMiniPartition.Hessian Partition.gpt2Model Partition.gpt2 with
    | Error e -> failwith e
    | Ok rows ->
        for r in rows do
            Assert.Equal(r.Shape |> List.fold (*) 1, r.Blocks * r.Block)
        let row name = rows |> List.find (fun r -> r.Name = name)
        Assert.Equal((AdamMiniPartition.PerRow, 50257, 768), (let r = row "transformer.wte.weight" in r.Kind, r.Blocks, r.Block))
        Assert.Equal((AdamMiniPartition.PerRow, 768, 3072), (let r = row "transformer.h.3.mlp.c_fc.weight" in r.Kind, r.Blocks, r.Block))
        Assert.False((row "transformer.ln_f.bias").Decays)
        let mini = Bench.structuredTensors "adam-mini" "gpt2" Bench.gpt2Lengths
        Assert.Equal<int64 list>(Bench.gpt2Lengths, mini |> List.map (fun (n, _, _) -> n))
        Assert.True(mini |> List.forall (fun (n, b, _) -> b > 0L && n % b = 0L))

[<Fact>]
let ``partition of custom shapes: a query weight in heads, bad shapes and head counts are errors naming them`` () =
    match Partition.rows AdamMiniPartition.Hessian { Dim = 64; NHeads = 4; NKvHeads = 4 } [ "layers.0.wq.weight", [ 64; 64 ]; "norm.weight", [ 64 ] ] with
    | Ok [ q; n ] ->
        Assert.Equal((AdamMiniPartition.PerHead, 4, 1024), (q.Kind, q.Blocks, q.Block))
        Assert.Equal((AdamMiniPartition.Whole, 1, 64, false), (n.Kind, n.Blocks, n.Block, n.Decays))
    | other -> failwithf "unexpected %A" other
    match Partition.rows AdamMiniPartition.Hessian { Dim = 64; NHeads = 4; NKvHeads = 4 } [ "layers.0.wq.weight", [ 10; 10 ] ] with
    | Error e -> Assert.Contains("layers.0.wq.weight", e)
    | Ok rows -> failwithf "100 elements split into heads of 1024: %A" rows
    match Partition.parseParam "w=3xq" with
    | Error e -> Assert.Contains("3xq", e)
    | Ok p -> failwithf "parsed %A" p
    Assert.Equal(Ok("w", [ 3; 4 ]), Partition.parseParam "w=3x4")
    Assert.Equal(2, Program.main [| "partition"; "--n-heads"; "5"; "--n-kv-heads"; "2" |])
    Assert.Equal(2, Program.main [| "partition"; "--partition"; "diagonal" |])
    Assert.Equal(0, Program.main [| "partition"; "--partition"; "reference" |])

[<Fact>]
let ``a CPU bench of the structured rules writes a row per case with both passes' bytes`` () =
    let dir = Path.Combine(Path.GetTempPath(), "s3gd-bench-" + string (System.Guid.NewGuid()))
    try
        let code = Program.main [| "bench"; "--backend"; "cpu"; "--rule"; "stableadamw,adam-mini"; "--sizes"; "8K"; "--no-gpt2"; "--iterations"; "2"; "--out"; dir |]
        Assert.Equal(0, code)
        // An unknown layout, and a CUDA layout on the CPU, are refused before any work.
        Assert.Equal(2, Program.main [| "bench"; "--backend"; "cpu"; "--rule"; "adam-mini"; "--layout"; "s3"; "--out"; dir |])
        Assert.Equal(2, Program.main [| "bench"; "--backend"; "cpu"; "--rule"; "adam-mini"; "--layout"; "s4"; "--out"; dir |])
        let lines = File.ReadAllLines(Path.Combine(dir, "bench.csv"))
        Assert.Equal(3, lines.Length)
        // The device column is quoted and may hold commas: bytes is the fifth column from the end.
        let bytes (line: string) = let cells = line.Split(',') in int64 cells[cells.Length - 5]
        // On the CPU the layout column (seventh from the end) is the CPU's own.
        for line in lines[1..] do Assert.Equal(BenchCommand.cpuLayout (), (line.Split(',') |> Array.rev)[6])
        // StableAdamW: 9 float32 moves per element (reduce: g, v; update: p, m, v twice, g once) + 2 floats for its 2 segments.
        Assert.Equal(9L * 4L * 8192L + 2L * 4L * 2L, bytes lines[1])
        // Adam-mini in 2 rows of 4096, whole groups (one warp reduces and updates each, its second read of g from the
        // cache): 5 moves per element (p, m twice, g) + vmean twice, no partial sums.
        Assert.Equal(5L * 4L * 8192L + 2L * 4L * 2L, bytes lines[2])
    finally
        if Directory.Exists dir then Directory.Delete(dir, true)
