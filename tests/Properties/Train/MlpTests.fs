/// The MLP's hand-written passes (Mlp: CpuMlp, CudaMlp) against the float64 reference (MlpReference), whose own
/// gradient is checked against central finite differences; argument errors name the argument.
module S3gd.Properties.Train.MlpTests

open System
open FsCheck
open FsCheck.FSharp
open Xunit
open S3gd.Gpu
open S3gd.Gpu.Training
open S3gd.Properties.Backends.BackendFacts

/// One generated case: layer widths, the batch's rows, the rows before it in the data set, a seed for the values.
type Case = { Widths: int list; Rows: int; Before: int; Seed: int }

let private cases =
    gen {
        let! inputs = Gen.choose (1, 4)
        let! hidden = Gen.listOf (Gen.choose (1, 24)) |> Gen.resize 2
        let! classes = Gen.choose (2, 5)
        // Up to 300 rows: past the column sums' 256-way split.
        let! rows = Gen.frequency [ 3, Gen.choose (1, 40); 1, Gen.choose (200, 300) ]
        let! before = Gen.choose (0, 5)
        let! seed = Gen.choose (0, 100000)
        return { Widths = inputs :: hidden @ [ classes ]; Rows = rows; Before = before; Seed = seed }
    }

/// A case's data: parameters as float32, inputs and labels for Before + Rows rows.
let private data (c: Case) =
    let shape = MlpShape(List.head c.Widths, c.Widths[1 .. c.Widths.Length - 2], List.last c.Widths)
    let rng = Random c.Seed
    let n = c.Before + c.Rows
    let inputs = Array.init (n * shape.Inputs) (fun _ -> float32 (2.0 * rng.NextDouble() - 1.0))
    let labels = Array.init n (fun _ -> rng.Next shape.Classes)
    shape, shape.Initialize c.Seed, inputs, labels

let private upload (backend: Backend) (values: float32[]) =
    let b = backend.Allocate(ElementType.Float32, values.LongLength)
    backend.Upload<float32>(b, ReadOnlySpan values)
    b

/// The backend's loss and gradients for the case's batch.
let private passes (backend: Backend) (c: Case) =
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
let private reference (c: Case) =
    let _, parameters, inputs, labels = data c
    let f = c.Widths[0]
    MlpReference.run c.Widths (parameters |> Array.map (Array.map float)) (inputs[c.Before * f ..] |> Array.map float) labels[c.Before ..]

/// The rounding bound of a float32 pass, relative to the magnitude (the same sums of absolute values): a float32 sum
/// of n terms errs by at most n*u times it (u = 2^-24; n <= 300 rows or 24 widths here, so 2e-5), each term carries
/// the errors of the layers before it (a few such sums, tanh, exp and log within a few ulps each): 1e-4 leaves room
/// for three layers of that and no more.
let private relativeBound = 1e-4

/// The backend's loss and every gradient element are within the bound of the float64 reference.
let private withinBound (backend: Backend) (c: Case) =
    let loss, grads = passes backend c
    let r = reference c
    let lossOk = abs (float loss - r.Loss) <= relativeBound * (1.0 + r.LogitMagnitude)
    let bad =
        [ for p in 0 .. grads.Length - 1 do
              for e in 0 .. grads[p].Length - 1 do
                  let g, expected, mag = float grads.[p].[e], r.Gradients.[p].[e], r.Magnitudes.[p].[e]
                  if not (abs (g - expected) <= relativeBound * mag) then
                      yield sprintf "parameter %d element %d: %g, reference %g (magnitude %g)" p e g expected mag ]
    (lossOk |> Prop.label (sprintf "loss %g, reference %g" loss r.Loss)) .&. (bad.IsEmpty |> Prop.label (String.Join("; ", List.truncate 5 bad)))

[<Fact>]
let ``CPU passes: loss and gradients within the float32 bound of the float64 reference`` () =
    use backend = Backends.Create BackendKind.Cpu
    Check.One(Config.QuickThrowOnFailure.WithMaxTest 40, Prop.forAll (Arb.fromGen cases) (withinBound backend))

[<CudaFact>]
let ``CUDA passes: loss and gradients within the float32 bound of the float64 reference`` () =
    use backend = Backends.Create BackendKind.Cuda
    Check.One(Config.QuickThrowOnFailure.WithMaxTest 40, Prop.forAll (Arb.fromGen cases) (withinBound backend))

[<Fact>]
let ``the reference's gradient equals central finite differences of its loss`` () =
    let c = { Widths = [ 2; 5; 4; 3 ]; Rows = 7; Before = 0; Seed = 11 }
    let _, parameters, inputs, labels = data c
    let ps = parameters |> Array.map (Array.map float)
    let xs = Array.map float inputs
    let r = MlpReference.run c.Widths ps xs labels
    // Step of the central difference: its truncation error is O(h^2 * L''') ~ 1e-10, rounding ~ 1e-16 / h ~ 1e-11.
    let h = 1e-5
    for p in 0 .. ps.Length - 1 do
        for e in 0 .. ps[p].Length - 1 do
            let at delta =
                let moved = ps |> Array.map Array.copy
                moved[p][e] <- moved[p][e] + delta
                MlpReference.loss c.Widths moved xs labels
            let numeric = (at h - at -h) / (2.0 * h)
            Assert.True(abs (numeric - r.Gradients[p][e]) <= 1e-8, sprintf "parameter %d element %d: analytic %g, numeric %g" p e r.Gradients.[p].[e] numeric)

[<Fact>]
let ``evaluation over the data set gives the loss of one pass over the same rows, and the accuracy of its argmax`` () =
    let c = { Widths = [ 2; 8; 3 ]; Rows = 50; Before = 0; Seed = 5 }
    use backend = Backends.Create BackendKind.Cpu
    let shape, parameters, inputs, labels = data c
    let ps = parameters |> Array.map (upload backend)
    let gs = shape.ParameterLengths |> Seq.map (fun n -> backend.Allocate(ElementType.Float32, n)) |> Array.ofSeq
    let x = upload backend inputs
    let y = upload backend (Array.map float32 labels)
    try
        // Batches of 16: the evaluation runs four slices, the last of 2 rows.
        use small = backend.CreateMlp(shape, 16)
        use whole = backend.CreateMlp(shape, 50)
        let e = small.Evaluate(ps, x, y)
        let loss = whole.ForwardBackward(ps, gs, x, y, 0, 50)
        let r = reference c
        Assert.InRange(e.Loss, float loss - 1e-5, float loss + 1e-5)
        Assert.InRange(e.Loss, r.Loss - 1e-4, r.Loss + 1e-4)
        // The reference's accuracy: the first largest logit per row, from a forward pass of its own.
        let logits (row: int) =
            let mutable a = Array.map float inputs[row * 2 .. row * 2 + 1]
            for l in 0 .. shape.Layers - 1 do
                let fin, fout = shape.Widths[l], shape.Widths[l + 1]
                let w, b = parameters[2 * l], parameters[2 * l + 1]
                a <- Array.init fout (fun o -> (float b[o], [ 0 .. fin - 1 ]) ||> List.fold (fun acc i -> acc + a[i] * float w[o * fin + i]) |> fun z -> if l < shape.Layers - 1 then tanh z else z)
            a
        let correct = [ 0 .. 49 ] |> List.filter (fun row -> let z = logits row in Array.findIndex ((=) (Array.max z)) z = labels[row]) |> List.length
        Assert.Equal(float correct / 50.0, e.Accuracy, 10)
    finally
        Seq.concat [ ps; gs; [| x; y |] ] |> Seq.iter (fun b -> b.Dispose())

[<Fact>]
let ``bad arguments are errors naming the argument and the value`` () =
    use backend = Backends.Create BackendKind.Cpu
    let shape = MlpShape(2, [ 4 ], 3)
    let ps = shape.ParameterLengths |> Seq.map (fun n -> backend.Allocate(ElementType.Float32, n)) |> Array.ofSeq
    let gs = shape.ParameterLengths |> Seq.map (fun n -> backend.Allocate(ElementType.Float32, n)) |> Array.ofSeq
    let x = backend.Allocate(ElementType.Float32, 20L)
    let y = backend.Allocate(ElementType.Float32, 10L)
    try
        use mlp = backend.CreateMlp(shape, 8)
        let tooMany = Assert.Throws<ArgumentOutOfRangeException>(fun () -> mlp.ForwardBackward(ps, gs, x, y, 0, 9) |> ignore)
        Assert.Equal("count", tooMany.ParamName)
        let past = Assert.Throws<ArgumentOutOfRangeException>(fun () -> mlp.ForwardBackward(ps, gs, x, y, 5, 8) |> ignore)
        Assert.Contains("5..12", past.Message)
        let missing = Assert.Throws<ArgumentException>(fun () -> mlp.ForwardBackward(ps[1..], gs, x, y, 0, 4) |> ignore)
        Assert.Contains("3 buffers", missing.Message)
        let swapped = Assert.Throws<ArgumentException>(fun () -> mlp.ForwardBackward(ps, Array.rev gs, x, y, 0, 4) |> ignore)
        Assert.Contains("gradients[0] (0.weight) has 3 elements", swapped.Message)
        let rows = Assert.Throws<ArgumentException>(fun () -> mlp.Evaluate(ps, y, y) |> ignore)
        Assert.Equal("inputs", rows.ParamName)
        Assert.Throws<ArgumentOutOfRangeException>(fun () -> MlpShape(2, [ 4; 0 ], 3) |> ignore) |> ignore
        Assert.Throws<ArgumentOutOfRangeException>(fun () -> backend.CreateMlp(shape, 0) |> ignore) |> ignore
    finally
        Seq.concat [ ps; gs; [| x; y |] ] |> Seq.iter (fun b -> b.Dispose())
