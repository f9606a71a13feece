/// OAdamW's Newton–Schulz precision on the kernels' own code (ILGPU's CPU accelerator: what CUDA runs, cuBLAS's GEMMs
/// apart): float32 by default, held to the same float32 bound of the spec's float64 iteration as the CPU backend, which
/// the bf16 iteration (on request, within its own bound of the spec's bf16 model) is not; and the optimizer's
/// ns_precision reaches the projection.
module S3gd.Properties.Muon.OAdamWPrecisionTests

open System
open Xunit
open S3gd.Gpu
open S3gd.Gpu.Cpu
open S3gd.Gpu.IlgpuCpu
open S3gd.Gpu.Muon
open S3gd.Gpu.Optimizers
open S3gd.Conformance

let private ilgpu = lazy (new IlgpuCpuBackend() :> Backend)

/// One projection of a rows x cols gradient on a backend.
let private project (backend: Backend) (config: OAdamWMatrixConfig) (rows: int, cols: int) (g: float32[]) : float32[] =
    let grad = Transfer.uploadFloats backend g
    let output = backend.AllocateMuonMomentum(int64 g.Length)
    try
        use plan = backend.PlanOAdamWProjection(config, [| OAdamWProjection(grad, output, rows, cols) |])
        plan.Step 1 |> ignore
        backend.Download<float32> output
    finally
        grad.Dispose()
        output.Dispose()

/// Whether every element of a backend's projection is within the spec's bound (OAdamWChecks.projectionBound) for a configuration.
let private within (backend: Backend) (config: OAdamWMatrixConfig) (rows: int, cols: int) (g: float32[]) (actual: float32[]) =
    let expected, allowed = OAdamWChecks.projectionBound backend (OAdamWChecks.specHyper config) (rows, cols) (Array.map float g)
    Seq.forall (fun i -> abs (float actual[i] - expected[i]) <= allowed i) (Seq.init actual.Length id)

/// A wide and a tall gradient of values in [-1, 1].
let private cases =
    let rnd = Random 11
    [ for rows, cols in [ 24, 40; 40, 24 ] -> (rows, cols), Array.init (rows * cols) (fun _ -> float32 (rnd.NextDouble() * 2.0 - 1.0)) ]

[<Fact>]
let ``the kernels project in float32 by default, within the CPU's float32 bound; bf16 on request is within its own bound only`` () =
    use cpu = new CpuBackend()
    let float32 = OAdamWMatrixConfig()
    let bf16 = OAdamWMatrixConfig(Precision = NsPrecision.BFloat16)
    Assert.Equal(NsPrecision.Float32, float32.Precision)
    for shape, g in cases do
        Assert.True(within ilgpu.Value float32 shape g (project ilgpu.Value float32 shape g), sprintf "%A: float32 outside the float32 bound" shape)
        Assert.True(within cpu float32 shape g (project cpu float32 shape g), sprintf "%A: the CPU outside the float32 bound" shape)
        let rounded = project ilgpu.Value bf16 shape g
        Assert.True(within ilgpu.Value bf16 shape g rounded, sprintf "%A: bf16 outside the bf16 bound" shape)
        Assert.False(within ilgpu.Value float32 shape g rounded, sprintf "%A: bf16 within the float32 bound" shape)

[<Fact>]
let ``the optimizer's ns_precision chooses the kernels' projection: its ns_cache is the plan's, bit for bit`` () =
    let backend = ilgpu.Value
    let shape, g = cases.Head
    for word, precision in [ "float32", NsPrecision.Float32; "bf16", NsPrecision.BFloat16 ] do
        use p = Parameter.Allocate(backend, "w", [ fst shape; snd shape ])
        backend.Upload<float32>(p.Grad, ReadOnlySpan g)
        use o = new OAdamW([ ParamGroup [ p ] ], nsPrecision = word)
        o.Step()
        let cache = o.State p |> Seq.find (fun s -> s.Name = "ns_cache")
        Assert.Equal<float32[]>(project backend (OAdamWMatrixConfig(Precision = precision)) shape g, backend.Download<float32> cache.Buffer)
