/// The shared conformance checks (S3gd.Conformance) for every backend: the CPU always, CUDA where available.
module S3gd.Properties.Backends.ConformanceTests

open Xunit
open S3gd.Conformance
open S3gd.Gpu
open S3gd.Gpu.Cpu
open S3gd.Gpu.Cuda
open S3gd.Properties.Backends.BackendFacts

/// Cases per property: enough to hit every generator branch, small enough for two cores.
let private maxTest = 25

let private cpu = lazy (new CpuBackend() :> Backend)
let private cuda = lazy (new CudaBackend() :> Backend)

let private runNamed (backend: Backend) (name: string) =
    let check = Suite.all |> List.find (fun c -> Checks.name c = name)
    Assert.True(check.AppliesTo backend, sprintf "%s does not apply to %O" name backend)
    match Runner.run (Runner.config maxTest None) backend check with
    | Runner.Passed -> ()
    | Runner.Failed message -> failwithf "%s on %O: %s" name backend message

/// The names of the checks that apply to the CPU backend.
let cpuChecks () : obj[] seq = Suite.forBackend cpu.Value |> Seq.map (fun c -> [| box (Checks.name c) |])

/// The names of every check that applies to a CUDA backend (all of them).
let cudaChecks () : obj[] seq = Suite.all |> Seq.map (fun c -> [| box (Checks.name c) |])

[<Theory; MemberData(nameof cpuChecks)>]
let ``CPU backend conformance`` (name: string) = runNamed cpu.Value name

[<CudaTheory; MemberData(nameof cudaChecks)>]
let ``CUDA backend conformance`` (name: string) = runNamed cuda.Value name

[<Fact>]
let ``only the CPU-twin checks need a GPU backend`` () =
    let cpuOnly = Suite.forBackend cpu.Value |> List.map Checks.name
    let missing = Suite.all |> List.map Checks.name |> List.except cpuOnly
    Assert.Equal<string list>(
        [ "CPU twin, bit for bit"; "elementwise CPU twin, bit for bit"; "bf16 param updates: CPU twin, bit for bit"
          "structured CPU twin, bit for bit"; "optimizer checkpoint CPU to GPU and back, bit for bit"
          "muon momentum: CPU twin, bit for bit" ], missing)
