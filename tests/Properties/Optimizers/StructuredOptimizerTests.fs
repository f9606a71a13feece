/// The structured optimizer classes (StableAdamW, Adam-mini) on the CPU backend: steps equal the structured plan's bit
/// for bit (Adam-mini's blocks cut by name and shape), checkpoints round trip bit for bit (Kahan compensation and
/// per-block vmean included), bad input names itself, and telemetry counts the non-finite gradients and the largest
/// |update|.
module S3gd.Properties.Optimizers.StructuredOptimizerTests

open System
open System.IO
open Xunit
open FsCheck
open FsCheck.FSharp
open FsCheck.Xunit
open S3gd.Spec.Formats
open S3gd.Spec.Rules
open S3gd.Gpu
open S3gd.Gpu.Cpu
open S3gd.Gpu.Elementwise
open S3gd.Gpu.Structured
open S3gd.Gpu.Optimizers
open S3gd.Properties.Cli
open S3gd.Properties.Optimizers.Fixtures

let private rule (name: string) = match Registry.find name with Ok r -> r | Error e -> failwith e

/// Transformer-like names: with dim 8 and 2 heads a query head is 32 elements (wq: 2 blocks), an MLP weight one block
/// per row of 5 (w1: 12 blocks), a norm one block without decay, a vector over one chunk one block.
let private named = [ "layers.0.attn.wq.weight", [ 8; 8 ]; "layers.0.mlp.w1.weight", [ 12; 5 ]; "norm.weight", [ 7 ]; "embed.weight", [ 4099 ] ]

/// The block lengths the default partition (adam_mini.py's; the Hessian-aware one agrees here) gives `named`, and whether each decays.
let private expectedBlocks = [ 32L, true; 5L, true; 7L, false; 4099L, true ]

/// Adam-mini's model sizes for `named`, as group overrides and as the plan's hyperparameters.
let private model = [ "dim", Whole 8; "n_heads", Whole 2 ]

/// A setup: rule, param type, state format, the group's own hyperparameters.
type private Setup = { Rule: string; Param: ElementType; State: StateFormat; Hypers: (string * HyperValue) list }

let private setups =
    [ { Rule = "stableadamw"; Param = ElementType.Float32; State = StateFormat.Fp32; Hypers = [] }
      { Rule = "stableadamw"; Param = ElementType.BFloat16; State = StateFormat.Bf16; Hypers = [ "kahan_sum", Flag true ] }
      { Rule = "stableadamw"; Param = ElementType.Float32; State = StateFormat.Bf16; Hypers = [ "decouple_lr", Flag true; "max_lr", Real 0.01 ] }
      { Rule = "adam-mini"; Param = ElementType.Float32; State = StateFormat.Fp32; Hypers = model @ [ "weight_decay", Real 0.1 ] }
      { Rule = "adam-mini"; Param = ElementType.BFloat16; State = StateFormat.Bf16; Hypers = model }
      { Rule = "adam-mini"; Param = ElementType.Float32; State = StateFormat(Fp8E4M3, true); Hypers = model } ]

/// The second group's learning rate.
let private lr1 = 3e-4

/// Two groups: the first two parameters at the setup's values, the others also at lr1.
let private groups (s: Setup) (ps: Parameter list) =
    let apply (g: ParamGroup) = s.Hypers |> List.fold (fun (g: ParamGroup) (k, v) -> g.With(k, v)) g
    [ apply (ParamGroup(ps[..1], States = [| s.State |])); (apply (ParamGroup(ps[2..], States = [| s.State |]))).With("lr", lr1) ]

[<Property(MaxTest = 20)>]
let ``the API's steps equal the structured plan's bit for bit, Adam-mini's blocks cut by name and shape`` () =
    let property (s: Setup) (steps: int) (seed: int) =
        use cpu = new CpuBackend()
        let psApi = parameters cpu seed s.Param ElementType.Float32 named
        let psPlan = parameters cpu seed s.Param ElementType.Float32 named
        let o = OptimizerCatalog.Create(s.Rule, groups s psApi)
        let config (extra: (string * HyperValue) list) =
            StructuredConfig(rule s.Rule, Map(s.Hypers @ extra), param = ElementTypes.ToFormat s.Param, moment = s.State.Storage,
                             ?secondMoment = (if s.Rule = "stableadamw" then Some s.State.Storage else None))
        let plans =
            [ for cfg, ps, blocks in [ config [], psPlan[..1], expectedBlocks[..1]; config [ "lr", Real lr1 ], psPlan[2..], expectedBlocks[2..] ] ->
                  let tensors =
                      [ for p, (block, decays) in List.zip ps blocks ->
                            let block = if s.Rule = "adam-mini" then block else 0L
                            let struct (m, v, c) = cpu.AllocateStructuredState(cfg, p.Length, block)
                            StructuredTensor(p.Param, p.Grad, m, v, block, (s.Rule <> "adam-mini" || decays), c, cpu.AllocateMomentFallback(cfg, p.Length, block)) ]
                  cfg, tensors, cpu.PlanStructured(cfg, tensors) ]
        for t in 1..steps do
            regrad (seed + t) psApi
            regrad (seed + t) psPlan
            o.Step()
            for cfg, _, plan in plans do plan.Step(StructuredScalars.For(cfg, t))
        let planBytes =
            [ for _, ts, _ in plans do
                  for t in ts ->
                      let fallback = if isNull t.Fallback then [] else [ t.Fallback.Scales; t.Fallback.Pool ]
                      BufferBytes.Read t.Param, [ for b in [ t.Moment; t.SecondMoment; t.Compensation ] @ fallback do if not (isNull b) then BufferBytes.Read b ] ]
        let apiBytes = [ for p in o.Parameters -> BufferBytes.Read p.Param, [ for st in o.State p -> BufferBytes.Read st.Buffer ] ]
        let same = planBytes = apiBytes
        for _, ts, plan in plans do
            plan.Dispose()
            for t in ts do
                for b in [ t.Moment; t.SecondMoment; t.Compensation ] do if not (isNull b) then b.Dispose()
                if not (isNull t.Fallback) then for b in t.Fallback.Buffers do b.Dispose()
        release o psApi
        for p in psPlan do p.Dispose()
        same |> Prop.label (sprintf "%A, %d steps, seed %d" s steps seed)
    let arb = Arb.fromGen (Gen.zip3 (Gen.elements setups) (Gen.choose (1, 3)) (Gen.choose (0, 10000)))
    Prop.forAll arb (fun (s, n, seed) -> property s n seed)

[<Fact>]
let ``the state is named as the references and Adam-mini keeps one vmean per block`` () =
    use cpu = new CpuBackend()
    let ps = parameters cpu 1 ElementType.BFloat16 ElementType.Float32 named
    let stable = new StableAdamW([ ParamGroup ps ], kahanSum = true)
    Assert.Equal<string list>([ "exp_avg"; "exp_avg_sq"; "kahan_comp" ], [ for s in stable.State ps[0] -> s.Name ])
    stable.Dispose()
    let mini = new AdamMini([ ParamGroup ps ], dim = 8, nHeads = 2)
    for p, (block, _) in List.zip ps expectedBlocks do
        Assert.Equal<string list>([ "m"; "vmean" ], [ for s in mini.State p -> s.Name ])
        let state = mini.State p
        Assert.Equal(p.Length / block, state[1].Buffer.Length)
    release mini ps
    // An fp8 first moment also keeps its block words and slots.
    let ps = parameters cpu 1 ElementType.Float32 ElementType.Float32 named
    let fp8 = new AdamMini([ ParamGroup(ps, States = [| StateFormat(Fp8E4M3, true) |]) ], dim = 8, nHeads = 2)
    Assert.Equal<string list>([ "m"; "vmean"; "m.scales"; "m.slots" ], [ for s in fp8.State ps[3] -> s.Name ])
    let st = fp8.State ps[3]
    Assert.Equal(ElementType.Fp8E4M3, st[0].Buffer.ElementType)
    release fp8 ps
    Assert.Equal(0, cpu.LiveBuffers)

[<Property(MaxTest = 20)>]
let ``save, load into a fresh optimizer and continue equals the uninterrupted run bit for bit`` () =
    let property (s: Setup) (k: int) (m: int) (seed: int) =
        use cpu = new CpuBackend()
        resumesExactly (fun sd -> parameters cpu sd s.Param ElementType.Float32 named) (fun ps -> OptimizerCatalog.Create(s.Rule, groups s ps)) k m seed
        |> Prop.label (sprintf "%A after %d+%d steps" s k m)
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

let private throwsNaming (fragments: string list) (f: unit -> obj) =
    let e = Assert.ThrowsAny<ArgumentException>(fun () -> f () |> ignore)
    for fragment in fragments do
        Assert.Contains(fragment, e.Message)

[<Fact>]
let ``bad hyperparameters, formats and shapes are argument errors naming them`` () =
    use cpu = new CpuBackend()
    let ps = parameters cpu 1 ElementType.Float32 ElementType.Float32 named
    let g = [ ParamGroup ps ]
    throwsNaming [ "StableAdamW"; "lr=NaN" ] (fun () -> box (new StableAdamW(g, lr = Double.NaN)))
    throwsNaming [ "AdamMini"; "eps=Infinity" ] (fun () -> box (new AdamMini(g, eps = Double.PositiveInfinity)))
    throwsNaming [ "partition=blocks" ] (fun () -> box (new AdamMini(g, partition = "blocks")))
    throwsNaming [ "n_kv_heads=3"; "n_heads=32" ] (fun () -> box (new AdamMini(g, nKvHeads = 3)))
    // The default dim 2048 with 32 heads makes a 131072-element query head: the 64-element wq is not a multiple.
    throwsNaming [ "layers.0.attn.wq.weight"; "131072" ] (fun () -> box (new AdamMini(g)))
    throwsNaming [ "kahan_sum"; "fp32" ] (fun () -> box (new StableAdamW(g, kahanSum = true)))
    throwsNaming [ "param group 0"; "fp8e4m3" ] (fun () -> box (new StableAdamW([ ParamGroup(ps, States = [| StateFormat.Parse "fp8e4m3" |]) ])))
    throwsNaming [ "param group 0"; "stochastic" ] (fun () -> box (new StableAdamW([ ParamGroup(ps, ParamUpdate = ParamUpdate.Stochastic) ])))
    throwsNaming [ "param group 0"; "bf16" ] (fun () -> box (new AdamMini([ ParamGroup(ps, Math = ElementType.BFloat16) ], dim = 8, nHeads = 2)))
    throwsNaming [ "param group 0"; "fp8e5m2" ] (fun () -> box (new AdamMini([ ParamGroup(ps, States = [| StateFormat.Parse "fp8e5m2" |]) ], dim = 8, nHeads = 2)))
    throwsNaming [ "param group 0"; "fp8e4m3-unscaled" ] (fun () -> box (new AdamMini([ ParamGroup(ps, States = [| StateFormat.Parse "fp8e4m3-unscaled" |]) ], dim = 8, nHeads = 2)))
    throwsNaming [ "secondMoment"; "bf16" ] (fun () -> box (new AdamMini([ ParamGroup(ps, States = [| StateFormat.Fp32; StateFormat.Bf16 |]) ], dim = 8, nHeads = 2)))
    for p in ps do p.Dispose()
    Assert.Equal(0, cpu.LiveBuffers)

/// Sets element `at` of a float32 buffer.
let private poke (b: DeviceBuffer) (at: int) (value: float32) =
    let xs = b.Owner.Download<float32> b
    xs[at] <- value
    b.Owner.Upload<float32>(b, ReadOnlySpan xs)

[<Fact>]
let ``telemetry counts a gradient's NaN and infinity and reports the largest finite |update|, without changing the step`` () =
    for name in [ "stableadamw"; "adam-mini" ] do
        use cpu = new CpuBackend()
        let a = parameters cpu 5 ElementType.Float32 ElementType.Float32 named
        let b = parameters cpu 5 ElementType.Float32 ElementType.Float32 named
        let s = setups |> List.find (fun s -> s.Rule = name && s.Param = ElementType.Float32 && s.State = StateFormat.Fp32)
        let oa = OptimizerCatalog.Create(name, groups s a)
        let ob = OptimizerCatalog.Create(name, groups s b)
        oa.TelemetryEnabled <- true
        oa.Step()
        ob.Step()
        for ps in [ a; b ] do
            poke ps[3].Grad 10 Single.NaN
            poke ps[3].Grad 20 Single.PositiveInfinity
            poke ps[0].Grad 1 Single.NegativeInfinity
        let before = [ for p in a -> cpu.Download<float32> p.Param ]
        oa.Step()
        ob.Step()
        let after = [ for p in a -> cpu.Download<float32> p.Param ]
        let maxFinite (ps: int list) =
            [ for i in ps do
                  for x, y in Array.zip before[i] after[i] do
                      let d = abs (y - x)
                      if not (Single.IsNaN d) then d ]
            |> List.max
        Assert.Equal<int list>([ 0; 1 ], [ for t in oa.Telemetry -> t.Group ])
        let t0, t1 = oa.Telemetry[0], oa.Telemetry[1]
        Assert.Equal(Nullable 1L, t0.NonFiniteGrads)
        Assert.Equal(Nullable 2L, t1.NonFiniteGrads)
        Assert.Equal(Nullable(float (maxFinite [ 0; 1 ])), t0.MaxAbsUpdate)
        Assert.Equal(Nullable(float (maxFinite [ 2; 3 ])), t1.MaxAbsUpdate)
        Assert.Null t0.Fallbacks
        Assert.Equal(2, t0.Step)
        Assert.True((snapshot oa = snapshot ob), sprintf "%s: telemetry changed the step" name)
        // A finite step afterwards counts nothing: the counters are per step.
        regrad 9 a
        oa.Step()
        Assert.All(oa.Telemetry, fun t -> Assert.Equal(Nullable 0L, t.NonFiniteGrads))
        release oa a
        release ob b

[<Fact>]
let ``with an fp8 first moment telemetry counts the blocks that fell back`` () =
    use cpu = new CpuBackend()
    let ps = parameters cpu 5 ElementType.Float32 ElementType.Float32 named
    let o = new AdamMini([ ParamGroup(ps, States = [| StateFormat(Fp8E4M3, true) |]) ], dim = 8, nHeads = 2)
    o.TelemetryEnabled <- true
    o.Step()
    let ordinary = o.Telemetry[0].Fallbacks
    // 1e15 among ordinary gradients: the rest of its 128-element block would flush to zero under its scale.
    poke ps[3].Grad 200 1e15f
    o.Step()
    Assert.True(ordinary.HasValue, "fallbacks unavailable with an fp8 first moment")
    Assert.True(o.Telemetry[0].Fallbacks.Value >= ordinary.Value + 1L, sprintf "fallbacks %A then %A" ordinary o.Telemetry[0].Fallbacks)
    release o ps

[<Fact>]
let ``s3gd soak --optimizer stableadamw and adam-mini end bit-identical`` () =
    use folder = new Temp.Folder()
    for name in [ "stableadamw"; "adam-mini" ] do
        let code = S3gd.Cli.Program.main [| "soak"; "--backend"; "cpu"; "--optimizer"; name; "--steps"; "30"; "--every"; "10"; "--size"; "200"; "--out"; folder.Path |]
        Assert.Equal(0, code)
        Assert.Contains("differences: 0", File.ReadAllText(folder.File "soak.txt"))
