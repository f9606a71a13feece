/// `s3gd run`: on generated .npy files it writes param.npy and every state buffer equal to stepping the
/// spec directly; bad shapes, too many steps and unknown backends are errors naming the input, and the
/// output folder is never left half-written.
module S3gd.Properties.Cli.RunCommandTests

open System
open System.IO
open Argu
open Xunit
open FsCheck
open FsCheck.FSharp
open FsCheck.Xunit
open MathNet.Numerics.LinearAlgebra
open S3gd.Spec.Io
open S3gd.Spec.Rules
open S3gd.Cli
open S3gd.Properties.Cli.Temp

/// Writes a random parameter of the shape and `steps` gradients of it; returns both paths.
let private writeInputs (folder: Folder) (rng: Random) (shape: int list) (gradShape: int list) =
    let values (dims: int list) = Array.init (List.fold (*) 1 dims) (fun _ -> 2.0 * rng.NextDouble() - 1.0)
    let param, grads = folder.File "weight.npy", folder.File "grads.npy"
    Npy.write param (Npy.ofFloats shape (values shape))
    Npy.write grads (Npy.ofFloats gradShape (values gradShape))
    param, grads

let private options (param: string) (grads: string) (out: string) (hypers: string list) : RunCommand.Options =
    { Rule = "sgd"; Backend = "spec"; Hypers = hypers; Param = param; Grads = grads; Steps = None; Out = out; Name = None; Telemetry = false; SkipNonFinite = false }

/// The final parameter and state of stepping the rule directly through `RuleInfo.Create`, `Init` and `Step`.
let private stepDirectly (rule: RuleInfo) (hypers: string list) (param: Param) (grads: Vec list) =
    let created = Hypers.parse rule hypers |> Result.bind rule.Create
    match created with
    | Error e -> failwith e
    | Ok r ->
        grads |> List.fold (fun (p: Param, s) g -> let v, s' = r.Step s g p in { p with Value = v }, s') (param, r.Init param)

[<Property(MaxTest = 20)>]
let ``run writes param.npy and every state buffer equal to stepping the spec directly`` () =
    let prop (seed: int) (rows: int) (cols: int) (steps: int) (nesterov: bool) =
        use folder = new Folder()
        let rng = Random seed
        let paramPath, gradsPath = writeInputs folder rng [ rows; cols ] [ steps + 1; rows; cols ]
        let hypers = [ "lr=0.05"; "momentum=0.9"; "weight_decay=0.01"; sprintf "nesterov=%b" nesterov ]
        let out = folder.File "out"
        let o = { options paramPath gradsPath out hypers with Steps = Some steps }
        match RunCommand.execute Backends.all o with
        | Error e -> failwith e
        | Ok summary ->
            let readBack name = Npy.read (Path.Combine(out, name))
            let grads = Npy.toFloats (Npy.read gradsPath)
            let size = rows * cols
            let gradList = List.init steps (fun i -> Vector<float>.Build.DenseOfArray(Array.sub grads (i * size) size))
            let start = { Name = "weight"; Shape = [ rows; cols ]; Value = Vector<float>.Build.DenseOfArray(Npy.toFloats (Npy.read paramPath)) }
            let p, s = stepDirectly Sgd.info hypers start gradList
            let expectedFiles = "param.npy" :: [ for KeyValue(k, _) in s.Buffers -> k + ".npy" ]
            summary.Param.Name = "weight"
            && summary.Steps = steps
            && Set.ofList summary.Files = Set.ofList expectedFiles
            && Set.ofArray (Directory.GetFiles out |> Array.map Path.GetFileName) = Set.ofList (OutFolder.manifestName :: expectedFiles)
            && readBack "param.npy" = { Shape = [ rows; cols ]; Data = Npy.F8(p.Value.ToArray()) }
            && s.Buffers |> Map.forall (fun k b -> readBack (k + ".npy") = { Shape = [ rows; cols ]; Data = Npy.F8(b.ToArray()) })
            && Directory.GetDirectories folder.Path |> Array.forall (fun d -> Path.GetFileName d = "out")
    let cases =
        gen {
            let! seed = Gen.choose (0, 10000)
            let! rows = Gen.choose (1, 6)
            let! cols = Gen.choose (1, 6)
            let! steps = Gen.choose (1, 4)
            let! nesterov = Gen.elements [ true; false ]
            return seed, rows, cols, steps, nesterov
        }
    Prop.forAll (Arb.fromGen cases) (fun (seed, r, c, n, nest) -> prop seed r c n nest)

[<Fact>]
let ``the parsed command line runs with several hypers after one --hyper and --hyper repeated`` () =
    use folder = new Folder()
    let paramPath, gradsPath = writeInputs folder (Random 7) [ 4 ] [ 3; 4 ]
    let out = folder.File "nested/out"
    let parser = ArgumentParser.Create<Arguments.S3gdArgs>(programName = "s3gd")
    let argv = [| "run"; "--rule"; "sgd"; "--hyper"; "lr=0.1"; "momentum=0.5"; "--hyper"; "nesterov=true"; "--param"; paramPath; "--grads"; gradsPath; "--out"; out; "--name"; "bias" |]
    let args = parser.ParseCommandLine argv
    let runArgs = args.GetResult Arguments.S3gdArgs.Run
    let o = RunCommand.options runArgs
    Assert.Equal<string list>([ "lr=0.1"; "momentum=0.5"; "nesterov=true" ], o.Hypers)
    Assert.Equal(Some "bias", o.Name)
    Assert.Equal(0, RunCommand.command runArgs)
    Assert.True(File.Exists(Path.Combine(out, "param.npy")))
    Assert.True(File.Exists(Path.Combine(out, "momentum_buffer.npy")))

[<Fact>]
let ``an earlier output is replaced as a whole; a folder holding other files is refused and left alone`` () =
    use folder = new Folder()
    let paramPath, gradsPath = writeInputs folder (Random 3) [ 2; 2 ] [ 2; 2; 2 ]
    let out = folder.File "out"
    let files () = Directory.GetFiles out |> Array.map Path.GetFileName |> Array.sort
    let runRule rule = RunCommand.execute Backends.all { options paramPath gradsPath out [] with Rule = rule }
    runRule "adamw" |> Result.mapError failwith |> ignore
    Assert.Equal<string[]>([| OutFolder.manifestName; "exp_avg.npy"; "exp_avg_sq.npy"; "param.npy" |], files ())
    // Lion keeps no exp_avg_sq: AdamW's must not stay beside its output.
    runRule "lion" |> Result.mapError failwith |> ignore
    Assert.Equal<string[]>([| OutFolder.manifestName; "exp_avg.npy"; "param.npy" |], files ())
    File.WriteAllText(Path.Combine(out, "notes.txt"), "mine")
    match runRule "sgd" with
    | Ok _ -> failwith "expected a refusal"
    | Error e -> Assert.Equal(sprintf "--out %s holds files s3gd did not write (notes.txt): give a new or empty folder, or one an earlier s3gd command wrote (its output is replaced)" out, e)
    Assert.Equal<string[]>([| OutFolder.manifestName; "exp_avg.npy"; "notes.txt"; "param.npy" |], files ())
    Assert.Equal<string[]>([| out |], Directory.GetDirectories folder.Path)

[<Fact>]
let ``an output folder whose parent cannot be written is written in place, never through a sibling`` () =
    use folder = new Folder()
    let paramPath, gradsPath = writeInputs folder (Random 5) [ 3 ] [ 1; 3 ]
    let parent = folder.File "locked"
    let out = Path.Combine(parent, "out")
    Directory.CreateDirectory out |> ignore
    // Read-only for its owner (root writes anyway: there the test shows only that no sibling is left).
    File.SetUnixFileMode(parent, UnixFileMode.UserRead ||| UnixFileMode.UserExecute)
    try
        match RunCommand.execute Backends.all (options paramPath gradsPath out []) with
        | Error e -> failwith e
        | Ok s -> Assert.Equal<string list>([ "param.npy" ], s.Files)
        Assert.Equal<string[]>([| out |], Directory.GetFileSystemEntries parent)
    finally
        File.SetUnixFileMode(parent, UnixFileMode.UserRead ||| UnixFileMode.UserWrite ||| UnixFileMode.UserExecute)

/// Runs and expects an error; checks the output folder was not created.
let private expectError (o: RunCommand.Options) =
    match RunCommand.execute Backends.all o with
    | Ok _ -> failwith "expected an error"
    | Error e ->
        Assert.False(Directory.Exists o.Out, "the output folder must not be created on error")
        e

[<Fact>]
let ``gradients whose trailing shape is not the parameter's are an error naming both shapes`` () =
    use folder = new Folder()
    let paramPath, gradsPath = writeInputs folder (Random 1) [ 3; 4 ] [ 5; 4; 3 ]
    let e = expectError (options paramPath gradsPath (folder.File "out") [])
    Assert.Equal(sprintf "--grads %s has shape 5x4x3; expected Nx3x4 (one gradient of the parameter's shape 3x4 per step along the first axis)" gradsPath, e)

[<Fact>]
let ``more steps than gradients is an error naming both counts`` () =
    use folder = new Folder()
    let paramPath, gradsPath = writeInputs folder (Random 2) [ 3; 4 ] [ 5; 3; 4 ]
    let e = expectError { options paramPath gradsPath (folder.File "out") [] with Steps = Some 6 }
    Assert.Equal(sprintf "--steps 6 exceeds the 5 gradients in --grads %s" gradsPath, e)
    // No step is no run: an error, not an output equal to the input.
    Assert.Equal("--steps 0: must be at least 1", expectError { options paramPath gradsPath (folder.File "out") [] with Steps = Some 0 })

[<Fact>]
let ``unknown backends, rules, hypers and missing files are errors naming the input`` () =
    use folder = new Folder()
    let paramPath, gradsPath = writeInputs folder (Random 4) [ 2 ] [ 1; 2 ]
    let o = options paramPath gradsPath (folder.File "out") []
    Assert.Equal("--backend: unknown backend 'tpu' (known: spec, spec-rounded, cpu, cuda)", expectError { o with Backend = "tpu" })
    Assert.StartsWith("--rule: unknown rule 'adamx'", expectError { o with Rule = "adamx" })
    Assert.Equal("hyperparameter momentum=-1 is out of range (valid: >= 0)", expectError { o with Hypers = [ "momentum=-1" ] })
    Assert.StartsWith("--param " + folder.File "missing.npy" + ":", expectError { o with Param = folder.File "missing.npy" })
    Assert.StartsWith("nesterov=true needs momentum > 0", expectError { o with Hypers = [ "nesterov=true" ] })

/// Gradients of four elements for three steps: the second has a NaN and an infinity, the third a float64 beyond float32.
let private writeNonFinite (folder: Folder) =
    let param, grads = folder.File "p.npy", folder.File "g.npy"
    Npy.write param (Npy.ofFloats [ 4 ] [| 1.0; 2.0; 3.0; 4.0 |])
    Npy.write grads (Npy.ofFloats [ 3; 4 ] [| 0.1; 0.1; 0.1; 0.1; nan; 0.2; infinity; 0.1; 0.3; 1e300; 0.3; 0.3 |])
    param, grads

[<Fact>]
let ``non-finite gradients are an error naming the steps, unless --skip-nonfinite skips those steps as GradScaler`` () =
    use folder = new Folder()
    let paramPath, gradsPath = writeNonFinite folder
    let o = { options paramPath gradsPath (folder.File "out") [ "lr=0.1" ] with Rule = "adamw" }
    // The spec keeps float64: 1e300 is finite there; the CPU backend stores float32, where it is infinite.
    Assert.Equal(sprintf "--grads %s: 1 of 3 steps have NaN or infinite gradient elements (step 2: 2); --skip-nonfinite skips such steps, as torch's GradScaler does" gradsPath,
                 expectError o)
    Assert.Equal(sprintf "--grads %s: 2 of 3 steps have NaN or infinite gradient elements (step 2: 2, step 3: 1); --skip-nonfinite skips such steps, as torch's GradScaler does" gradsPath,
                 expectError { o with Backend = "cpu" })
    match RunCommand.execute Backends.all { o with SkipNonFinite = true } with
    | Error e -> failwith e
    | Ok s ->
        Assert.Equal<(int * int64) list>([ 2, 2L ], s.Skipped)
        Assert.Equal(2, s.Steps)
        // The skipped step changes nothing and does not count: the same as stepping the other two gradients.
        let finite = folder.File "finite.npy"
        Npy.write finite (Npy.ofFloats [ 2; 4 ] [| 0.1; 0.1; 0.1; 0.1; 0.3; 1e300; 0.3; 0.3 |])
        match RunCommand.execute Backends.all { o with Grads = finite; Out = folder.File "out2" } with
        | Error e -> failwith e
        | Ok t -> Assert.Equal<float[]>(t.Outcome.Param.ToArray(), s.Outcome.Param.ToArray())
    let allBad = folder.File "bad.npy"
    Npy.write allBad (Npy.ofFloats [ 1; 4 ] [| nan; 0.0; 0.0; 0.0 |])
    Assert.EndsWith("no step to take", expectError { o with Grads = allBad; Out = folder.File "out3"; SkipNonFinite = true })
