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
