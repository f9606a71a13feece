/// `s3gd train`: the spiral MLP trains to a stated loss and accuracy with AdamW and Lion on the CPU (and on CUDA
/// where present), deterministically from the seed; optimizers and their hyperparameters resolve as documented; the
/// command writes loss.csv and loss.svg, and bad input is one line on stderr with exit code 2.
module S3gd.Properties.Train.TrainingTests

open System
open System.IO
open Xunit
open S3gd.Spec.Rules
open S3gd.Gpu
open S3gd.Cli
open S3gd.Properties.Backends.BackendFacts
open S3gd.Properties.Cli.Temp

/// The CI run: `s3gd train --hidden 32,32 --steps 600 --batch 64` (3 arms of 1000 points, seed 1), about a second a rule.
let private ci = { Training.defaults with Hidden = [ 32; 32 ]; Steps = 600; Batch = 64 }

/// The stated outcome: the mean loss over the data set at most 0.1 and at least 97% of the points classified right
/// (a model that has learnt nothing has loss ln 3 = 1.0986 and accuracy 1/3).
let private maxLoss, minAccuracy = 0.1, 0.97

let private candidate (rule: string) =
    match Training.resolve rule [] with
    | Ok [ c ] -> c
    | other -> failwithf "%s did not resolve: %A" rule other

let private train (kind: BackendKind) (settings: Training.Settings) (rule: string) =
    use backend = Backends.Create kind
    match Training.run backend settings (candidate rule) None (fun _ _ -> ()) with
    | Ok o -> o
    | Error e -> failwithf "%s: %s" rule e

let private reaches (kind: BackendKind) (rule: string) =
    let o = train kind ci rule
    // The first batch is seen by an untrained model: its loss is near ln 3.
    Assert.InRange(o.Losses[0], 1.0, 1.2)
    Assert.True(o.Final.Loss <= maxLoss && o.Final.Accuracy >= minAccuracy, sprintf "%s on %O: loss %g, accuracy %g after %d steps" rule kind o.Final.Loss o.Final.Accuracy ci.Steps)

[<Theory; InlineData "adamw"; InlineData "lion"; InlineData "stableadamw"; InlineData "adam-mini">]
let ``on the CPU the spiral MLP trains to loss 0.1 and accuracy 0.97 in 600 steps`` (rule: string) = reaches BackendKind.Cpu rule

[<CudaTheory; InlineData "adamw"; InlineData "lion"; InlineData "stableadamw"; InlineData "adam-mini">]
let ``on CUDA the spiral MLP trains to loss 0.1 and accuracy 0.97 in 600 steps`` (rule: string) = reaches BackendKind.Cuda rule

[<Fact>]
let ``a run is deterministic from its seed and another seed gives another run`` () =
    let short seed = train BackendKind.Cpu { ci with Steps = 30; Seed = seed } "sgd"
    Assert.Equal<float[]>((short 3).Losses, (short 3).Losses)
    Assert.NotEqual<float[]>((short 3).Losses, (short 4).Losses)

[<Fact>]
let ``hyperparameters apply to every optimizer or, prefixed with its name, to one; lr defaults to the training rate`` () =
    match Training.resolve "adamw,lion" [ "weight_decay=0.5"; "lion.lr=0.02"; "adamw.betas=0.8,0.9" ] with
    | Ok [ adamw; lion ] ->
        Assert.Equal(0.5, Hyper.getReal adamw.Hypers "weight_decay")
        Assert.Equal(0.5, Hyper.getReal lion.Hypers "weight_decay")
        Assert.Equal(0.02, Hyper.getReal lion.Hypers "lr")
        Assert.Equal(Training.trainingLr "adamw" |> Option.get, Hyper.getReal adamw.Hypers "lr")
        Assert.Equal(0.8, Hyper.getReal adamw.Hypers "beta1")
        Assert.Equal(0.9, Hyper.getReal lion.Hypers "beta1")
    | other -> failwithf "%A" other

[<Fact>]
let ``bad optimizers and hyperparameters are errors naming them`` () =
    let error names hypers =
        match Training.resolve names hypers with
        | Error e -> e
        | Ok c -> failwithf "%s %A resolved: %A" names hypers c
    Assert.Contains("nosuch", error "adamw,nosuch" [])
    Assert.Contains("names adamw twice", error "adamw,adamw" [])
    Assert.Contains("sgd is not one of the optimizers", error "adamw" [ "sgd.lr=1" ])
    Assert.Contains("eps", error "adamw,lion" [ "eps=1e-6" ])
    Assert.Contains("muon takes 2-D parameters only", error "adamw,muon" [])

[<Fact>]
let ``the command writes every step's loss to loss.csv and one line per optimizer to loss.svg`` () =
    use folder = new Folder()
    let out = folder.File "run/out"
    let code = Program.main [| "train"; "--backend"; "cpu"; "--optimizer"; "adamw,s3gd"; "--steps"; "40"; "--batch"; "32"; "--hidden"; "8"; "--hyper"; "weight_decay=0.01"; "--out"; out |]
    Assert.Equal(0, code)
    let lines = File.ReadAllLines(Path.Combine(out, "loss.csv"))
    Assert.Equal("step,adamw,s3gd", lines[0])
    Assert.Equal(41, lines.Length)
    Assert.StartsWith("40,", lines[40])
    let svg = File.ReadAllText(Path.Combine(out, "loss.svg"))
    Assert.Equal(2, svg.Split("<polyline").Length - 1)
    Assert.Contains(">adamw<", svg)
    Assert.Contains(">s3gd<", svg)
    // Nothing but the two files, each optimizer's checkpoint and the list of them: no temporary file left behind.
    Assert.Equal<string[]>(
        [| OutFolder.manifestName; "adamw.safetensors"; "loss.csv"; "loss.svg"; "s3gd.safetensors" |],
        Directory.GetFiles out |> Array.map Path.GetFileName |> Array.sort)

[<Theory>]
[<InlineData("--steps", "0")>]
[<InlineData("--batch", "-3")>]
[<InlineData("--hidden", "64,x")>]
[<InlineData("--optimizer", "muon")>]
[<InlineData("--backend", "tpu")>]
let ``bad options exit with code 2 and write nothing`` (option: string, value: string) =
    use folder = new Folder()
    let out = folder.File "out"
    let err = new StringWriter()
    let saved = Console.Error
    Console.SetError err
    let steps = if option = "--steps" then [||] else [| "--steps"; "5" |]
    let code = try Program.main (Array.concat [ [| "train"; option; value |]; steps; [| "--out"; out |] ]) finally Console.SetError saved
    Assert.Equal(Errors.usage, code)
    Assert.Contains(value, err.ToString())
    Assert.False(Directory.Exists out)

[<Fact>]
let ``the trained checkpoint loads into a fresh optimizer of the same shape, not into another type, and --telemetry prints each group's readings`` () =
    use folder = new Folder()
    let out = folder.File "out"
    let printed = new StringWriter()
    let saved = Console.Out
    Console.SetOut printed
    let code =
        try Program.main [| "train"; "--backend"; "cpu"; "--optimizer"; "adam-mini,lion"; "--steps"; "20"; "--batch"; "32"; "--hidden"; "8"; "--log-every"; "10"; "--telemetry"; "--out"; out |]
        finally Console.SetOut saved
    Assert.Equal(0, code)
    let lines = printed.ToString().Split('\n') |> Array.map (fun l -> l.TrimEnd())
    // Every 10 steps, one line per group: Adam-mini measures max |update| and non-finite gradients, Lion does not.
    let rows (name: string) = lines |> Array.filter (fun l -> l.StartsWith(name + " ") && not (l.Contains "loss")) |> Array.map (fun l -> l.Split(' ', StringSplitOptions.RemoveEmptyEntries))
    Assert.Equal<string list>([ "10"; "20" ], [ for r in rows "adam-mini" -> r[1] ])
    for r in rows "adam-mini" do
        Assert.True(Double.Parse(r[4], Globalization.CultureInfo.InvariantCulture) > 0.0, String.Join(" ", r))
        Assert.Equal<string list>([ "0"; "-" ], [ r[5]; r[6] ])
    for r in rows "lion" do Assert.Equal<string list>([ "-"; "-"; "-" ], [ r[4]; r[5]; r[6] ])
    let path = Path.Combine(out, "adam-mini.safetensors")
    let checkpoint = S3gd.Gpu.Checkpoints.SafeTensorsReader.Read path
    use cpu = Backends.Create BackendKind.Cpu
    let shape = S3gd.Gpu.Training.MlpShape(2, [ 8 ], 3)
    let buffers () = [| for n in shape.ParameterLengths -> cpu.Allocate(ElementType.Float32, n) |]
    let values, grads = buffers (), buffers ()
    let fresh (name: string) =
        match TrainOptimizer.create (candidate name).Rule (candidate name).Hypers (TrainOptimizer.parameters shape values grads) with
        | Ok o -> o
        | Error e -> failwith e
    use o = fresh "adam-mini"
    o.Load path
    for p in o.Parameters do
        Assert.Equal(20, o.StepCount p)
        let stored = checkpoint.Tensors |> Seq.find (fun t -> t.Name = "param." + p.Name)
        Assert.Equal<byte>(stored.Data, S3gd.Gpu.Optimizers.BufferBytes.Read p.Param)
    use other = fresh "adamw"
    let e = Assert.Throws<S3gd.Gpu.Checkpoints.CheckpointMismatchException>(fun () -> other.Load path)
    Assert.Contains("AdamMini", e.Message)
    Assert.Contains("AdamW", e.Message)
    for b in Array.append values grads do b.Dispose()
