/// The shared conformance checks (S3gd.Conformance) for every backend: the CPU and the kernels' own code on ILGPU's CPU
/// accelerator always, CUDA where available.
module S3gd.Properties.Backends.ConformanceTests

open Xunit
open S3gd.Conformance
open S3gd.Gpu
open S3gd.Gpu.Cpu
open S3gd.Gpu.Cuda
open S3gd.Gpu.IlgpuCpu
open S3gd.Properties.Backends.BackendFacts

/// Cases per property: enough to hit every generator branch, small enough for two cores.
let private maxTest = 25

/// Cases per property on the emulated kernels (ILGPU's CPU accelerator, every thread an OS thread): a few, each of
/// tensors of thousands of elements (`Checks.emulated`), so the whole suite stays within minutes on two cores.
let private emulatedMaxTest = 3

let private cpu = lazy (new CpuBackend() :> Backend)
let private cuda = lazy (new CudaBackend() :> Backend)
let private ilgpuCpu = lazy (new IlgpuCpuBackend() :> Backend)

/// Runs the named check as `s3gd verify` does, from a fresh seed; a failure gives FsCheck's message and the command that
/// replays it.
let private runNamed (backend: Backend) (name: string) =
    let check = Suite.all |> List.find (fun c -> Checks.name c = name)
    Assert.True(check.AppliesTo backend, sprintf "%s does not apply to %O" name backend)
    let cases = if Checks.emulated backend then emulatedMaxTest else maxTest
    let seed = Runner.freshSeed ()
    match Runner.run (Runner.config cases (Some seed)) backend check with
    | Runner.Passed -> ()
    | Runner.Failed message -> failwithf "%s on %O (replay with: %s): %s" name backend (Runner.replayCommand backend cases seed [ check ]) message

/// The names of the checks that apply to the CPU backend.
let cpuChecks () : obj[] seq = Suite.forBackend cpu.Value |> Seq.map (fun c -> [| box (Checks.name c) |])

/// The names of the checks that apply to the ILGPU CPU accelerator backend (all of them).
let ilgpuCpuChecks () : obj[] seq = Suite.forBackend ilgpuCpu.Value |> Seq.map (fun c -> [| box (Checks.name c) |])

/// The names of every check that applies to a CUDA backend (all of them).
let cudaChecks () : obj[] seq = Suite.all |> Seq.map (fun c -> [| box (Checks.name c) |])

[<Theory; MemberData(nameof cpuChecks)>]
let ``CPU backend conformance`` (name: string) = runNamed cpu.Value name

[<Theory; MemberData(nameof ilgpuCpuChecks)>]
let ``ILGPU CPU accelerator conformance`` (name: string) = runNamed ilgpuCpu.Value name

[<CudaTheory; MemberData(nameof cudaChecks)>]
let ``CUDA backend conformance`` (name: string) = runNamed cuda.Value name

[<Fact>]
let ``only the CPU-twin checks and the CUDA-only ones need another backend than the CPU`` () =
    let cpuOnly = Suite.forBackend cpu.Value |> List.map Checks.name
    let missing = Suite.all |> List.map Checks.name |> List.except cpuOnly
    Assert.Equal<string list>(
        [ "CPU twin, bit for bit"; "elementwise CPU twin, bit for bit"; "bf16 param updates: CPU twin, bit for bit"
          "structured CPU twin, bit for bit"; "optimizer checkpoint CPU to GPU and back, bit for bit"
          "optimizer over raw device pointers = over its own buffers, bit for bit"
          "an sm_80 GPU refuses fp8 naming bf16, its kernels step alike"; "muon momentum: CPU twin, bit for bit"
          "adafactor CPU twin, bit for bit" ], missing)
