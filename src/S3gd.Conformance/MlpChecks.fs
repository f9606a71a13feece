/// The training example's model passes (Backend.CreateMlp) against the float64 reference (MlpReference), written once
/// for every backend: the loss and every gradient element within a float32 rounding bound of the reference's.
module S3gd.Conformance.MlpChecks

open System
open FsCheck
open FsCheck.FSharp
open S3gd.Gpu
open S3gd.Gpu.Training

/// One generated case: layer widths, the batch's rows, the rows before it in the data set, a seed for the values.
type Case = { Widths: int list; Rows: int; Before: int; Seed: int }

/// Cases: 1-4 inputs, up to two hidden layers of 1-24, 2-5 classes, 1-40 rows or 200-300 (past the column sums'
/// 256-way split), the batch 0-5 rows into the data set.
let cases : Gen<Case> =
    gen {
        let! inputs = Gen.choose (1, 4)
        let! hidden = Gen.listOf (Gen.choose (1, 24)) |> Gen.resize 2
        let! classes = Gen.choose (2, 5)
        let! rows = Gen.frequency [ 3, Gen.choose (1, 40); 1, Gen.choose (200, 300) ]
        let! before = Gen.choose (0, 5)
        let! seed = Gen.choose (0, 100000)
        return { Widths = inputs :: hidden @ [ classes ]; Rows = rows; Before = before; Seed = seed }
    }

/// A case's data: the shape, float32 parameters (MlpShape.Initialize), inputs in [-1, 1) and labels for Before + Rows rows.
let data (c: Case) =
    let shape = MlpShape(List.head c.Widths, c.Widths[1 .. c.Widths.Length - 2], List.last c.Widths)
    let rng = Random c.Seed
    let n = c.Before + c.Rows
    let inputs = Array.init (n * shape.Inputs) (fun _ -> float32 (2.0 * rng.NextDouble() - 1.0))
    let labels = Array.init n (fun _ -> rng.Next shape.Classes)
    shape, shape.Initialize c.Seed, inputs, labels

/// A float32 buffer of the backend holding the values.
let upload (backend: Backend) (values: float32[]) =
    let b = backend.Allocate(ElementType.Float32, values.LongLength)
    backend.Upload<float32>(b, ReadOnlySpan values)
    b

/// The backend's loss and gradients for the case's batch.
let passes (backend: Backend) (c: Case) =
    let shape, parameters, inputs, labels = data c
    let ps = parameters |> Array.map (upload backend)
    let gs = shape.ParameterLengths |> Seq.map (fun n -> backend.Allocate(ElementType.Float32, n)) |> Array.ofSeq
    let x = upload backend inputs
    let y = upload backend (Array.map float32 labels)
    try
        use mlp = backend.CreateMlp(shape, c.Rows)
        let loss = mlp.ForwardBackward(ps, gs, x, y, c.Before, c.Rows)
        loss, gs |> Array.map (fun g -> backend.Download<float32> g)
    finally
        Seq.concat [ ps; gs; [| x; y |] ] |> Seq.iter (fun b -> b.Dispose())

/// The reference on the case's batch, in float64 from the same float32 values.
let reference (c: Case) =
    let _, parameters, inputs, labels = data c
    let f = c.Widths[0]
    MlpReference.run c.Widths (parameters |> Array.map (Array.map float)) (inputs[c.Before * f ..] |> Array.map float) labels[c.Before ..]

/// The rounding bound of a float32 pass, relative to the magnitude (the same sums of absolute values): a float32 sum
/// of n terms errs by at most n*u times it (u = 2^-24; n <= 300 rows or 24 widths here, so 2e-5), each term carries
/// the errors of the layers before it (a few such sums, tanh, exp and log within a few ulps each): 1e-4 leaves room
/// for three layers of that and no more.
let relativeBound = 1e-4

/// The backend's loss and every gradient element are within the bound of the float64 reference.
let withinBound (backend: Backend) (c: Case) =
    let loss, grads = passes backend c
    let r = reference c
    let lossOk = abs (float loss - r.Loss) <= relativeBound * (1.0 + r.LogitMagnitude)
    let bad =
        [ for p in 0 .. grads.Length - 1 do
              for e in 0 .. grads[p].Length - 1 do
                  let g, expected, mag = float grads.[p].[e], r.Gradients.[p].[e], r.Magnitudes.[p].[e]
                  if not (abs (g - expected) <= relativeBound * mag) then
                      yield sprintf "parameter %d element %d: %g, reference %g (magnitude %g)" p e g expected mag ]
    (lossOk |> Prop.label (Checks.failureLabel (sprintf "loss %g, reference %g" loss r.Loss) c))
    .&. (bad.IsEmpty |> Prop.label (Checks.failureLabel (String.Join("; ", List.truncate 5 bad)) c))

/// Every check of the model passes.
let all : Checks.Check list =
    [ { Property = "mlp passes: float64 reference within the float32 bound"
        Format = None
        AppliesTo = fun _ -> true
        Run = fun config backend -> Check.One(config, Prop.forAll (Arb.fromGen cases) (withinBound backend)) } ]
