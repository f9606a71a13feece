/// The README's F# example, verbatim inside `train`, compiled and run on the CPU for a few steps.
module S3gd.Properties.Optimizers.ReadmeExampleTests

open System.IO
open Xunit
open S3gd.Gpu
open S3gd.Gpu.Cpu

// ---- README F# example (keep in step with README.md, "API guide") ----
open S3gd.Gpu.Optimizers

let train (backend: Backend) (steps: int) (checkpoint: string) =
    use w = Parameter.Allocate(backend, "fc.weight", [ 256; 784 ])
    use b = Parameter.Allocate(backend, "fc.bias", [ 256 ])
    use opt =
        new AdamW(
            [ ParamGroup([ w ], Schedule = Schedules.LinearWarmup(100, Schedules.Cosine(1e-3, steps)))
              ParamGroup([ b ]).With("weight_decay", 0.0) ],
            lr = 1e-3)
    let grad = Array.create (int w.Length) 0.01f
    for step in 1..steps do
        backend.Upload<float32>(w.Grad, grad) // your backward pass writes w.Grad and b.Grad
        opt.Step()
        opt.ZeroGrad()
        if step % 500 = 0 || step = steps then opt.Save checkpoint
    opt.Load checkpoint // resume: same optimizer type, groups, names, shapes and dtypes
    backend.Download<float32> w.Param
// ---- end of the README example ----

[<Fact>]
let ``the README's F# example compiles and trains`` () =
    use cpu = new CpuBackend()
    let path = Path.Combine(Path.GetTempPath(), sprintf "s3gd-readme-%d.safetensors" (System.Random.Shared.Next()))
    try
        let w = train cpu 3 path
        // Zero-initialised weights move against the positive gradient, by about the warmed-up lr per step.
        Assert.All(w, fun x -> Assert.True(x < 0.0f && x > -1e-3f, sprintf "%g" x))
        Assert.True(File.Exists path)
        Assert.Equal(0, cpu.LiveBuffers)
    finally
        File.Delete path
