/// The OAdamW optimizer class on the CPU backend: steps equal the projection plan feeding the StableAdamW structured
/// plan bit for bit (the reuse between recomputations included), checkpoints round trip bit for bit across a reuse
/// (the loaded ns_cache is reused, not recomputed), the state is named as the spec's, and bad input names itself.
module S3gd.Properties.Optimizers.OAdamWOptimizerTests

open System
open Xunit
open FsCheck
open FsCheck.FSharp
open FsCheck.Xunit
open S3gd.Spec.Rules
open S3gd.Gpu
open S3gd.Gpu.Cpu
open S3gd.Gpu.Muon
open S3gd.Gpu.Structured
open S3gd.Gpu.Optimizers
open S3gd.Properties.Cli
open S3gd.Properties.Optimizers.Fixtures

/// Group 0: two wide 6 x 9 matrices (one batch), a vector; group 1: a 3-D tensor (a 2 x 12 matrix) and a tall 13 x 5.
let private named = [ "block.0.proj", [ 6; 9 ]; "block.1.proj", [ 6; 9 ]; "block.0.bias", [ 7 ]; "conv.weight", [ 2; 3; 4 ]; "block.0.qkv", [ 13; 5 ] ]

/// The second group's learning rate.
let private lr1 = 3e-4

/// The optimizer's own values: recomputations every `gap` steps, NS(g) times `scale`.
let private hypers (gap: int) (scale: float) = [ "update_proj_gap", Whole gap; "scale", Real scale; "weight_decay", Real 0.05 ]

let private groups (values: (string * HyperValue) list) (ps: Parameter list) =
    let apply (g: ParamGroup) = values |> List.fold (fun (g: ParamGroup) (k, v) -> g.With(k, v)) g
    [ apply (ParamGroup ps[..2]); (apply (ParamGroup ps[3..])).With("lr", lr1) ]

let private rule (name: string) = match Registry.find name with Ok r -> r | Error e -> failwith e

[<Property(MaxTest = 20)>]
let ``the API's steps equal the projection plan feeding the StableAdamW plan, bit for bit, reuse included`` () =
    let property (gap: int) (scale: float) (steps: int) (seed: int) =
        use cpu = new CpuBackend()
        let psApi = parameters cpu seed ElementType.Float32 ElementType.Float32 named
        let psPlan = parameters cpu seed ElementType.Float32 ElementType.Float32 named
        let values = hypers gap scale
        let o = OptimizerCatalog.Create("oadamw", groups values psApi)
        let matrixConfig = OAdamWMatrixConfig(UpdateProjGap = gap, Scale = scale)
        let caches = ResizeArray<DeviceBuffer>()
        let plans =
            [ for lr, ps in [ 1e-3, psPlan[..2]; lr1, psPlan[3..] ] ->
                  let cfg = StructuredConfig(rule "stableadamw", Map [ "lr", Real lr; "weight_decay", Real 0.05 ])
                  let projections, tensors =
                      [ for p in ps ->
                            let projection =
                                if p.Shape.Count >= 2 then
                                    let cache = cpu.Allocate(ElementType.Float32, p.Length)
                                    caches.Add cache
                                    Some(OAdamWProjection(p.Grad, cache, p.Shape[0], int p.Length / p.Shape[0]))
                                else None
                            let struct (m, v, c) = cpu.AllocateStructuredState(cfg, p.Length)
                            let grad = match projection with Some pr -> pr.Output | None -> p.Grad
                            projection, StructuredTensor(p.Param, grad, m, v, 0L, true, c) ]
                      |> List.unzip
                  cfg, tensors, cpu.PlanOAdamWProjection(matrixConfig, List.choose id projections), cpu.PlanStructured(cfg, tensors) ]
        let recomputed = ResizeArray<bool>()
        for t in 1..steps do
            regrad (seed + t) psApi
            regrad (seed + t) psPlan
            o.Step()
            for cfg, _, projection, plan in plans do
                recomputed.Add(projection.Step t)
                plan.Step(StructuredScalars.For(cfg, t))
        let planBytes = [ for _, ts, _, _ in plans do for t in ts -> BufferBytes.Read t.Param ]
        let apiBytes = [ for p in o.Parameters -> BufferBytes.Read p.Param ]
        let same = planBytes = apiBytes
        for _, ts, projection, plan in plans do
            projection.Dispose()
            plan.Dispose()
            for t in ts do for b in [ t.Moment; t.SecondMoment ] do b.Dispose()
        for c in caches do c.Dispose()
        release o psApi
        for p in psPlan do p.Dispose()
        // With a gap above 1 and more steps than it, the steps in between reused the cache (the test saw both paths).
        let sawReuse = gap = 1 || steps <= gap || recomputed.Contains false
        (same && sawReuse) |> Prop.label (sprintf "gap %d, scale %g, %d steps, seed %d" gap scale steps seed)
    let arb =
        Arb.fromGen (
            gen {
                let! gap = Gen.choose (1, 3)
                let! scale = Gen.elements [ 1.0; 0.5 ]
                let! steps = Gen.choose (1, 5)
                let! seed = Gen.choose (0, 10000)
                return gap, scale, steps, seed
            })
    Prop.forAll arb (fun (g, s, n, seed) -> property g s n seed)

[<Fact>]
let ``the state is StableAdamW's and, for 2-D and larger parameters, the ns_cache`` () =
    use cpu = new CpuBackend()
    let ps = parameters cpu 1 ElementType.Float32 ElementType.Float32 named
    let o = new OAdamW([ ParamGroup ps ], updateProjGap = 2)
    for p in ps do
        let expected = if p.Shape.Count >= 2 then [ "exp_avg"; "exp_avg_sq"; "ns_cache" ] else [ "exp_avg"; "exp_avg_sq" ]
        Assert.Equal<string list>(expected, [ for s in o.State p -> s.Name ])
    release o ps
    Assert.Equal(0, cpu.LiveBuffers)

[<Property(MaxTest = 15)>]
let ``save, load into a fresh optimizer and continue equals the uninterrupted run bit for bit, the loaded ns_cache reused`` () =
    let property (gap: int) (k: int) (m: int) (seed: int) =
        use cpu = new CpuBackend()
        let values = hypers gap 1.0
        resumesExactly (fun sd -> parameters cpu sd ElementType.Float32 ElementType.Float32 named) (fun ps -> OptimizerCatalog.Create("oadamw", groups values ps)) k m seed
        |> Prop.label (sprintf "gap %d after %d+%d steps" gap k m)
    let arb =
        Arb.fromGen (
            gen {
                let! gap = Gen.choose (1, 4)
                let! k = Gen.choose (1, 4)
                let! m = Gen.choose (1, 3)
                let! seed = Gen.choose (0, 10000)
                return gap, k, m, seed
            })
    Prop.forAll arb (fun (g, k, m, seed) -> property g k m seed)

let private throwsNaming (fragments: string list) (f: unit -> obj) =
    let e = Assert.ThrowsAny<ArgumentException>(fun () -> f () |> ignore)
    for fragment in fragments do
        Assert.Contains(fragment, e.Message)

[<Fact>]
let ``bad hyperparameters and gradient formats are argument errors naming them`` () =
    use cpu = new CpuBackend()
    let ps = parameters cpu 1 ElementType.Float32 ElementType.Float32 named
    let g = [ ParamGroup ps ]
    throwsNaming [ "OAdamW"; "scale=NaN" ] (fun () -> box (new OAdamW(g, scale = Double.NaN)))
    throwsNaming [ "OAdamW"; "update_proj_gap=0" ] (fun () -> box (new OAdamW(g, updateProjGap = 0)))
    throwsNaming [ "OAdamW"; "ns_steps=0" ] (fun () -> box (new OAdamW(g, nsSteps = 0)))
    let half = Parameter.Allocate(cpu, "block.9.proj", [ 3; 3 ], ElementType.Float32, ElementType.BFloat16)
    throwsNaming [ "param group 1"; "'block.9.proj'"; "bf16" ] (fun () -> box (new OAdamW([ ParamGroup ps; ParamGroup [ half ] ])))
    throwsNaming [ "kahan_sum"; "fp32" ] (fun () -> box (new OAdamW(g, kahanSum = true)))
    for p in half :: ps do p.Dispose()
    // The failed constructions freed what they had allocated (group 0's state and caches when group 1 was refused).
    Assert.Equal(0, cpu.LiveBuffers)

[<Fact>]
let ``telemetry reports the core's readings: a NaN in a vector's gradient is counted, a matrix's is counted through its projection`` () =
    use cpu = new CpuBackend()
    let ps = parameters cpu 4 ElementType.Float32 ElementType.Float32 named
    let o = new OAdamW([ ParamGroup ps[..2]; ParamGroup ps[3..] ])
    o.TelemetryEnabled <- true
    let poke (b: DeviceBuffer) (at: int) =
        let xs = cpu.Download<float32> b
        xs[at] <- Single.NaN
        cpu.Upload<float32>(b, ReadOnlySpan xs)
    // One NaN in the bias (group 0) reaches the core as it is; one in conv.weight (group 1) makes its whole projection NaN
    // (the Frobenius norm is NaN), all 24 elements.
    poke ps[2].Grad 3
    poke ps[3].Grad 5
    o.Step()
    Assert.Equal<int list>([ 0; 1 ], [ for t in o.Telemetry -> t.Group ])
    Assert.Equal(Nullable 1L, o.Telemetry[0].NonFiniteGrads)
    Assert.Equal(Nullable 24L, o.Telemetry[1].NonFiniteGrads)
    Assert.True(o.Telemetry[0].MaxAbsUpdate.HasValue)
    release o ps
