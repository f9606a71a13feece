/// Parameters with seeded values on a backend, and snapshots of an optimizer's whole state, for the optimizer and
/// checkpoint tests.
module S3gd.Properties.Optimizers.Fixtures

open System
open S3gd.Spec.Formats
open S3gd.Gpu
open S3gd.Gpu.Optimizers

/// Uniform values in [-1, 1) from a seeded stream.
let values (random: Random) (n: int) = Array.init n (fun _ -> float32 (2.0 * random.NextDouble() - 1.0))

/// Writes float32 values into a float32 or bf16 buffer (bf16: rounded to nearest even).
let write (buffer: DeviceBuffer) (xs: float32[]) =
    match buffer.ElementType with
    | ElementType.Float32 -> buffer.Owner.Upload<float32>(buffer, ReadOnlySpan xs)
    | ElementType.BFloat16 -> buffer.Owner.Upload<uint16>(buffer, ReadOnlySpan(Array.map Bf16.encode32 xs))
    | t -> invalidArg "buffer" (sprintf "no float values for %A" t)

/// Parameters of the given shapes on a backend, values and gradients drawn from `seed`.
let parameters (backend: Backend) (seed: int) (param: ElementType) (grad: ElementType) (shapes: (string * int list) list) =
    let random = Random seed
    [ for name, shape in shapes ->
          let p = Parameter.Allocate(backend, name, shape, param, grad)
          write p.Param (values random (int p.Length))
          write p.Grad (values random (int p.Length))
          p ]

/// New gradients for every parameter, drawn from `seed`.
let regrad (seed: int) (ps: Parameter list) =
    let random = Random seed
    for p in ps do write p.Grad (values random (int p.Length))

/// The shapes most tests use: a vector longer than a chunk and not a multiple of the scale block, a matrix, a scalar.
let shapes = [ "embed.weight", [ 4099 ]; "block.0.proj", [ 37; 11 ]; "block.0.scale", [ 1 ] ]

/// Matrices for Muon (2-D parameters only): two of one wide shape (orthogonalised together) and a tall one.
let matrixShapes = [ "block.0.proj", [ 6; 9 ]; "block.1.proj", [ 6; 9 ]; "block.0.qkv", [ 13; 5 ] ]

/// The shapes the catalog-wide tests step optimizer `name` with: `matrixShapes` for Muon, `shapes` for the others.
let shapesFor (name: string) = if name = "muon" then matrixShapes else shapes

/// The catalog's optimizers over fused elementwise rules (every format and parameter update); the others are structured.
let elementwiseNames = OptimizerCatalog.ByName.Keys |> Seq.filter S3gd.Gpu.Elementwise.ElementwiseRules.ByName.ContainsKey |> List.ofSeq

/// Every parameter's bytes, every state buffer's bytes by name, and every step count.
let snapshot (o: Optimizer) =
    [ for p in o.Parameters ->
          p.Name, BufferBytes.Read p.Param, [ for s in o.State p -> s.Name, BufferBytes.Read s.Buffer ], o.StepCount p ]

/// Disposes an optimizer and its parameters.
let release (o: Optimizer) (ps: Parameter list) =
    o.Dispose()
    for p in ps do p.Dispose()

/// Steps `k` times, saves a checkpoint, loads it into a fresh optimizer over parameters drawn from another seed, and
/// steps both `m` more times: whether that equals the uninterrupted run bit for bit, and whether saving the loaded
/// optimizer again writes the same file. `make seed` draws the parameters; `create` builds the optimizer over them.
let resumesExactly (make: int -> Parameter list) (create: Parameter list -> Optimizer) (k: int) (m: int) (seed: int) =
    use folder = new S3gd.Properties.Cli.Temp.Folder()
    let path = folder.File "opt.safetensors"
    let a = make seed
    let b = make seed
    let oa = create a
    let ob = create b
    for t in 1..k do
        regrad (seed + t) a
        regrad (seed + t) b
        oa.Step()
        ob.Step()
    ob.Save path
    let saved = IO.File.ReadAllBytes path
    release ob b
    // Fresh parameters with other values: the checkpoint must bring back the parameters too.
    let c = make (seed + 999)
    let oc = create c
    oc.Load path
    oc.Save(folder.File "again.safetensors")
    let resaved = IO.File.ReadAllBytes(folder.File "again.safetensors")
    for t in k + 1 .. k + m do
        regrad (seed + t) a
        regrad (seed + t) c
        oa.Step()
        oc.Step()
    let same = snapshot oa = snapshot oc
    release oa a
    release oc c
    same && saved = resaved
