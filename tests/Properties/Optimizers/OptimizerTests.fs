/// The public optimizer API on the CPU backend: defaults as the registry's, steps equal to the fused plan's bit for bit,
/// per-parameter and host-span stepping, schedules, argument checks, ZeroGrad and telemetry.
module S3gd.Properties.Optimizers.OptimizerTests

open System
open System.Reflection
open Xunit
open FsCheck
open FsCheck.FSharp
open FsCheck.Xunit
open S3gd.Spec.Rules
open S3gd.Gpu
open S3gd.Gpu.Cpu
open S3gd.Gpu.Elementwise
open S3gd.Gpu.Optimizers
open S3gd.Properties.Optimizers.Fixtures

/// Every optimizer class with its spec rule.
let classes =
    [ typeof<Sgd>, "sgd"; typeof<RmsProp>, "rmsprop"; typeof<Adam>, "adam"; typeof<AdamW>, "adamw"; typeof<SmoothedSignSgd>, "s3gd"
      typeof<Signum>, "signum"; typeof<Lion>, "lion"; typeof<LaProp>, "laprop"; typeof<AdEMAMix>, "ademamix"
      typeof<SimplifiedAdEMAMix>, "sim-ademamix"; typeof<MAdam>, "madam"; typeof<Adamax>, "adamax"
      typeof<NAdam>, "nadam"; typeof<RAdam>, "radam"; typeof<Adagrad>, "adagrad"; typeof<Adadelta>, "adadelta"; typeof<Asgd>, "asgd"; typeof<Rprop>, "rprop"
      typeof<StableAdamW>, "stableadamw"; typeof<AdamMini>, "adam-mini"
      typeof<Muon>, "muon"; typeof<OAdamW>, "oadamw"; typeof<Adafactor>, "adafactor" ]

let private rule (name: string) = match Registry.find name with Ok r -> r | Error e -> failwith e

/// camelCase to torch's snake_case: weightDecay -> weight_decay, scaleLog2 -> scale_log2.
let private snake (name: string) =
    String.Concat(name |> Seq.map (fun c -> if Char.IsUpper c then "_" + string (Char.ToLowerInvariant c) else string c))

[<Fact>]
let ``every class's constructor has the registry's hyperparameters with its defaults`` () =
    for t, name in classes do
        let r = rule name
        let ctor = t.GetConstructors() |> Array.exactlyOne
        let ps = ctor.GetParameters() |> Array.filter (fun p -> p.HasDefaultValue)
        for p in ps do
            let def = r.Hypers |> List.tryFind (fun d -> d.Name = snake p.Name)
            Assert.True(def.IsSome, sprintf "%s: argument %s (%s) is not a hyperparameter of %s" t.Name p.Name (snake p.Name) name)
            let expected =
                match def.Value.Default with
                // Adafactor's eps1 of null is torch's None, the registry's -1.
                | Real v when p.ParameterType = typeof<Nullable<float>> && v = S3gd.Spec.Rules.Adafactor.noneEps1 -> null
                | Real v -> box v
                | Flag b -> box b
                | Whole n -> box n
                | Word w -> box w
            Assert.True(Object.Equals(expected, p.DefaultValue), sprintf "%s.%s defaults to %A, the registry to %A" t.Name p.Name p.DefaultValue expected)
        // Every hyperparameter is an argument, except Signum's shape scaling, which the fused kernel does not compute, and
        // Muon's ns_precision, the spec's exact float64 iteration, which no backend runs.
        let missing = r.Hypers |> List.map (fun d -> d.Name) |> List.filter (fun h -> ps |> Array.forall (fun p -> snake p.Name <> h))
        Assert.True((missing = [] || missing = [ "use_shape_scaling" ] || missing = [ "ns_precision" ]), sprintf "%s lacks %A" t.Name missing)
        use cpu = new CpuBackend()
        // Muon takes 2-D parameters only.
        use p = Parameter.Allocate(cpu, "w", (if name = "muon" then [ 2; 2 ] else [ 2 ]))
        use o = OptimizerCatalog.Create(name, [ ParamGroup [ p ] ])
        Assert.Equal(t, o.GetType())
        Assert.Equal(t.Name, o.TypeName)

/// The formats a rule's optimizer is built with in the properties: param fp32|bf16, state fp32|bf16|block-scaled fp8.
let private formats =
    Gen.elements
        [ ElementType.Float32, [| StateFormat.Fp32 |]
          ElementType.BFloat16, [| StateFormat.Bf16 |]
          ElementType.Float32, [| StateFormat.Parse "fp8e4m3" |]
          ElementType.BFloat16, [| StateFormat.Parse "fp8e5m2" |] ]

[<Property(MaxTest = 40)>]
let ``the API's steps equal the fused plan's bit for bit, with two groups of different learning rates`` () =
    let property (name: string) (paramType: ElementType, states: StateFormat[]) (steps: int) (seed: int) =
        use cpu = new CpuBackend()
        let psApi = parameters cpu seed paramType ElementType.Float32 shapes
        let psPlan = parameters cpu seed paramType ElementType.Float32 shapes
        let lr1 = 3e-4
        let groups (ps: Parameter list) = [ ParamGroup(ps[..1], States = states); ParamGroup([ ps[2] ], States = states).With("lr", lr1) ]
        let o = OptimizerCatalog.Create(name, groups psApi)
        let configs =
            [ ElementwiseConfig(rule name, Map.empty, param = ElementTypes.ToFormat paramType, states = states), psPlan[..1]
              ElementwiseConfig(rule name, Map [ "lr", Real lr1 ], param = ElementTypes.ToFormat paramType, states = states), [ psPlan[2] ] ]
        let tensors =
            [ for config, ps in configs ->
                  config,
                  [ for p in ps ->
                        let struct (s, sc) = cpu.AllocateElementwiseState(config, p.Length)
                        ElementwiseTensor(p.Param, p.Grad, s, sc) ] ]
        for t in 1..steps do
            regrad (seed + t) psApi
            regrad (seed + t) psPlan
            o.Step()
            tensors |> List.iteri (fun g (config, ts) -> cpu.StepElementwise(config, StepScalars.For(config, t, seed = uint32 g), ts))
        let planBytes =
            [ for config, ts in tensors do
                  for t in ts ->
                      BufferBytes.Read t.Param,
                      [ for k in 0..2 do
                            for b in [ t.States[k]; t.Scales[k] ] do
                                if not (isNull b) then BufferBytes.Read b ] ]
        let apiBytes = [ for p in o.Parameters -> BufferBytes.Read p.Param, [ for s in o.State p -> BufferBytes.Read s.Buffer ] ]
        let same = (planBytes = apiBytes) && (o.Parameters |> Seq.forall (fun p -> o.StepCount p = steps))
        for _, ts in tensors do
            for t in ts do
                for s in t.States do if not (isNull s) then s.Dispose()
                for s in t.Scales do if not (isNull s) then s.Dispose()
        release o psApi
        for p in psPlan do p.Dispose()
        same |> Prop.label (sprintf "%s %A %A, %d steps" name paramType states steps)
    let arb =
        Arb.fromGen (
            gen {
                let! name = Gen.elements elementwiseNames
                let! f = formats
                let! steps = Gen.choose (1, 3)
                let! seed = Gen.choose (0, 10000)
                return name, f, steps, seed
            })
    Prop.forAll arb (fun (n, f, s, seed) -> property n f s seed)

[<Fact>]
let ``stepping each parameter alone equals stepping the whole group, bit for bit`` () =
    for name in OptimizerCatalog.ByName.Keys do
        use cpu = new CpuBackend()
        let a = parameters cpu 7 ElementType.Float32 ElementType.Float32 (shapesFor name)
        let b = parameters cpu 7 ElementType.Float32 ElementType.Float32 (shapesFor name)
        let oa = OptimizerCatalog.Create(name, [ ParamGroup a ])
        let ob = OptimizerCatalog.Create(name, [ ParamGroup b ])
        for t in 1..3 do
            regrad t a
            regrad t b
            oa.Step()
            for p in b do ob.Step p
        Assert.True((snapshot oa = snapshot ob), sprintf "%s: Step(parameter) differs from Step()" name)
        release oa a
        release ob b

[<Fact>]
let ``host spans step like the device buffers and come back updated`` () =
    use cpu = new CpuBackend()
    let a = parameters cpu 3 ElementType.Float32 ElementType.Float32 shapes
    let b = parameters cpu 3 ElementType.Float32 ElementType.Float32 shapes
    let oa = new AdamW([ ParamGroup a ], lr = 1e-2)
    let ob = new AdamW([ ParamGroup b ], lr = 1e-2)
    let hostParams = [ for p in b -> cpu.Download<float32> p.Param ]
    for t in 1..2 do
        regrad (10 + t) a
        let grads = [ for p in a -> cpu.Download<float32> p.Grad ]
        oa.Step()
        for p, (host, g) in List.zip b (List.zip hostParams grads) do
            ob.Step(p, Span host, ReadOnlySpan g)
    for p, host in List.zip a hostParams do
        Assert.Equal<float32>(cpu.Download<float32> p.Param, host)
    Assert.True((snapshot oa = snapshot ob))
    let bf = Parameter.Allocate(cpu, "bf", [ 4 ], ElementType.BFloat16)
    let ox = new Sgd([ ParamGroup [ bf ] ])
    let e = Assert.Throws<ArgumentException>(fun () -> ox.Step(bf, Span(Array.zeroCreate<float32> 4), ReadOnlySpan(Array.zeroCreate<float32> 4)))
    Assert.Contains("bf16", e.Message)
    release oa a
    release ob b
    release ox [ bf ]

[<Fact>]
let ``schedules are functions of the step and each group steps at its own`` () =
    let c = Schedules.Constant 0.1
    Assert.Equal(0.1, c.Invoke 1)
    let w = Schedules.LinearWarmup(4, c)
    for expected, s in List.zip [ 0.025; 0.05; 0.075; 0.1; 0.1 ] [ 1..5 ] do
        Assert.Equal(expected, w.Invoke s, 15)
    let cos = Schedules.Cosine(1.0, 10, 0.1)
    Assert.Equal(1.0, cos.Invoke 0)
    Assert.Equal(0.55, cos.Invoke 5, 12)
    Assert.Equal(0.1, cos.Invoke 10, 12)
    Assert.Equal(0.1, cos.Invoke 20, 12)
    Assert.Equal(0.5 * cos.Invoke 2, (Schedules.LinearWarmup(4, cos)).Invoke 2, 15)
    Assert.Throws<ArgumentOutOfRangeException>(fun () -> Schedules.Constant Double.NaN |> ignore) |> ignore
    Assert.Throws<ArgumentOutOfRangeException>(fun () -> Schedules.Cosine(1.0, 0) |> ignore) |> ignore
    use cpu = new CpuBackend()
    // SGD without momentum keeps no state: a scheduled step t equals a fresh optimizer's step at lr = schedule(t).
    let schedule = Schedules.LinearWarmup(3, Schedules.Constant 0.05)
    let a = parameters cpu 5 ElementType.Float32 ElementType.Float32 shapes
    let b = parameters cpu 5 ElementType.Float32 ElementType.Float32 shapes
    let oa = new Sgd([ ParamGroup(a[..1]); ParamGroup([ a[2] ], Schedule = Func<int, float>(fun s -> schedule.Invoke s)) ], lr = 0.2)
    for t in 1..4 do
        regrad (20 + t) a
        regrad (20 + t) b
        oa.Step()
        let ob = new Sgd([ ParamGroup(b[..1]); ParamGroup([ b[2] ]).With("lr", schedule.Invoke t) ], lr = 0.2)
        ob.Step()
        ob.Dispose()
        for pa, pb in List.zip a b do
            Assert.Equal<byte>(BufferBytes.Read pb.Param, BufferBytes.Read pa.Param)
    release oa (a @ b)

let private throwsNaming (fragments: string list) (f: unit -> obj) =
    let e = Assert.ThrowsAny<ArgumentException>(fun () -> f () |> ignore)
    for fragment in fragments do
        Assert.Contains(fragment, e.Message)

[<Fact>]
let ``bad hyperparameters are argument errors naming the argument and the value`` () =
    use cpu = new CpuBackend()
    let ps = parameters cpu 1 ElementType.Float32 ElementType.Float32 shapes
    let g = [ ParamGroup ps ]
    throwsNaming [ "AdamW"; "lr=NaN" ] (fun () -> box (new AdamW(g, lr = Double.NaN)))
    throwsNaming [ "eps=Infinity" ] (fun () -> box (new Adam(g, eps = Double.PositiveInfinity)))
    throwsNaming [ "beta1=1"; "[0, 1)" ] (fun () -> box (new AdamW(g, beta1 = 1.0)))
    throwsNaming [ "weight_decay=-1" ] (fun () -> box (new Sgd(g, weightDecay = -1.0)))
    throwsNaming [ "lr=0"; "> 0" ] (fun () -> box (new Lion(g, lr = 0.0)))
    throwsNaming [ "scale_log2=3" ] (fun () -> box (new MAdam(g, scaleLog2 = 3)))
    throwsNaming [ "nesterov" ] (fun () -> box (new Sgd(g, nesterov = true)))
    throwsNaming [ "param group 0"; "lr=-Infinity" ] (fun () -> box (new RmsProp([ ParamGroup(ps).With("lr", Double.NegativeInfinity) ])))
    throwsNaming [ "unknown hyperparameter 'betas'" ] (fun () -> box (new AdamW([ ParamGroup(ps).With("betas", 0.9) ])))
    throwsNaming [ "param group 0"; "momentum=true" ] (fun () -> box (new Sgd([ ParamGroup(ps).With("momentum", true) ])))
    let e = Assert.ThrowsAny<ArgumentException>(fun () -> new AdamW(g, lr = Double.NaN) |> ignore)
    Assert.Equal("lr", e.ParamName)
    for p in ps do p.Dispose()
    Assert.Equal(0, cpu.LiveBuffers)

[<Fact>]
let ``bad parameters and groups are argument errors naming them`` () =
    use cpu = new CpuBackend()
    throwsNaming [ "'w'"; "dimension 0" ] (fun () -> box (Parameter.Allocate(cpu, "w", [ 3; 0 ])))
    throwsNaming [ "'w'"; "empty" ] (fun () -> box (Parameter.Allocate(cpu, "w", [])))
    throwsNaming [ "'w'"; "null" ] (fun () -> box (Parameter.FromDevicePointers(cpu, "w", [ 4 ], 0n, ElementType.Float32, 16n, ElementType.Float32)))
    throwsNaming [ "'w'"; "CUDA backend" ] (fun () -> box (Parameter.FromDevicePointers(cpu, "w", [ 4 ], 16n, ElementType.Float32, 16n, ElementType.Float32)))
    let p = cpu.Allocate(ElementType.Float32, 6L)
    let g = cpu.Allocate(ElementType.Float32, 5L)
    throwsNaming [ "'w'"; "grad 5" ] (fun () -> box (new Parameter("w", [ 2; 3 ], p, g)))
    throwsNaming [ "at least one parameter" ] (fun () -> box (ParamGroup([])))
    let a = Parameter.Allocate(cpu, "a", [ 3 ])
    let b = Parameter.Allocate(cpu, "a", [ 3 ])
    let c = Parameter.Allocate(cpu, "c", [ 3 ], ElementType.BFloat16)
    throwsNaming [ "named 'a'" ] (fun () -> box (new Sgd([ ParamGroup [ a; b ] ])))
    throwsNaming [ "'a'"; "more than one place" ] (fun () -> box (new Sgd([ ParamGroup [ a ]; ParamGroup [ a ] ])))
    throwsNaming [ "'c'"; "bf16"; "one param and one grad format" ] (fun () -> box (new Sgd([ ParamGroup [ a; c ] ])))
    throwsNaming [ "at least one param group" ] (fun () -> box (new Sgd([])))
    for x in [ p; g ] do x.Dispose()
    for x in [ a; b; c ] do x.Dispose()
    Assert.Equal(0, cpu.LiveBuffers)

[<Fact>]
let ``ZeroGrad zeroes the gradients, Dispose frees the state and a mixed step count steps parameters one by one`` () =
    use cpu = new CpuBackend()
    let ps = parameters cpu 2 ElementType.Float32 ElementType.BFloat16 shapes
    let o = new Adam(ps |> List.map (fun p -> ParamGroup [ p ]) |> List.take 1 |> fun g -> g @ [ ParamGroup ps[1..] ])
    Assert.True(ps |> List.exists (fun p -> BufferBytes.Read p.Grad |> Array.exists ((<>) 0uy)))
    o.ZeroGrad()
    for p in ps do Assert.All(BufferBytes.Read p.Grad, fun b -> Assert.Equal(0uy, b))
    regrad 4 ps
    o.Step ps[1]
    Assert.Equal<int list>([ 0; 1; 0 ], [ for p in ps -> o.StepCount p ])
    o.Step()
    Assert.Equal<int list>([ 1; 2; 1 ], [ for p in ps -> o.StepCount p ])
    o.Step()
    Assert.Equal<int list>([ 2; 3; 2 ], [ for p in ps -> o.StepCount p ])
    let stray = Parameter.Allocate(cpu, "stray", [ 2 ])
    throwsNaming [ "'stray'"; "not one of this Adam's parameters" ] (fun () -> box (o.StepCount stray))
    o.Dispose()
    Assert.Throws<ObjectDisposedException>(fun () -> o.Step()) |> ignore
    Assert.Equal(2 * ps.Length + 2, cpu.LiveBuffers)
    for p in stray :: ps do p.Dispose()
    Assert.Equal(0, cpu.LiveBuffers)

[<Fact>]
let ``telemetry is off by default and, when on, reports each group's time and what its plan does not expose as unavailable`` () =
    use cpu = new CpuBackend()
    let ps = parameters cpu 2 ElementType.Float32 ElementType.Float32 shapes
    let o = new Lion([ ParamGroup(ps[..1]); ParamGroup([ ps[2] ]) ])
    o.Step()
    Assert.Empty o.Telemetry
    o.TelemetryEnabled <- true
    o.Step()
    Assert.Equal<int list>([ 0; 1 ], [ for t in o.Telemetry -> t.Group ])
    for t in o.Telemetry do
        Assert.Equal(2, t.Step)
        Assert.True(t.WallMilliseconds >= 0.0)
        Assert.Null t.MaxAbsUpdate
        Assert.Null t.Fallbacks
        Assert.Contains("max |update| unavailable", t.ToString())
    o.Step ps[0]
    Assert.Equal(1, o.Telemetry.Count)
    release o ps

[<Fact>]
let ``every real hyperparameter of every class rejects NaN and infinities, naming itself and the value`` () =
    use cpu = new CpuBackend()
    use p = Parameter.Allocate(cpu, "w", [ 3 ])
    let groups = [ ParamGroup [ p ] ]
    let mutable tried = 0
    for t, _ in classes do
        let ctor = t.GetConstructors() |> Array.exactlyOne
        let args = ctor.GetParameters()
        for i, a in Array.indexed args do
            if a.ParameterType = typeof<float> then
                for bad in [ Double.NaN; Double.PositiveInfinity; Double.NegativeInfinity ] do
                    let values = args |> Array.mapi (fun j x -> if j = 0 then box groups elif j = i then box bad else x.DefaultValue)
                    let e = Assert.Throws<TargetInvocationException>(fun () -> ctor.Invoke values |> ignore)
                    let inner = Assert.IsAssignableFrom<ArgumentException>(e.InnerException)
                    Assert.Equal(snake a.Name, inner.ParamName)
                    Assert.Contains(sprintf "%s=%s" (snake a.Name) (Hyper.show (Real bad)), inner.Message)
                    tried <- tried + 1
    // 116 real hyperparameters: SGD 4, RMSprop 5, Adam 5, AdamW 5, S3GD 4, Signum 3, Lion 5, LaProp 5, AdEMAMix 7,
    // simplified AdEMAMix 7, MAdam 4, Adamax 5, NAdam 6, RAdam 5, Adagrad 5, Adadelta 4, ASGD 5, Rprop 5, StableAdamW 6,
    // Adam-mini 5, Muon 4, OAdamW 7, Adafactor 5 (its eps1 is nullable); three bad values each.
    Assert.Equal(3 * 116, tried)
