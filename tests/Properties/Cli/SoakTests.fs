/// `s3gd soak` on the CPU, small: the reloaded run equals the uninterrupted one, and the comparison notices a difference.
module S3gd.Properties.Cli.SoakTests

open System.IO
open Xunit
open S3gd.Gpu
open S3gd.Gpu.Cpu
open S3gd.Cli

[<Fact>]
let ``a soak with a reload every 25 steps ends bit-identical, for every optimizer`` () =
    use cpu = new CpuBackend()
    use folder = new Temp.Folder()
    for name in Optimizers.OptimizerCatalog.ByName.Keys do
        let o = Soak.run cpu name 100 25 300 3 (folder.File "soak.safetensors")
        Assert.Empty o.Differences
        Assert.Equal(100, o.Steps)
        Assert.Equal(3, o.Reloads)
        // Every parameter's bytes at least (SGD without momentum keeps no state): 300 + 43 x 7 + 1 float32 values.
        Assert.True(o.BytesCompared >= 4L * 602L, sprintf "%s compared only %d bytes" name o.BytesCompared)
    Assert.Equal(0, cpu.LiveBuffers)

[<Fact>]
let ``the soak command prints its figures and exits 0; a differing buffer is reported`` () =
    use folder = new Temp.Folder()
    let code = Program.main [| "soak"; "--backend"; "cpu"; "--optimizer"; "lion"; "--steps"; "40"; "--every"; "10"; "--size"; "100"; "--out"; folder.Path |]
    Assert.Equal(0, code)
    let summary = File.ReadAllText(folder.File "soak.txt")
    Assert.Contains("steps run: 40", summary)
    Assert.Contains("checkpoint reloads: 3", summary)
    Assert.Contains("differences: 0", summary)
    Assert.Equal(2, Program.main [| "soak"; "--backend"; "cpu"; "--optimizer"; "no-such-rule"; "--out"; folder.Path |])
    Assert.Equal(2, Program.main [| "soak"; "--backend"; "cpu"; "--every"; "0"; "--out"; folder.Path |])
    use cpu = new CpuBackend()
    use a = cpu.Allocate(ElementType.Float32, 3L)
    use b = cpu.Allocate(ElementType.Float32, 3L)
    cpu.Upload<float32>(a, System.ReadOnlySpan [| 1.0f; 2.0f; 3.0f |])
    cpu.Upload<float32>(b, System.ReadOnlySpan [| 1.0f; 2.0f; 3.5f |])
    let bytes, differ = Soak.compareBuffers "x" a b
    Assert.Equal(12L, bytes)
    Assert.Contains("x: first difference at byte 10", differ.Value)

[<Fact>]
let ``a soak with bf16 parameters, Kahan or stochastic updates and fp8 state, reloading across backends, ends bit-identical`` () =
    use cpu = new CpuBackend()
    use other = new CpuBackend()
    use folder = new Temp.Folder()
    for update, state in [ Elementwise.ParamUpdate.Kahan, "fp8e4m3"; Elementwise.ParamUpdate.Stochastic, "fp8e5m2"; Elementwise.ParamUpdate.Nearest, "bf16" ] do
        let formats: Soak.Formats = { Param = ElementType.BFloat16; State = Elementwise.StateFormat.Parse state; Update = update }
        let o = Soak.runWith formats cpu (Some other) "adamw" 60 20 500 5 (folder.File "soak.safetensors") ignore
        Assert.Empty o.Differences
        Assert.Equal(2, o.Reloads)
    Assert.Equal(0, cpu.LiveBuffers + other.LiveBuffers)
