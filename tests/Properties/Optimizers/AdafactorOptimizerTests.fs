/// The Adafactor optimizer class: torch's state names and shapes, a parameter stepped alone equals the group's step bit
/// for bit, ILGPU's CPU accelerator equals the CPU through the class, checkpoints resume exactly, bad input names itself.
module S3gd.Properties.Optimizers.AdafactorOptimizerTests

open System
open Xunit
open S3gd.Gpu
open S3gd.Gpu.Cpu
open S3gd.Gpu.Elementwise
open S3gd.Gpu.IlgpuCpu
open S3gd.Gpu.Optimizers
open S3gd.Properties.Optimizers.Fixtures

/// A batch of two 3 x 4 matrices, a 5 x 2 matrix, a vector longer than a reduction block's threads, a scalar (shape [1]).
let private named = [ "block.0.heads", [ 2; 3; 4 ]; "block.0.proj", [ 5; 2 ]; "embed.weight", [ 300 ]; "block.0.scale", [ 1 ] ]

let private create (ps: Parameter list) =
    new Adafactor([ ParamGroup ps[..1]; (ParamGroup ps[2..]).With("lr", 0.5).With("weight_decay", 0.1) ], beta2Decay = -0.6, eps1 = 1e-3, d = 1.2)

[<Fact>]
let ``the state is torch's: row_var [..., R, 1] and col_var [..., 1, C] for matrices, variance otherwise`` () =
    use cpu = new CpuBackend()
    let ps = parameters cpu 1 ElementType.Float32 ElementType.Float32 named
    let o = create ps
    let state p = [ for s in o.State p -> s.Name, s.Buffer.Length ]
    Assert.Equal<(string * int64) list>([ "row_var", 6L; "col_var", 8L ], state ps[0])
    Assert.Equal<(string * int64) list>([ "row_var", 5L; "col_var", 2L ], state ps[1])
    Assert.Equal<(string * int64) list>([ "variance", 300L ], state ps[2])
    Assert.Equal<(string * int64) list>([ "variance", 1L ], state ps[3])
    release o ps

[<Fact>]
let ``each parameter stepped alone equals the group's step, and the kernels on ILGPU's CPU accelerator the CPU's, bit for bit`` () =
    use cpu = new CpuBackend()
    use ilgpu = new IlgpuCpuBackend()
    let run (backend: Backend) (alone: bool) =
        let ps = parameters backend 3 ElementType.Float32 ElementType.Float32 named
        let o = create ps
        for step in 1 .. 3 do
            regrad (10 + step) ps
            if alone then for p in ps do o.Step p else o.Step()
        let result = snapshot o
        release o ps
        result
    let group = run cpu false
    Assert.True((group = run cpu true), "a parameter stepped alone differs from the group step")
    Assert.True((group = run ilgpu false), "ilgpu-cpu differs from the CPU")

[<Fact>]
let ``a checkpoint resumes exactly`` () =
    use cpu = new CpuBackend()
    Assert.True(resumesExactly (fun sd -> parameters cpu sd ElementType.Float32 ElementType.Float32 named) (fun ps -> create ps) 2 2 5)

[<Fact>]
let ``bf16 parameters and bf16 state are refused, naming the parameter or the states`` () =
    use cpu = new CpuBackend()
    use p = Parameter.Allocate(cpu, "block.0.proj", [ 4; 3 ], ElementType.BFloat16)
    let e = Assert.Throws<ArgumentException>(fun () -> new Adafactor([ ParamGroup [ p ] ]) |> ignore)
    Assert.Contains("'block.0.proj' is bf16", e.Message)
    use q = Parameter.Allocate(cpu, "w", [ 4 ])
    let e = Assert.Throws<ArgumentException>(fun () -> new Adafactor([ ParamGroup([ q ], States = [| StateFormat.Bf16 |]) ]) |> ignore)
    Assert.Contains("States was [bf16]", e.Message)
