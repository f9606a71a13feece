/// The host side of the structured steps (StableAdamW, Adam-mini): configuration and plan checks with errors naming the
/// argument and value, the layout of groups and segments, the bytes a step moves, telemetry switched off, and a
/// clipped StableAdamW step by hand.
module S3gd.Properties.Structured.StructuredHostTests

open System
open Xunit
open FsCheck
open FsCheck.FSharp
open FsCheck.Xunit
open S3gd.Spec.Formats
open S3gd.Spec.Rules
open S3gd.Gpu
open S3gd.Gpu.Cpu
open S3gd.Gpu.Structured

let private rule (name: string) = match Registry.find name with Ok r -> r | Error e -> failwith e

let private throwsNaming (fragments: string list) (f: unit -> obj) =
    let e = Assert.ThrowsAny<ArgumentException>(fun () -> f () |> ignore)
    for fragment in fragments do
        Assert.Contains(fragment, e.Message)

let private floats (backend: Backend) (xs: float32[]) =
    let b = backend.Allocate(ElementType.Float32, int64 xs.Length)
    backend.Upload<float32>(b, ReadOnlySpan xs)
    b

[<Fact>]
let ``a structured configuration rejects bad input with an error naming the argument and value`` () =
    throwsNaming [ "adamw"; "stableadamw, adam-mini" ] (fun () -> box (StructuredConfig(rule "adamw", Map.empty)))
    throwsNaming [ "param"; "fp8e4m3" ] (fun () -> box (StructuredConfig(rule "stableadamw", Map.empty, param = Fp8E4M3)))
    throwsNaming [ "moment"; "fp8e5m2"; "fp8e4m3" ] (fun () -> box (StructuredConfig(rule "adam-mini", Map.empty, moment = Fp8E5M2)))
    throwsNaming [ "moment"; "fp8e4m3" ] (fun () -> box (StructuredConfig(rule "stableadamw", Map.empty, moment = Fp8E4M3)))
    Assert.True(StructuredConfig(rule "adam-mini", Map.empty, moment = Fp8E4M3).MomentIsFp8)
    throwsNaming [ "secondMoment"; "bf16" ] (fun () -> box (StructuredConfig(rule "adam-mini", Map.empty, secondMoment = Bf16)))
    throwsNaming [ "kahan_sum"; "fp32" ] (fun () -> box (StructuredConfig(rule "stableadamw", Map [ "kahan_sum", Flag true ])))
    throwsNaming [ "lr"; "-1" ] (fun () -> box (StructuredConfig(rule "stableadamw", Map [ "lr", Real -1.0 ])))
    let c = StructuredConfig(rule "stableadamw", Map [ "kahan_sum", Flag true ], param = Bf16)
    Assert.True(c.HasCompensation)
    Assert.Equal(typeof<StableAdamWStep>, c.RuleType)

[<Fact>]
let ``a plan rejects block lengths, lengths and buffers that do not fit, naming them`` () =
    use cpu = new CpuBackend()
    let mini = StructuredConfig(rule "adam-mini", Map.empty)
    throwsNaming [ "blockLength"; "7" ] (fun () -> box (cpu.AllocateStructuredState(mini, 100L, 7L)))
    let p = floats cpu (Array.zeroCreate 100)
    let g = floats cpu (Array.zeroCreate 100)
    let struct (m, v, _) = cpu.AllocateStructuredState(mini, 100L, 10L)
    try
        throwsNaming [ "tensors[0].BlockLength"; "7" ] (fun () -> box (cpu.PlanStructured(mini, [ StructuredTensor(p, g, m, v, 7L) ])))
        throwsNaming [ "tensors[0].SecondMoment"; "vmean"; "20" ] (fun () -> box (cpu.PlanStructured(mini, [ StructuredTensor(p, g, m, v, 5L) ])))
        let stable = StructuredConfig(rule "stableadamw", Map.empty)
        throwsNaming [ "tensors[0].BlockLength"; "10" ] (fun () -> box (cpu.PlanStructured(stable, [ StructuredTensor(p, g, m, m, 10L) ])))
        throwsNaming [ "tensors[0].SecondMoment"; "exp_avg_sq"; "100" ] (fun () -> box (cpu.PlanStructured(stable, [ StructuredTensor(p, g, m, v) ])))
        use plan = cpu.PlanStructured(mini, [ StructuredTensor(p, g, m, v, 10L) ])
        Assert.Throws<InvalidOperationException>(fun () -> plan.ReadTelemetry() |> ignore) |> ignore
        // An fp8 first moment needs its block words and slots, of the right sizes; other moments take none.
        let fp8 = StructuredConfig(rule "adam-mini", Map.empty, moment = Fp8E4M3)
        let struct (m8, v8, _) = cpu.AllocateStructuredState(fp8, 100L, 10L)
        let fallback = cpu.AllocateMomentFallback(fp8, 100L, 10L)
        Assert.Null(cpu.AllocateMomentFallback(mini, 100L, 10L))
        // Ten groups of ten: one block word and one slot (128 bf16) each.
        Assert.Equal(10L, fallback.Scales.Length)
        Assert.Equal(1280L, fallback.Pool.Length)
        try
            throwsNaming [ "tensors[0].Fallback"; "missing" ] (fun () -> box (cpu.PlanStructured(fp8, [ StructuredTensor(p, g, m8, v8, 10L) ])))
            throwsNaming [ "tensors[0].Fallback"; "fp32" ] (fun () -> box (cpu.PlanStructured(mini, [ StructuredTensor(p, g, m, v, 10L, true, null, fallback) ])))
            throwsNaming [ "tensors[0].Fallback.Scales"; "10"; "20" ] (fun () ->
                box (cpu.PlanStructured(fp8, [ StructuredTensor(p, g, m8, cpu.AllocateStructuredState(fp8, 100L, 5L) |> (fun struct (_, v5, _) -> v5), 5L, true, null, fallback) ])))
        finally
            for b in [ m8; v8 ] @ List.ofSeq fallback.Buffers do b.Dispose()
    finally
        for b in [ p; g; m; v ] do b.Dispose()

[<Property(MaxTest = 100)>]
let ``groups cover each tensor in blocks and segments cover each group in order, none longer than a chunk, split groups first`` () =
    let property (pairs: (int * int) list) =
        let tensors = pairs |> List.map (fun (blocks, block) -> int64 (blocks % 5 + 1) * int64 (block % 9000 + 1), int64 (block % 9000 + 1))
        let layout = StructuredLayout(tensors |> List.map fst |> List.toArray, tensors |> List.map snd |> List.toArray)
        let expectedGroups = tensors |> List.sumBy (fun (n, b) -> int (n / b))
        let segmentsCover =
            Seq.init layout.Groups id
            |> Seq.forall (fun q ->
                let first, count = layout.GroupFirstSegment[q], layout.GroupSegments[q]
                let block = snd tensors[layout.GroupTensor[q]]
                let starts = [ for s in first .. first + count - 1 -> layout.SegmentStart[s] ]
                let total = [ for s in first .. first + count - 1 -> int64 layout.SegmentCount[s] ] |> List.sum
                total = block && starts.Head = layout.GroupLocal[q] * block
                && [ for s in first .. first + count - 1 -> layout.SegmentGroup[s] = q && layout.SegmentCount[s] <= StructuredLayout.Chunk ] |> List.forall id)
        // Groups of several segments come first (the GPU's three passes), then groups of one (its fused kernel).
        let splitFirst =
            Seq.init layout.Groups id
            |> Seq.forall (fun q -> (q < layout.SplitGroups) = (layout.GroupSegments[q] > 1)
                                    && (q < layout.SplitGroups) = (layout.GroupFirstSegment[q] < layout.SplitSegments))
        layout.Groups = expectedGroups && segmentsCover && splitFirst
    Prop.forAll (Arb.fromGen (Gen.listOf (Gen.zip (Gen.choose (0, 100)) (Gen.choose (0, 20000))))) property

[<Fact>]
let ``bytes per step count both passes: StableAdamW reads g and v twice`` () =
    use cpu = new CpuBackend()
    let n = 10000
    let config = StructuredConfig(rule "stableadamw", Map.empty)
    let p = floats cpu (Array.zeroCreate n)
    let g = floats cpu (Array.zeroCreate n)
    let struct (m, v, _) = cpu.AllocateStructuredState(config, int64 n)
    try
        use plan = cpu.PlanStructured(config, [ StructuredTensor(p, g, m, v) ])
        // reduce: g, v; update: p, m, v read and written, g read; two float32 per segment (3 segments of 4096).
        Assert.Equal(4L * int64 n * (2L + 7L) + 2L * 4L * 3L, plan.BytesPerStep)
    finally
        for b in [ p; g; m; v ] do b.Dispose()

[<Fact>]
let ``a StableAdamW step with a large RMS clips the learning rate by it, by hand`` () =
    // Step 2 with beta1 = 0, beta2 = 0.5 (debiased: 1/3): v = g1^2, then v' = v/3 + 2*g2^2/3. With g1 = 1e-2 and g2 = 1
    // everywhere, v' = (1e-4 + 2)/3, the RMS is sqrt(1/v') > 1 and lr_t = lr/RMS; m = g2, so p moves by lr_t/(sqrt(v') + eps).
    use cpu = new CpuBackend()
    let n = 5000
    let config = StructuredConfig(rule "stableadamw", Map [ "lr", Real 0.1; "beta1", Real 0.0; "beta2", Real 0.5; "weight_decay", Real 0.0; "eps", Real 1e-8 ])
    let p = floats cpu (Array.zeroCreate n)
    let g = floats cpu (Array.create n 1e-2f)
    let struct (m, v, _) = cpu.AllocateStructuredState(config, int64 n)
    try
        use plan = cpu.PlanStructured(config, [ StructuredTensor(p, g, m, v) ])
        plan.Step(StructuredScalars.For(config, 1))
        let p1 = cpu.Download<float32> p
        cpu.Upload<float32>(g, ReadOnlySpan(Array.create n 1.0f))
        plan.Step(StructuredScalars.For(config, 2))
        let p2 = cpu.Download<float32> p
        let v2 = (1e-4 + 2.0) / 3.0
        let lrT = 0.1 / sqrt (1.0 / v2)
        let expected = float p1[0] - lrT / (sqrt v2 + 1e-8)
        Assert.InRange(float p2[0], expected - 1e-6, expected + 1e-6)
        Assert.All(p2, fun x -> Assert.Equal(p2[0], x))
    finally
        for b in [ p; g; m; v ] do b.Dispose()

[<Fact>]
let ``structured launch layouts parse from their names, reject bad values, and a plan takes one`` () =
    for c in StructuredLaunch.Candidates do
        Assert.Equal(c, StructuredLaunch.Parse c.Name)
    // Each configuration's default layout is one that tune measures: Adam-mini one run per lane (3 blocks an SM with its
    // fp8 moment), StableAdamW two (one with a Kahan compensation).
    let mini = StructuredConfig(rule "adam-mini", Map.empty)
    let miniFp8 = StructuredConfig(rule "adam-mini", Map.empty, moment = Fp8E4M3)
    let stable = StructuredConfig(rule "stableadamw", Map.empty)
    let kahan = StructuredConfig(rule "stableadamw", Map [ "kahan_sum", Flag true ], param = Bf16)
    Assert.Equal(StructuredLaunch(1), StructuredLaunch.For mini)
    Assert.Equal(StructuredLaunch(1, 3), StructuredLaunch.For miniFp8)
    Assert.Equal(StructuredLaunch(2), StructuredLaunch.For stable)
    Assert.Equal(StructuredLaunch(1), StructuredLaunch.For kahan)
    for c in [ mini; miniFp8; stable; kahan ] do
        Assert.Contains(StructuredLaunch.For c, StructuredLaunch.Candidates)
    throwsNaming [ "s3" ] (fun () -> box (StructuredLaunch.Parse "s3"))
    Assert.Throws<ArgumentOutOfRangeException>(fun () -> box (StructuredLaunch(3).Validated())) |> ignore
    use cpu = new CpuBackend()
    let config = StructuredConfig(rule "stableadamw", Map.empty)
    let p, g, m, v = cpu.Allocate(ElementType.Float32, 8L), cpu.Allocate(ElementType.Float32, 8L), cpu.Allocate(ElementType.Float32, 8L), cpu.Allocate(ElementType.Float32, 8L)
    try
        Assert.Throws<ArgumentOutOfRangeException>(fun () -> box (cpu.PlanStructured(config, [ StructuredTensor(p, g, m, v) ], StructuredLaunch(0)))) |> ignore
        use plan = cpu.PlanStructured(config, [ StructuredTensor(p, g, m, v) ], StructuredLaunch(4))
        Assert.Equal(1, plan.Layout.Groups)
    finally
        for b in [ p; g; m; v ] do b.Dispose()
