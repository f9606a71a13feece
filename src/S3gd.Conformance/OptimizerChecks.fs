/// The optimizer API and its checkpoints on a backend: save -> load into a fresh optimizer -> continue equals the
/// uninterrupted run bit for bit; and, on a GPU backend, a CPU checkpoint loads there and back byte for byte and the
/// next step there equals the CPU's bit for bit. `s3gd verify --backend cuda` runs them on the GPU.
module S3gd.Conformance.OptimizerChecks

open System
open System.IO
open FsCheck
open FsCheck.FSharp
open S3gd.Gpu
open S3gd.Gpu.Elementwise
open S3gd.Gpu.Optimizers

/// The formats a case runs with: parameter type, state format, bf16 parameter update.
type Setup = { Param: ElementType; State: StateFormat; Update: ParamUpdate }

/// The setups checked: float32, bf16 with Kahan compensation and block-scaled fp8 state, bf16 with stochastic rounding.
let private setups (backend: Backend) =
    [ { Param = ElementType.Float32; State = StateFormat.Fp32; Update = ParamUpdate.Nearest }
      { Param = ElementType.BFloat16; State = StateFormat.Bf16; Update = ParamUpdate.Stochastic } ]
    @ (if backend.SupportsFp8 then [ { Param = ElementType.BFloat16; State = StateFormat.Parse "fp8e4m3"; Update = ParamUpdate.Kahan } ] else [])

/// The setups a rule's optimizer takes: the structured rules (StableAdamW, Adam-mini, OAdamW) round bf16 parameters to
/// nearest and keep fp32 or bf16 state, so they run float32 and bf16 with bf16 state; Muon and Adafactor take float32 only.
let private setupsOf (backend: Backend) (rule: string) =
    if ElementwiseRules.ByName.ContainsKey rule then setups backend
    elif rule = "muon" || rule = "adafactor" then [ { Param = ElementType.Float32; State = StateFormat.Fp32; Update = ParamUpdate.Nearest } ]
    else
        [ { Param = ElementType.Float32; State = StateFormat.Fp32; Update = ParamUpdate.Nearest }
          { Param = ElementType.BFloat16; State = StateFormat.Bf16; Update = ParamUpdate.Nearest } ]

/// Shapes: a vector over one chunk and not a multiple of the scale block, a matrix, a scalar.
let private shapes = [ "embed.weight", [ 4099 ]; "block.0.proj", [ 37; 11 ]; "block.0.scale", [ 1 ] ]

/// The shapes of a rule's case: Muon takes 2-D parameters only (a wide matrix, a tall one, a 1 x 1), the others `shapes`.
let private shapesOf (rule: string) =
    if rule = "muon" then [ "block.0.fc", [ 11; 37 ]; "block.0.proj", [ 37; 11 ]; "block.0.scale", [ 1; 1 ] ] else shapes

/// Whether a rule's next step on a GPU differs from the CPU's by design: Muon's Newton–Schulz runs in bf16 on the kernel
/// backends and in float32 on the CPU; OAdamW's in float32 on both, its GEMMs summing in another order (cuBLAS, the
/// GEMM kernel) than the CPU's loops (the Muon and OAdamW conformance checks bound those differences).
let private iteratesDifferently (rule: string) = rule = "muon" || rule = "oadamw"

/// Writes seeded values in [-1, 1) into a float32 or bf16 buffer (bf16: the upper half of the float32 bits).
let private fill (random: Random) (buffer: DeviceBuffer) =
    let xs = Array.init (int buffer.Length) (fun _ -> float32 (2.0 * random.NextDouble() - 1.0))
    if buffer.ElementType = ElementType.BFloat16 then
        buffer.Owner.Upload<uint16>(buffer, ReadOnlySpan(xs |> Array.map (fun x -> uint16 (BitConverter.SingleToUInt32Bits x >>> 16))))
    else buffer.Owner.Upload<float32>(buffer, ReadOnlySpan xs)

/// Parameters with seeded values and gradients.
let private parameters (backend: Backend) (rule: string) (setup: Setup) (seed: int) =
    let random = Random seed
    [ for name, shape in shapesOf rule ->
          let p = Parameter.Allocate(backend, name, shape, setup.Param)
          fill random p.Param
          fill random p.Grad
          p ]

/// New seeded gradients.
let private regrad (seed: int) (ps: Parameter list) =
    let random = Random seed
    for p in ps do fill random p.Grad

/// Two groups, the second at its own learning rate.
let private create (rule: string) (setup: Setup) (ps: Parameter list) =
    let group (members: Parameter list) = ParamGroup(members, States = [| setup.State |], ParamUpdate = setup.Update)
    OptimizerCatalog.Create(rule, [ group ps[..1]; (group [ ps[2] ]).With("lr", 1e-4) ])

/// Every parameter's and state buffer's bytes, and every step count.
let private snapshot (o: Optimizer) =
    [ for p in o.Parameters -> p.Name, BufferBytes.Read p.Param, [ for s in o.State p -> s.Name, BufferBytes.Read s.Buffer ], o.StepCount p ]

/// Frees an optimizer and its parameters.
let private release (o: Optimizer) (ps: Parameter list) =
    o.Dispose()
    for p in ps do p.Dispose()

/// A fresh temporary file path, deleted by the caller.
let private tempFile () = Path.Combine(Path.GetTempPath(), sprintf "s3gd-verify-%s.safetensors" (Guid.NewGuid().ToString "N"))

let private cases (backend: Backend) =
    gen {
        let! rule = Gen.elements (OptimizerCatalog.ByName.Keys |> List.ofSeq)
        let! setup = Gen.elements (setupsOf backend rule)
        let! k = Gen.choose (1, 3)
        let! seed = Gen.choose (0, 100000)
        return rule, setup, k, seed
    }

/// Save after k steps, load into a fresh optimizer over fresh parameters, step twice: equals the run that never stopped.
let roundTrip : Checks.Check =
    { Property = "optimizer checkpoint round trip, bit for bit"
      Format = None
      AppliesTo = fun _ -> true
      Run = fun config backend ->
          let property (rule: string, setup: Setup, k: int, seed: int) =
              let path = tempFile ()
              let a = parameters backend rule setup seed
              let oa = create rule setup a
              let b = parameters backend rule setup seed
              let mutable ob = create rule setup b
              let mutable c = b
              try
                  for t in 1..k do
                      regrad (seed + t) a
                      regrad (seed + t) b
                      oa.Step()
                      ob.Step()
                  ob.Save path
                  release ob b
                  c <- parameters backend rule setup (seed + 1)
                  ob <- create rule setup c
                  ob.Load path
                  for t in k + 1 .. k + 2 do
                      regrad (seed + t) a
                      regrad (seed + t) c
                      oa.Step()
                      ob.Step()
                  snapshot oa = snapshot ob |> Prop.label (sprintf "%s %A after %d steps, seed %d" rule setup k seed)
              finally
                  release oa a
                  release ob c
                  File.Delete path
          Check.One(config, Prop.forAll (Arb.fromGen (cases backend)) property) }

/// A CPU checkpoint loads on the backend and back, byte for byte, and the next step there equals the CPU's bit for bit
/// (except where the Newton–Schulz iteration differs by design: `iteratesDifferently`).
let crossBackend : Checks.Check =
    { Property = "optimizer checkpoint CPU to GPU and back, bit for bit"
      Format = None
      AppliesTo = fun backend -> backend.Kind <> BackendKind.Cpu
      Run = fun config backend ->
          use cpu = new Cpu.CpuBackend()
          let property (rule: string, setup: Setup, k: int, seed: int) =
              let paths = [ tempFile (); tempFile (); tempFile () ]
              let a = parameters cpu rule setup seed
              let oa = create rule setup a
              let g = parameters backend rule setup (seed + 1)
              let og = create rule setup g
              let c = parameters cpu rule setup (seed + 2)
              let oc = create rule setup c
              try
                  for t in 1..k do
                      regrad (seed + t) a
                      oa.Step()
                  oa.Save paths[0]
                  og.Load paths[0]
                  og.Save paths[1]
                  oc.Load paths[1]
                  oc.Save paths[2]
                  let files = paths |> List.map File.ReadAllBytes
                  regrad 7 a
                  regrad 7 g
                  oa.Step()
                  og.Step()
                  let sameFiles = files[0] = files[1] && files[1] = files[2]
                  let sameStep = iteratesDifferently rule || snapshot oa = snapshot og
                  (sameFiles && sameStep)
                  |> Prop.label (sprintf "%s %A after %d steps, seed %d: files equal %b, next step equal %b" rule setup k seed sameFiles sameStep)
              finally
                  release oa a
                  release og g
                  release oc c
                  for p in paths do File.Delete p
          Check.One(config, Prop.forAll (Arb.fromGen (cases backend)) property) }

/// Parameters over device memory "another framework" owns: buffers allocated apart (float32 gradients, as
/// Parameter.Allocate's), filled like `parameters`, then wrapped by their raw addresses (Parameter.FromDevicePointers);
/// returns the parameters and the owned buffers.
let private foreignParameters (cuda: Cuda.CudaBackend) (rule: string) (setup: Setup) (seed: int) =
    let random = Random seed
    [ for name, shape in shapesOf rule ->
          let n = shape |> List.fold (*) 1
          let p = cuda.Allocate(setup.Param, int64 n)
          let g = cuda.Allocate(ElementType.Float32, int64 n)
          fill random p
          fill random g
          let pointer (b: DeviceBuffer) = nativeint (b :?> Cuda.CudaBuffer).Pointer
          Parameter.FromDevicePointers(cuda, name, shape, pointer p, setup.Param, pointer g, ElementType.Float32), [ p; g ] ]

/// The optimizer over parameters wrapping another framework's device pointers steps them in place exactly as over its
/// own buffers, ZeroGrad leaves their gradients alone, and disposing it frees none of that memory.
let foreignPointers : Checks.Check =
    { Property = "optimizer over raw device pointers = over its own buffers, bit for bit"
      Format = None
      AppliesTo = fun backend -> backend.Kind = BackendKind.Cuda
      Run = fun config backend ->
          let cuda = backend :?> Cuda.CudaBackend
          let property (rule: string, setup: Setup, k: int, seed: int) =
              let own = parameters backend rule setup seed
              let oOwn = create rule setup own
              let wrapped = foreignParameters cuda rule setup seed
              let foreign = wrapped |> List.map fst
              let buffers = wrapped |> List.collect snd
              let oForeign = create rule setup foreign
              let mutable released = false
              try
                  for t in 1..k do
                      regrad (seed + t) own
                      regrad (seed + t) foreign
                      oOwn.Step()
                      oForeign.Step()
                  let gradsBefore = [ for p in foreign -> BufferBytes.Read p.Grad ]
                  oForeign.ZeroGrad()
                  let gradsKept = gradsBefore = [ for p in foreign -> BufferBytes.Read p.Grad ]
                  let same = snapshot oOwn = snapshot oForeign
                  let expected = [ for p in own -> BufferBytes.Read p.Param ]
                  release oForeign foreign
                  released <- true
                  // The memory is the other framework's: still there, holding the stepped values, after the optimizer is gone.
                  let kept = expected = [ for _, owned in wrapped -> BufferBytes.Read owned.Head ]
                  (same && gradsKept && kept)
                  |> Prop.label (sprintf "%s %A after %d steps, seed %d: steps equal %b, ZeroGrad left the gradients %b, memory kept %b" rule setup k seed same gradsKept kept)
              finally
                  release oOwn own
                  if not released then release oForeign foreign
                  for b in buffers do b.Dispose()
          Check.One(config, Prop.forAll (Arb.fromGen (cases backend)) property) }

/// Every optimizer check.
let all : Checks.Check list = [ roundTrip; crossBackend; foreignPointers ]
