/// `s3gd run --telemetry` on the spec and the CPU backend (and CUDA where present), for an elementwise rule and both
/// structured ones: the largest
/// |update| of a one-step run is the largest difference between the written parameter and the input, the non-finite
/// count is the number of NaN and infinities put into a step's gradient (a step --skip-nonfinite skips, read on the host),
/// and telemetry.csv holds exactly the readings;
/// without --telemetry no reading is taken and no telemetry.csv written.
module S3gd.Properties.Cli.RunTelemetryTests

open System
open System.Globalization
open System.IO
open Xunit
open S3gd.Spec.Io
open S3gd.Cli
open S3gd.Cli.Backend
open S3gd.Properties.Backends.BackendFacts
open S3gd.Properties.Cli.Temp

/// Elements of the test parameter: more than one Adam-mini row is not needed, a few hundred exercise the reductions.
let private size = 300

/// The positions and values of the non-finite gradient elements of step 2.
let private bad = [ 5, Single.NaN; 77, Single.PositiveInfinity; 299, Single.NegativeInfinity ]

/// A float32 parameter and two float32 gradients (the second with `bad` in it), written as float32 .npy files.
let private writeInputs (folder: Folder) =
    let rng = Random 11
    let values n = Array.init n (fun _ -> float32 (2.0 * rng.NextDouble() - 1.0))
    let param, grads = values size, values (2 * size)
    for i, x in bad do grads[size + i] <- x
    let paramPath, gradsPath = folder.File "weight.npy", folder.File "grads.npy"
    Npy.write paramPath { Shape = [ size ]; Data = Npy.F4 param }
    Npy.write gradsPath { Shape = [ 2; size ]; Data = Npy.F4 grads }
    paramPath, gradsPath, param

/// The options of a run; the second gradient's non-finite elements make its step skipped (as GradScaler skips it).
let private options rule backend paramPath gradsPath out steps telemetry : RunCommand.Options =
    { Rule = rule; Backend = backend; Hypers = [ "lr=0.01" ]; Param = paramPath; Grads = gradsPath; Steps = Some steps; Out = out; Name = None
      Telemetry = telemetry; SkipNonFinite = true }

let private run (o: RunCommand.Options) =
    match RunCommand.execute Backends.all o with
    | Ok s -> s
    | Error e -> failwithf "%s on %s: %s" o.Rule o.Backend e

/// telemetry.csv's rows, each split into cells, after checking the header.
let private csvRows (out: string) =
    let lines = File.ReadAllLines(Path.Combine(out, RunTelemetry.fileName))
    Assert.Equal(RunTelemetry.header, lines[0])
    lines[1..] |> Array.map (fun l -> l.Split ',')

let private parse (cell: string) = Double.Parse(cell, CultureInfo.InvariantCulture)

/// The rules checked: an elementwise one and both structured ones.
let private rules = [ "sgd"; "stableadamw"; "adam-mini" ]

/// Every (backend, rule) pair on the backends always present.
let cases () : obj[] seq = seq { for backend in [ "spec"; "cpu" ] do for rule in rules -> [| box backend; box rule |] }

/// Every rule on CUDA.
let cudaCases () : obj[] seq = seq { for rule in rules -> [| box "cuda"; box rule |] }

/// A one-step run's readings and csv row against the change of the written parameter.
let private checkMaxUpdate (backend: string) (rule: string) =
    use folder = new Folder()
    let paramPath, gradsPath, input = writeInputs folder
    let out = folder.File "out"
    let s = run (options rule backend paramPath gradsPath out 1 true)
    let written = Npy.toFloats (Npy.read (Path.Combine(out, "param.npy")))
    let change = Array.map2 (fun (p: float) (x: float32) -> abs (p - float x)) written input |> Array.max
    // The structured kernels measure |p_new - p| in float32 on the device: the float32 rounding of the exact change (the
    // float64 difference of two float32 values is exact); the others measure the stored values on the host in float64.
    let expected = if backend <> "spec" && rule <> "sgd" then float (float32 change) else change
    Assert.True(change > 0.0, "the step moved the parameter")
    match s.Outcome.Telemetry with
    | [ r ] ->
        Assert.Equal(1, r.Step)
        Assert.Equal(Some expected, r.MaxAbsUpdate)
        Assert.Equal(Some 0L, r.NonFiniteGrads)
        Assert.Equal(None, r.Fallbacks)
        Assert.True(Double.IsFinite r.Milliseconds && r.Milliseconds >= 0.0, sprintf "time %g ms" r.Milliseconds)
    | other -> failwithf "expected one reading, got %A" other
    match csvRows out with
    | [| [| step; ms; maxUpdate; nonFinite; fallbacks |] |] ->
        Assert.Equal("1", step)
        Assert.True(parse ms >= 0.0)
        Assert.Equal(expected, parse maxUpdate)
        Assert.Equal("0", nonFinite)
        Assert.Equal("", fallbacks)
    | rows -> failwithf "expected one row of five cells, got %A" rows

/// A two-step run's non-finite counts: none, then the NaN and infinities of the second gradient, whose step is skipped
/// (it moves nothing).
let private checkNonFinite (backend: string) (rule: string) =
    use folder = new Folder()
    let paramPath, gradsPath, _ = writeInputs folder
    let out = folder.File "out"
    let s = run (options rule backend paramPath gradsPath out 2 true)
    Assert.Equal<int64 option list>([ Some 0L; Some(int64 bad.Length) ], s.Outcome.Telemetry |> List.map (fun r -> r.NonFiniteGrads))
    Assert.Equal<int list>([ 1; 2 ], s.Outcome.Telemetry |> List.map (fun r -> r.Step))
    Assert.Equal(Some 0.0, s.Outcome.Telemetry[1].MaxAbsUpdate)
    Assert.Equal<(int * int64) list>([ 2, int64 bad.Length ], s.Skipped)
    Assert.Equal<string list>([ "0"; string bad.Length ], csvRows out |> Array.map (fun cells -> cells[3]) |> List.ofArray)
    Assert.Contains(RunTelemetry.fileName, s.Files)

[<Theory; MemberData(nameof cases)>]
let ``a one-step run's max |update| is the written parameter's largest change`` (backend: string) (rule: string) = checkMaxUpdate backend rule

[<Theory; MemberData(nameof cases)>]
let ``the non-finite count is the number of NaN and infinities put into the step's gradient`` (backend: string) (rule: string) =
    checkNonFinite backend rule

[<CudaTheory; MemberData(nameof cudaCases)>]
let ``on CUDA, max |update| and the non-finite count are right`` (backend: string) (rule: string) =
    checkMaxUpdate backend rule
    checkNonFinite backend rule

[<Fact>]
let ``without --telemetry nothing is measured and no telemetry.csv is written`` () =
    use folder = new Folder()
    let paramPath, gradsPath, _ = writeInputs folder
    for backend in [ "spec"; "cpu" ] do
        let out = folder.File("out-" + backend)
        let s = run (options "stableadamw" backend paramPath gradsPath out 2 false)
        Assert.Empty s.Outcome.Telemetry
        Assert.DoesNotContain(RunTelemetry.fileName, s.Files)
        Assert.False(File.Exists(Path.Combine(out, RunTelemetry.fileName)))
        Assert.True(File.Exists(Path.Combine(out, "param.npy")))

[<Fact>]
let ``the table shows - where a number is not measured and the csv leaves the cell empty`` () =
    let readings =
        [ { Step = 1; Milliseconds = 0.25; MaxAbsUpdate = Some 0.125; NonFiniteGrads = Some 3L; Fallbacks = None }
          { Step = 2; Milliseconds = 1.5; MaxAbsUpdate = None; NonFiniteGrads = None; Fallbacks = Some 4L } ]
    match RunTelemetry.tableLines readings with
    | [ header; first; second ] ->
        Assert.Contains("max |update|", header)
        Assert.Equal<string list>([ "1"; "0.250"; "0.125"; "3"; "-" ], first.Split(' ', StringSplitOptions.RemoveEmptyEntries) |> List.ofArray)
        Assert.Equal<string list>([ "2"; "1.500"; "-"; "-"; "4" ], second.Split(' ', StringSplitOptions.RemoveEmptyEntries) |> List.ofArray)
    | lines -> failwithf "expected a header and two lines, got %A" lines
    Assert.Equal(RunTelemetry.header + "\n1,0.25,0.125,3,\n2,1.5,,,4\n", RunTelemetry.csv readings)

[<Fact>]
let ``--telemetry on the command line runs, prints and writes telemetry.csv`` () =
    use folder = new Folder()
    let paramPath, gradsPath, _ = writeInputs folder
    let out = folder.File "out"
    Assert.Equal(0, Program.main [| "run"; "--rule"; "adam-mini"; "--backend"; "cpu"; "--param"; paramPath; "--grads"; gradsPath; "--out"; out; "--telemetry"; "--skip-nonfinite" |])
    Assert.Equal(2, (csvRows out).Length)
    Assert.Equal<string[]>([| OutFolder.manifestName; "m.npy"; "param.npy"; RunTelemetry.fileName; "vmean.npy" |], Directory.GetFiles out |> Array.map Path.GetFileName |> Array.sort)
