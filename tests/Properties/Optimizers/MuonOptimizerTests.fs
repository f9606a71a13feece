/// The Muon optimizer class on the CPU backend: steps equal the Muon plan's bit for bit (two groups, same-shape matrices
/// batched), checkpoints round trip bit for bit, the state is torch's momentum_buffer, bad input names itself, and
/// telemetry reports what the plan does not measure as unavailable.
module S3gd.Properties.Optimizers.MuonOptimizerTests

open System
open System.IO
open Xunit
open FsCheck
open FsCheck.FSharp
open FsCheck.Xunit
open S3gd.Spec.Rules
open S3gd.Gpu
open S3gd.Gpu.Cpu
open S3gd.Gpu.Elementwise
open S3gd.Gpu.Optimizers
open S3gd.Properties.Cli
open S3gd.Properties.Optimizers.Fixtures

/// Group 0: two wide 6 x 9 matrices (one batch) and a tall 13 x 5; group 1: a square 4 x 4 and a 1 x 7 row.
let private named = matrixShapes @ [ "block.0.gate", [ 4; 4 ]; "head.weight", [ 1; 7 ] ]

/// A setup: the optimizer's own values (torch's names) and the plan's matching configuration.
type private Setup = { Hypers: (string * HyperValue) list; Config: S3gd.Gpu.Muon.MuonConfig }

let private setups =
    [ { Hypers = []; Config = S3gd.Gpu.Muon.MuonConfig() }
      { Hypers = [ "nesterov", Flag false; "weight_decay", Real 0.0; "momentum", Real 0.9 ]
        Config = S3gd.Gpu.Muon.MuonConfig(Nesterov = false, WeightDecay = 0.0, Momentum = 0.9) }
      { Hypers = [ "adjust_lr_fn", Word "match_rms_adamw"; "ns_steps", Whole 3; "lr", Real 0.02 ]
        Config = S3gd.Gpu.Muon.MuonConfig(AdjustLr = S3gd.Gpu.Muon.MuonLrAdjust.MatchRmsAdamW, NsSteps = 3, Lr = 0.02) }
      // torch's cubic coefficients (1.5, -0.5, 0).
      { Hypers = [ "ns_coefficients", Word "cubic"; "eps", Real 1e-5 ]; Config = S3gd.Gpu.Muon.MuonConfig(A = 1.5, B = -0.5, C = 0.0, Eps = 1e-5) } ]

/// The second group's learning rate.
let private lr1 = 3e-4

let private groups (s: Setup) (ps: Parameter list) =
    let apply (g: ParamGroup) = s.Hypers |> List.fold (fun (g: ParamGroup) (k, v) -> g.With(k, v)) g
    [ apply (ParamGroup ps[..2]); (apply (ParamGroup ps[3..])).With("lr", lr1) ]

[<Property(MaxTest = 20)>]
let ``the API's steps equal the Muon plan's bit for bit, with two groups of different learning rates`` () =
    let property (s: Setup) (steps: int) (seed: int) =
        use cpu = new CpuBackend()
        let psApi = parameters cpu seed ElementType.Float32 ElementType.Float32 named
        let psPlan = parameters cpu seed ElementType.Float32 ElementType.Float32 named
        let o = OptimizerCatalog.Create("muon", groups s psApi)
        let plans =
            [ for lr, ps in [ s.Config.Lr, psPlan[..2]; lr1, psPlan[3..] ] ->
                  let tensors = [ for p in ps -> S3gd.Gpu.Muon.MuonTensor(p.Param, p.Grad, cpu.AllocateMuonMomentum p.Length, p.Shape[0], p.Shape[1]) ]
                  tensors, lr, cpu.PlanMuon(s.Config, tensors) ]
        for t in 1..steps do
            regrad (seed + t) psApi
            regrad (seed + t) psPlan
            o.Step()
            for _, lr, plan in plans do plan.Step lr
        let planBytes = [ for ts, _, _ in plans do for t in ts -> BufferBytes.Read t.Param, [ BufferBytes.Read t.MomentumBuffer ] ]
        let apiBytes = [ for p in o.Parameters -> BufferBytes.Read p.Param, [ for st in o.State p -> BufferBytes.Read st.Buffer ] ]
        // The step moved every parameter (a test of equality between two that never step would pass).
        let moved = [ for p, q in List.zip psApi (parameters cpu seed ElementType.Float32 ElementType.Float32 named) -> BufferBytes.Read p.Param <> BufferBytes.Read q.Param ]
        let same = planBytes = apiBytes
        for ts, _, plan in plans do
            plan.Dispose()
            for t in ts do t.MomentumBuffer.Dispose()
        release o psApi
        for p in psPlan do p.Dispose()
        (same && List.forall id moved) |> Prop.label (sprintf "%A, %d steps, seed %d" s.Hypers steps seed)
    let arb = Arb.fromGen (Gen.zip3 (Gen.elements setups) (Gen.choose (1, 3)) (Gen.choose (0, 10000)))
    Prop.forAll arb (fun (s, n, seed) -> property s n seed)

[<Fact>]
let ``the state is torch's momentum_buffer, float32, one per parameter`` () =
    use cpu = new CpuBackend()
    let ps = parameters cpu 1 ElementType.Float32 ElementType.Float32 named
    let o = new Muon([ ParamGroup ps ])
    for p in ps do
        let state = o.State p
        Assert.Equal<string list>([ "momentum_buffer" ], [ for s in state -> s.Name ])
        Assert.Equal(ElementType.Float32, state[0].Buffer.ElementType)
        Assert.Equal(p.Length, state[0].Buffer.Length)
    Assert.Equal("rule=muon math=fp32 states=fp32", o.Precision 0)
    release o ps
    Assert.Equal(0, cpu.LiveBuffers)

[<Property(MaxTest = 10)>]
let ``save, load into a fresh optimizer and continue equals the uninterrupted run bit for bit`` () =
    let property (s: Setup) (k: int) (m: int) (seed: int) =
        use cpu = new CpuBackend()
        resumesExactly (fun sd -> parameters cpu sd ElementType.Float32 ElementType.Float32 named) (fun ps -> OptimizerCatalog.Create("muon", groups s ps)) k m seed
        |> Prop.label (sprintf "%A after %d+%d steps" s.Hypers k m)
    let arb =
        Arb.fromGen (
            gen {
                let! s = Gen.elements setups
                let! k = Gen.choose (1, 3)
                let! m = Gen.choose (1, 2)
                let! seed = Gen.choose (0, 10000)
                return s, k, m, seed
            })
    Prop.forAll arb (fun (s, k, m, seed) -> property s k m seed)

[<Fact>]
let ``a checkpoint of other hyperparameters or of another optimizer is a clear error`` () =
    use cpu = new CpuBackend()
    use folder = new Temp.Folder()
    let ps = parameters cpu 3 ElementType.Float32 ElementType.Float32 named
    let o = new Muon([ ParamGroup ps ])
    o.Step()
    o.Save(folder.File "muon.safetensors")
    let other = new Muon([ ParamGroup ps ], nsSteps = 3)
    let e = Assert.ThrowsAny<Exception>(fun () -> other.Load(folder.File "muon.safetensors"))
    Assert.Contains("ns_steps", e.Message)
    let adamw = new AdamW([ ParamGroup ps ])
    let e = Assert.ThrowsAny<Exception>(fun () -> adamw.Load(folder.File "muon.safetensors"))
    Assert.Contains("Muon", e.Message)
    adamw.Dispose()
    other.Dispose()
    release o ps

let private throwsNaming (fragments: string list) (f: unit -> obj) =
    let e = Assert.ThrowsAny<ArgumentException>(fun () -> f () |> ignore)
    for fragment in fragments do
        Assert.Contains(fragment, e.Message)

[<Fact>]
let ``bad hyperparameters, formats and shapes are argument errors naming them`` () =
    use cpu = new CpuBackend()
    let ps = parameters cpu 1 ElementType.Float32 ElementType.Float32 named
    let g = [ ParamGroup ps ]
    throwsNaming [ "Muon"; "lr=NaN" ] (fun () -> box (new Muon(g, lr = Double.NaN)))
    throwsNaming [ "Muon"; "momentum=-1" ] (fun () -> box (new Muon(g, momentum = -1.0)))
    throwsNaming [ "ns_steps=100" ] (fun () -> box (new Muon(g, nsSteps = 100)))
    throwsNaming [ "ns_coefficients=septic" ] (fun () -> box (new Muon(g, nsCoefficients = "septic")))
    throwsNaming [ "adjust_lr_fn=rms" ] (fun () -> box (new Muon(g, adjustLrFn = "rms")))
    throwsNaming [ "param group 0"; "ns_precision=float64" ] (fun () -> box (new Muon([ ParamGroup(ps).With("ns_precision", Word "float64") ])))
    let vector = Parameter.Allocate(cpu, "block.0.bias", [ 6 ])
    throwsNaming [ "param group 1"; "2-D"; "'block.0.bias'"; "[6]" ] (fun () -> box (new Muon([ ParamGroup ps; ParamGroup [ vector ] ])))
    let bf16 = Parameter.Allocate(cpu, "block.2.proj", [ 3; 3 ], ElementType.BFloat16)
    throwsNaming [ "'block.2.proj'"; "bf16" ] (fun () -> box (new Muon([ ParamGroup [ bf16 ] ])))
    throwsNaming [ "param group 0"; "momentum_buffer"; "bf16" ] (fun () -> box (new Muon([ ParamGroup(ps, States = [| StateFormat.Bf16 |]) ])))
    throwsNaming [ "param group 0"; "Math"; "bf16" ] (fun () -> box (new Muon([ ParamGroup(ps, Math = ElementType.BFloat16) ])))
    throwsNaming [ "param group 0"; "stochastic" ] (fun () -> box (new Muon([ ParamGroup(ps, ParamUpdate = ParamUpdate.Stochastic) ])))
    for p in vector :: bf16 :: ps do p.Dispose()
    // The failed constructions freed whatever state they had allocated (group 0's momentum when group 1 was refused).
    Assert.Equal(0, cpu.LiveBuffers)

[<Fact>]
let ``a schedule's lr steps like the plan at that lr, and telemetry reports Muon's readings as unavailable`` () =
    use cpu = new CpuBackend()
    let a = parameters cpu 8 ElementType.Float32 ElementType.Float32 named
    let b = parameters cpu 8 ElementType.Float32 ElementType.Float32 named
    let schedule = Schedules.LinearWarmup(3, Schedules.Constant 0.02)
    let o = new Muon([ ParamGroup(a, Schedule = schedule) ])
    o.TelemetryEnabled <- true
    let tensors = [ for p in b -> S3gd.Gpu.Muon.MuonTensor(p.Param, p.Grad, cpu.AllocateMuonMomentum p.Length, p.Shape[0], p.Shape[1]) ]
    let plan = cpu.PlanMuon(S3gd.Gpu.Muon.MuonConfig(), tensors)
    for t in 1..4 do
        regrad t a
        regrad t b
        o.Step()
        plan.Step(schedule.Invoke t)
    Assert.Equal<byte[] list>([ for t in tensors -> BufferBytes.Read t.Param ], [ for p in a -> BufferBytes.Read p.Param ])
    let r = Assert.Single o.Telemetry
    Assert.Equal(4, r.Step)
    Assert.Null r.MaxAbsUpdate
    Assert.Null r.NonFiniteGrads
    Assert.Null r.Fallbacks
    plan.Dispose()
    for t in tensors do t.MomentumBuffer.Dispose()
    release o a
    for p in b do p.Dispose()
    Assert.Equal(0, cpu.LiveBuffers)
