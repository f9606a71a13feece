/// `s3gd run` on the PyTorch golden inputs reproduces torch.optim's final parameter and state: the check a
/// user makes against their own PyTorch runs.
module S3gd.Properties.Cli.RunGoldenTests

open System.IO
open System.Text.Json
open MathNet.Numerics.LinearAlgebra
open Xunit
open S3gd.Spec.Io
open S3gd.Cli
open S3gd.Properties.Cli.Temp
open S3gd.Properties.Spec

/// float64 against float64: the tolerance of the golden parity tests (GoldenTests.fs).
let private tolerance = 1e-12

/// A manifest hyperparameter as the command line writes it.
let private asArgument (name: string, v: JsonElement) =
    match v.ValueKind with
    | JsonValueKind.True -> name + "=true"
    | JsonValueKind.False -> name + "=false"
    | JsonValueKind.String -> name + "=" + v.GetString()
    | _ -> name + "=" + v.GetRawText()

[<Theory>]
[<InlineData("sgd_nesterov")>]
[<InlineData("rmsprop_centered")>]
[<InlineData("adamw")>]
[<InlineData("adam_amsgrad")>]
let ``run on a golden case's files reproduces torch's final param and state`` (case: string) =
    let c = Golden.read case
    use out = new Folder()
    let options: RunCommand.Options =
        { Rule = c.Rule; Backend = "spec"; Hypers = c.Hypers |> List.map asArgument
          Param = Path.Combine(Golden.dir case, "param0.npy"); Grads = Path.Combine(Golden.dir case, "grads.npy")
          Steps = None; Out = out.Path; Name = None; Telemetry = false; SkipNonFinite = false }
    match RunCommand.execute Backends.all options with
    | Error e -> failwithf "run failed: %s" e
    | Ok summary ->
        Assert.Equal(c.Steps, summary.Steps)
        let written (file: string) = Vector<float>.Build.DenseOfArray(Npy.toFloats (Npy.read (out.File(file + ".npy"))))
        Assert.InRange(Golden.relError (written "param") c.Param, 0.0, tolerance)
        for KeyValue(name, expected) in c.Buffers do
            Assert.InRange(Golden.relError (written name) expected, 0.0, tolerance)
