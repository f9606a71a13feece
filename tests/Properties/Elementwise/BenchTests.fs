/// `s3gd bench`'s pieces: sizes, the GPT-2-small shapes, and a CPU run writing its CSV and SVG.
module S3gd.Properties.Elementwise.BenchTests

open System.IO
open Xunit
open S3gd.Cli

[<Fact>]
let ``sizes parse with K and M suffixes and bad ones are errors naming them`` () =
    Assert.Equal(Ok(64L <<< 20), Bench.parseSize "64M")
    Assert.Equal(Ok(500L <<< 10), Bench.parseSize "500k")
    Assert.Equal(Ok 1000L, Bench.parseSize "1000")
    match Bench.parseSize "12Q" with
    | Error e -> Assert.Contains("12Q", e)
    | Ok v -> failwithf "12Q parsed as %d" v
    Assert.Equal("64M", Bench.showSize (64L <<< 20))

[<Fact>]
let ``the GPT-2-small case has 148 tensors and 124,439,808 parameters`` () =
    Assert.Equal(148, Bench.gpt2Lengths.Length)
    Assert.Equal(124_439_808L, List.sum Bench.gpt2Lengths)

[<Fact>]
let ``a CPU bench writes a row per case to bench.csv and a chart to bench.svg`` () =
    let dir = Path.Combine(Path.GetTempPath(), "s3gd-bench-" + string (System.Guid.NewGuid()))
    try
        let code = Program.main [| "bench"; "--backend"; "cpu"; "--rule"; "sgd,s3gd"; "--sizes"; "4K,16K"; "--no-gpt2"; "--iterations"; "2"; "--out"; dir |]
        Assert.Equal(0, code)
        let lines = File.ReadAllLines(Path.Combine(dir, "bench.csv"))
        Assert.Equal(5, lines.Length)
        Assert.StartsWith("device,rule,state", lines[0])
        Assert.Contains("<polyline", File.ReadAllText(Path.Combine(dir, "bench.svg")))
    finally
        if Directory.Exists dir then Directory.Delete(dir, true)

[<Fact>]
let ``a CPU bench with Kahan bf16 parameters counts the compensation's 4 bytes per parameter`` () =
    let bytes (update: string) =
        let dir = Path.Combine(Path.GetTempPath(), "s3gd-bench-" + string (System.Guid.NewGuid()))
        try
            let code =
                Program.main [| "bench"; "--backend"; "cpu"; "--rule"; "lion"; "--param-dtype"; "bf16"; "--param-update"; update; "--sizes"; "4K"
                                "--no-gpt2"; "--iterations"; "2"; "--out"; dir |]
            Assert.Equal(0, code)
            let lines = File.ReadAllLines(Path.Combine(dir, "bench.csv"))
            let columns = lines[0].Split ','
            let cells = lines[1].Split ','
            // The quoted device name (the first column) may hold commas: count the other columns from the end.
            let cell name = cells[cells.Length - columns.Length + System.Array.IndexOf(columns, name)]
            Assert.Equal(update, cell "update")
            int64 (cell "bytes")
        finally
            if Directory.Exists dir then Directory.Delete(dir, true)
    Assert.Equal(bytes "nearest" + 4L * 4096L, bytes "kahan")
    Assert.Equal(bytes "nearest", bytes "stochastic")

[<Fact>]
let ``a bench with a bad or inapplicable param update is an error`` () =
    Assert.NotEqual(0, Program.main [| "bench"; "--backend"; "cpu"; "--rule"; "lion"; "--param-update"; "kahan"; "--sizes"; "4K"; "--no-gpt2" |])
    Assert.NotEqual(0, Program.main [| "bench"; "--backend"; "cpu"; "--rule"; "lion"; "--param-dtype"; "bf16"; "--param-update"; "round"; "--sizes"; "4K"; "--no-gpt2" |])
