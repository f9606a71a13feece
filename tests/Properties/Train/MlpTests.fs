/// The MLP's hand-written passes beyond the conformance check (MlpChecks, run for every backend by ConformanceTests):
/// the float64 reference's own gradient against central finite differences, evaluation in slices, and argument
/// errors naming the argument.
module S3gd.Properties.Train.MlpTests

open System
open Xunit
open S3gd.Gpu
open S3gd.Gpu.Training
open S3gd.Conformance
open S3gd.Conformance.MlpChecks

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
        let uneven = Assert.Throws<ArgumentException>(fun () -> Dataset([| 1.0f; 2.0f; 3.0f |], [| 0.0f |], 2) |> ignore)
        Assert.Contains("inputs has 3 values; 1 rows of 2 features need 2", uneven.Message)
        Assert.Throws<ArgumentOutOfRangeException>(fun () -> backend.CreateMlp(shape, 0) |> ignore) |> ignore
    finally
        Seq.concat [ ps; gs; [| x; y |] ] |> Seq.iter (fun b -> b.Dispose())
