/// Optimizer checkpoints: save -> load into a fresh optimizer over fresh parameters -> continue equals the
/// uninterrupted run bit for bit (every rule, param and state formats, Kahan compensation, stochastic rounding);
/// a loaded checkpoint saves back byte for byte; every kind of mismatch is a CheckpointMismatchException naming it,
/// with the optimizer untouched; CPU -> CUDA -> CPU is bit for bit where CUDA runs.
module S3gd.Properties.Checkpoints.CheckpointTests

open System
open System.IO
open Xunit
open FsCheck
open FsCheck.FSharp
open FsCheck.Xunit
open S3gd.Gpu
open S3gd.Gpu.Cpu
open S3gd.Gpu.Elementwise
open S3gd.Gpu.Optimizers
open S3gd.Gpu.Checkpoints
open S3gd.Properties.Cli
open S3gd.Properties.Optimizers.Fixtures
open S3gd.Properties.Backends.BackendFacts

/// The formats of the round-trip property: param type, state formats, bf16 parameter update.
let private setups =
    [ ElementType.Float32, [| StateFormat.Fp32 |], ParamUpdate.Nearest
      ElementType.BFloat16, [| StateFormat.Bf16 |], ParamUpdate.Nearest
      ElementType.Float32, [| StateFormat.Parse "fp8e4m3" |], ParamUpdate.Nearest
      ElementType.BFloat16, [| StateFormat.Fp32 |], ParamUpdate.Kahan
      ElementType.BFloat16, [| StateFormat.Parse "fp8e5m2" |], ParamUpdate.Stochastic ]

let private groups (states: StateFormat[]) (update: ParamUpdate) (ps: Parameter list) =
    [ ParamGroup(ps[..1], States = states, ParamUpdate = update); ParamGroup([ ps[2] ], States = states, ParamUpdate = update).With("lr", 1e-4) ]

[<Property(MaxTest = 40)>]
let ``save, load into a fresh optimizer and continue equals the uninterrupted run bit for bit`` () =
    let property name (paramType, states, update) (k: int) (m: int) (seed: int) =
        use cpu = new CpuBackend()
        resumesExactly (fun sd -> parameters cpu sd paramType ElementType.Float32 shapes)
                       (fun ps -> OptimizerCatalog.Create(name, groups states update ps)) k m seed
        |> Prop.label (sprintf "%s %A %A %A after %d+%d steps" name paramType states update k m)
    let arb =
        Arb.fromGen (
            gen {
                let! name = Gen.elements elementwiseNames
                let! setup = Gen.elements setups
                let! k = Gen.choose (0, 3)
                let! m = Gen.choose (1, 3)
                let! seed = Gen.choose (0, 10000)
                return name, setup, k, m, seed
            })
    Prop.forAll arb (fun (n, s, k, m, seed) -> property n s k m seed)

/// Saves a two-group AdamW checkpoint after two steps; returns its path.
let private saved (cpu: Backend) (folder: Temp.Folder) =
    let ps = parameters cpu 1 ElementType.Float32 ElementType.Float32 shapes
    let o = new AdamW(groups [| StateFormat.Fp32 |] ParamUpdate.Nearest ps)
    o.Step()
    o.Step()
    let path = folder.File "adamw.safetensors"
    o.Save path
    release o ps
    path

/// Loading `path` into `o` must fail with a mismatch naming every fragment, leaving `o` as it was.
let private mismatch (path: string) (fragments: string list) (o: Optimizer) (ps: Parameter list) =
    let before = snapshot o
    let e = Assert.Throws<CheckpointMismatchException>(fun () -> o.Load path)
    for f in fragments do Assert.Contains(f, e.Message)
    Assert.Contains(path, e.Message)
    Assert.True((before = snapshot o), "a failed load changed the optimizer")
    release o ps

[<Fact>]
let ``loading into a mismatched optimizer is an error naming the mismatch, and changes nothing`` () =
    use cpu = new CpuBackend()
    use folder = new Temp.Folder()
    let path = saved cpu folder
    let fresh (shapes': (string * int list) list) (param: ElementType) =
        parameters cpu 3 param ElementType.Float32 shapes'
    let std = groups [| StateFormat.Fp32 |] ParamUpdate.Nearest
    let ps = fresh shapes ElementType.Float32 in mismatch path [ "AdamW"; "this is a Sgd" ] (new Sgd(std ps)) ps
    let ps = fresh shapes ElementType.Float32 in mismatch path [ "2 param group(s)"; "1" ] (new AdamW([ ParamGroup ps ])) ps
    let ps = fresh shapes ElementType.Float32 in mismatch path [ "param group 0 has 2 parameter(s)"; "1 here" ] (new AdamW([ ParamGroup [ ps[0] ]; ParamGroup ps[1..] ])) ps
    let renamed = shapes |> List.mapi (fun i (n, s) -> (if i = 1 then "block.0.other" else n), s)
    let ps = fresh renamed ElementType.Float32 in mismatch path [ "'block.0.proj' in the checkpoint"; "'block.0.other' here" ] (new AdamW(std ps)) ps
    let reshaped = shapes |> List.mapi (fun i (n, s) -> n, (if i = 1 then [ 11; 37 ] else s))
    let ps = fresh reshaped ElementType.Float32 in mismatch path [ "param.block.0.proj"; "[37, 11] in the checkpoint"; "[11, 37] here" ] (new AdamW(std ps)) ps
    let ps = fresh shapes ElementType.BFloat16 in mismatch path [ "param.embed.weight"; "F32 in the checkpoint"; "BF16 here" ] (new AdamW(std ps)) ps
    let ps = fresh shapes ElementType.Float32 in mismatch path [ "param group 0"; "states=fp32,fp32"; "states=bf16,bf16" ] (new AdamW(groups [| StateFormat.Bf16 |] ParamUpdate.Nearest ps)) ps
    let ps = fresh shapes ElementType.Float32 in mismatch path [ "param group 1"; "lr is 0.0001 in the checkpoint, 0.002 here" ] (new AdamW([ ParamGroup(ps[..1]); ParamGroup([ ps[2] ]).With("lr", 0.002) ])) ps
    let ps = fresh shapes ElementType.Float32 in mismatch path [ "amsgrad is false in the checkpoint, true here" ] (new AdamW(std ps, amsgrad = true)) ps
    Assert.Equal(0, cpu.LiveBuffers)

[<Fact>]
let ``a checkpoint without parameters restores the state and step counts and leaves the parameters alone`` () =
    use cpu = new CpuBackend()
    use folder = new Temp.Folder()
    let a = parameters cpu 1 ElementType.Float32 ElementType.Float32 shapes
    let oa = new Lion(groups [| StateFormat.Bf16 |] ParamUpdate.Nearest a)
    oa.Step()
    let path = folder.File "state-only.safetensors"
    oa.Save(path, includeParams = false)
    Assert.DoesNotContain((SafeTensorsReader.Read path).Tensors, fun t -> t.Name.StartsWith "param.")
    let b = parameters cpu 2 ElementType.Float32 ElementType.Float32 shapes
    let values = [ for p in b -> BufferBytes.Read p.Param ]
    let ob = new Lion(groups [| StateFormat.Bf16 |] ParamUpdate.Nearest b)
    ob.Load path
    Assert.Equal<byte[] list>(values, [ for p in b -> BufferBytes.Read p.Param ])
    Assert.Equal<int list>([ 1; 1; 1 ], [ for p in b -> ob.StepCount p ])
    for pa, pb in List.zip a b do
        for sa, sb in Seq.zip (oa.State pa) (ob.State pb) do
            Assert.Equal(sa.Name, sb.Name)
            Assert.Equal<byte>(BufferBytes.Read sa.Buffer, BufferBytes.Read sb.Buffer)
    release oa a
    release ob b

[<CudaFact>]
let ``a CPU checkpoint loads on CUDA and back, bit for bit`` () =
    use folder = new Temp.Folder()
    use cpu = new CpuBackend()
    use cuda = Backends.Create BackendKind.Cuda
    for name in OptimizerCatalog.ByName.Keys do
        let cpuPath, cudaPath, backPath = folder.File "cpu.st", folder.File "cuda.st", folder.File "back.st"
        // The structured rules keep fp32 or bf16 state, Muon and Adafactor fp32.
        let state =
            if List.contains name elementwiseNames then StateFormat.Parse "fp8e4m3"
            elif name = "muon" || name = "adafactor" then StateFormat.Fp32
            else StateFormat.Bf16
        let setup = groups [| state |] ParamUpdate.Nearest
        let a = parameters cpu 4 ElementType.Float32 ElementType.Float32 (shapesFor name)
        let oa = OptimizerCatalog.Create(name, setup a)
        oa.Step()
        oa.Save cpuPath
        let g = parameters cuda 9 ElementType.Float32 ElementType.Float32 (shapesFor name)
        let og = OptimizerCatalog.Create(name, setup g)
        og.Load cpuPath
        og.Save cudaPath
        let c = parameters cpu 5 ElementType.Float32 ElementType.Float32 (shapesFor name)
        let oc = OptimizerCatalog.Create(name, setup c)
        oc.Load cudaPath
        oc.Save backPath
        Assert.Equal<byte>(File.ReadAllBytes cpuPath, File.ReadAllBytes cudaPath)
        Assert.Equal<byte>(File.ReadAllBytes cpuPath, File.ReadAllBytes backPath)
        // And the next step on CUDA equals the CPU's, bit for bit (the kernels' twin); not Muon's or OAdamW's, whose
        // Newton–Schulz runs in bf16 on CUDA and in float32 on the CPU (the Muon conformance checks bound that difference).
        regrad 77 a
        regrad 77 g
        oa.Step()
        og.Step()
        if name <> "muon" && name <> "oadamw" then
            Assert.True((snapshot oa = snapshot og), sprintf "%s: the step after a CUDA load differs from the CPU's" name)
        release oa a
        release og g
        release oc c

/// The file `path` rewritten as format_version 1 wrote it: each E8M0 block scale tensor as the float32 scales of that version.
let private asVersion1 (path: string) (target: string) =
    let content = SafeTensorsReader.Read path
    let meta = Collections.Generic.Dictionary<string, string>(content.Metadata)
    meta["format_version"] <- "1"
    let tensors =
        [ for t in content.Tensors ->
              if t.Dtype = "F8_E8M0" then
                  let scales = t.Data |> Array.map (fun b -> float32 (S3gd.Spec.Formats.E8M0.scale b))
                  SafeTensor(t.Name, "F32", t.Shape, Runtime.InteropServices.MemoryMarshal.AsBytes(ReadOnlySpan scales).ToArray())
              else t ]
    SafeTensorsWriter.Write(target, meta, tensors)

[<Fact>]
let ``a version 1 checkpoint loads unless it holds float32 block scales, which are refused by name`` () =
    use cpu = new CpuBackend()
    use folder = new Temp.Folder()
    for states, loads in [ [| StateFormat.Bf16 |], true; [| StateFormat.Parse "fp8e4m3" |], false ] do
        let a = parameters cpu 1 ElementType.Float32 ElementType.Float32 shapes
        let oa = new AdamW(groups states ParamUpdate.Nearest a)
        oa.Step()
        let path = folder.File "current.safetensors"
        oa.Save path
        Assert.Equal("2", (SafeTensorsReader.Read path).Metadata["format_version"])
        let old = folder.File "version1.safetensors"
        asVersion1 path old
        let b = parameters cpu 2 ElementType.Float32 ElementType.Float32 shapes
        let ob = new AdamW(groups states ParamUpdate.Nearest b)
        if loads then
            ob.Load old
            Assert.Equal<byte[] list>([ for p in a do for s in oa.State p -> BufferBytes.Read s.Buffer ], [ for p in b do for s in ob.State p -> BufferBytes.Read s.Buffer ])
        else
            let before = snapshot ob
            let e = Assert.Throws<CheckpointFormatException>(fun () -> ob.Load old)
            for fragment in [ old; "state.embed.weight.exp_avg.scales"; "float32 block scales of format_version 1"; "E8M0" ] do
                Assert.Contains(fragment, e.Message)
            Assert.DoesNotContain('\n', e.Message)
            Assert.True((before = snapshot ob), "a refused load changed the optimizer")
        release oa a
        release ob b
    Assert.Equal(0, cpu.LiveBuffers)

[<Fact>]
let ``a version 1 OAdamW checkpoint, written before ns_precision existed, loads with its default; a version 2 one without it is refused`` () =
    use cpu = new CpuBackend()
    use folder = new Temp.Folder()
    let a = parameters cpu 1 ElementType.Float32 ElementType.Float32 shapes
    let oa = new OAdamW([ ParamGroup a ])
    oa.Step()
    let path = folder.File "current.safetensors"
    oa.Save path
    // The file as a build before ns_precision wrote it: the hyperparameter absent from the group's hypers.
    let withoutPrecision (version: string) (target: string) =
        let content = SafeTensorsReader.Read path
        let meta = Collections.Generic.Dictionary<string, string>(content.Metadata)
        let hypers = Text.Json.Nodes.JsonNode.Parse(meta["group.0.hypers"]).AsObject()
        Assert.True(hypers.Remove "ns_precision")
        meta["group.0.hypers"] <- hypers.ToJsonString()
        meta["format_version"] <- version
        SafeTensorsWriter.Write(target, meta, content.Tensors)
    let old, current = folder.File "version1.safetensors", folder.File "version2.safetensors"
    withoutPrecision "1" old
    withoutPrecision "2" current
    let b = parameters cpu 2 ElementType.Float32 ElementType.Float32 shapes
    let ob = new OAdamW([ ParamGroup b ])
    ob.Load old
    Assert.Equal<byte[] list>([ for p in a do for s in oa.State p -> BufferBytes.Read s.Buffer ], [ for p in b do for s in ob.State p -> BufferBytes.Read s.Buffer ])
    let e = Assert.Throws<CheckpointFormatException>(fun () -> ob.Load current)
    Assert.Contains("ns_precision", e.Message)
    release oa a
    release ob b
    Assert.Equal(0, cpu.LiveBuffers)
