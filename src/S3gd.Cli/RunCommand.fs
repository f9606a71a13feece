/// `s3gd run`: applies a rule to a parameter and gradients read from .npy files and writes the final
/// parameter and every state buffer as .npy into a folder (OutFolder: checked first, its earlier output replaced as a
/// whole); with --telemetry it prints each step's reading and writes them to telemetry.csv in the same folder, in the
/// same write. A gradient with NaN or infinite elements is an error naming the steps, unless --skip-nonfinite skips
/// such steps as torch's GradScaler skips optimizer.step() on found_inf.
module S3gd.Cli.RunCommand

open System
open System.IO
open Argu
open MathNet.Numerics.LinearAlgebra
open S3gd.Spec.Io
open S3gd.Spec.Rules
open S3gd.Cli.Arguments
open S3gd.Cli.Backend

/// What `run` is asked to do, as the command line gives it.
type Options =
    { /// The rule's command-line name.
      Rule: string
      /// The backend's name.
      Backend: string
      /// `name=value` hyperparameter texts.
      Hypers: string list
      /// Path of the initial parameter (.npy).
      Param: string
      /// Path of the gradients (.npy), one per step along the first axis.
      Grads: string
      /// Steps to take; all the gradients when absent.
      Steps: int option
      /// The output folder.
      Out: string
      /// The parameter's name; the --param file's stem when absent.
      Name: string option
      /// Whether each step is measured, printed and written to telemetry.csv.
      Telemetry: bool
      /// Whether steps whose gradient has NaN or infinite elements are skipped (else they are an error).
      SkipNonFinite: bool }

/// What `run` did.
type Summary =
    { /// The parameter as it was read.
      Param: Param
      /// Steps taken.
      Steps: int
      /// The steps skipped for non-finite gradients: (step of the --grads file, 1-based; its non-finite elements).
      Skipped: (int * int64) list
      /// The final parameter and state.
      Outcome: Outcome
      /// The output folder, full path.
      Out: string
      /// The file names written into it.
      Files: string list }

/// A shape as the command line writes it: 256x128 (a scalar is "()").
let showShape (shape: int list) = if shape.IsEmpty then "()" else String.Join("x", shape)

/// Reads a float .npy file as (shape, values); errors name the option and the file.
let readFloats (option: string) (path: string) : Result<int list * float[], string> =
    try
        let a = Npy.read path
        Ok(a.Shape, Npy.toFloats a)
    with e -> Error(sprintf "%s %s: %s" option path (Errors.describe e))

/// Splits the gradients into one vector per step, checking their trailing shape is the parameter's.
let splitGrads (path: string) (paramShape: int list) (shape: int list, values: float[]) : Result<Vec[], string> =
    match shape with
    | n :: rest when rest = paramShape ->
        let size = List.fold (*) 1 paramShape
        Ok(Array.init n (fun i -> Vector<float>.Build.DenseOfArray(Array.sub values (i * size) size)))
    | _ ->
        Error(sprintf "--grads %s has shape %s; expected Nx%s (one gradient of the parameter's shape %s per step along the first axis)"
                  path (showShape shape) (showShape paramShape) (showShape paramShape))

/// The number of steps: all the gradients by default, never more than there are.
let checkSteps (path: string) (available: int) (steps: int option) : Result<int, string> =
    match steps with
    | None -> Ok available
    | Some s when s < 1 -> Error(sprintf "--steps %d: must be at least 1" s)
    | Some s when s > available -> Error(sprintf "--steps %d exceeds the %d gradients in --grads %s" s available path)
    | Some s -> Ok s

/// The most steps an error or a summary lists by number.
let private listedSteps = 5

/// Steps and their non-finite elements as errors and summaries list them: "step 3: 2, step 7: 5, ...".
let showSteps (steps: (int * int64) list) =
    String.Join(", ", steps |> List.truncate listedSteps |> List.map (fun (step, n) -> sprintf "step %d: %d" step n))
    + (if steps.Length > listedSteps then ", ..." else "")

/// The gradients `run` steps with: those of the first `steps` whose stored values (`store`) are all finite, and the
/// others' (step, non-finite elements); the others are an error unless `skip`.
let finiteSteps (store: Vec -> Vec) (path: string) (skip: bool) (grads: Vec[]) (steps: int) : Result<Vec list * (int * int64) list, string> =
    let counted = [ for i in 0 .. steps - 1 -> i + 1, grads[i], countNonFinite (store grads[i]) ]
    let kept = [ for _, g, n in counted do if n = 0L then yield g ]
    let skipped = [ for step, _, n in counted do if n > 0L then yield step, n ]
    let listed = showSteps skipped
    match skipped with
    | [] -> Ok(kept, [])
    | _ when not skip ->
        Error(sprintf "--grads %s: %d of %d steps have NaN or infinite gradient elements (%s); --skip-nonfinite skips such steps, as torch's GradScaler does"
                  path skipped.Length steps listed)
    | _ when kept.IsEmpty -> Error(sprintf "--grads %s: every step's gradient has NaN or infinite elements (%s): no step to take" path listed)
    | _ -> Ok(kept, skipped)

/// An outcome's telemetry with the skipped steps put back: every reading numbered by its step in --grads, and a
/// skipped step read on the host (its non-finite elements; nothing moved, no time taken).
let withSkipped (skipped: (int * int64) list) (outcome: Outcome) : Outcome =
    if outcome.Telemetry.IsEmpty || skipped.IsEmpty then outcome
    else
        let steps = outcome.Telemetry.Length + skipped.Length
        let rec merge (step: int) (readings: StepReading list) =
            if step > steps then []
            else
                match List.tryFind (fun (s, _) -> s = step) skipped, readings with
                | Some(_, n), _ -> { Step = step; Milliseconds = 0.0; MaxAbsUpdate = Some 0.0; NonFiniteGrads = Some n; Fallbacks = None } :: merge (step + 1) readings
                | None, r :: rest -> { r with Step = step } :: merge (step + 1) rest
                | None, [] -> []
        { outcome with Telemetry = merge 1 outcome.Telemetry }

/// The .npy files of an outcome: param.npy and `<buffer>.npy`, in the parameter's shape (a buffer of
/// another length, such as a per-block statistic, is written one-dimensional).
let outcomeFiles (shape: int list) (o: Outcome) : (string * Npy.NpyArray) list =
    let size = List.fold (*) 1 shape
    let asArray (v: Vec) = Npy.ofFloats (if v.Count = size then shape else [ v.Count ]) (v.ToArray())
    ("param.npy", asArray o.Param) :: [ for KeyValue(name, b) in o.Buffers -> name + ".npy", asArray b ]

/// Runs the command on the given backends: checks the output folder, reads, checks, steps and writes; an error names
/// the bad input.
let execute (backends: Backend list) (o: Options) : Result<Summary, string> =
    Registry.find o.Rule |> Result.mapError (sprintf "--rule: %s")
    |> Result.bind (fun rule ->
        Hypers.parse rule o.Hypers |> Result.map (fun h -> rule, h))
    |> Result.bind (fun (rule, hypers) ->
        Backends.find backends o.Backend |> Result.mapError (sprintf "--backend: %s") |> Result.map (fun b -> rule, hypers, b))
    |> Result.bind (fun (rule, hypers, backend) -> OutFolder.check o.Out |> Result.map (fun folder -> rule, hypers, backend, folder))
    |> Result.bind (fun (rule, hypers, backend, folder) ->
        readFloats "--param" o.Param
        |> Result.bind (fun (shape, values) ->
            match Catalog.shapeError o.Rule shape with
            | Some e -> Error(sprintf "--param %s has shape %s; %s" o.Param (showShape shape) e)
            | None -> Ok(shape, values))
        |> Result.bind (fun (shape, values) ->
            readFloats "--grads" o.Grads
            |> Result.bind (splitGrads o.Grads shape)
            |> Result.bind (fun grads ->
                checkSteps o.Grads grads.Length o.Steps
                |> Result.bind (finiteSteps (backend.Store fp32.Grad) o.Grads o.SkipNonFinite grads)
                |> Result.bind (fun (kept, skipped) ->
                    let name = defaultArg o.Name (Path.GetFileNameWithoutExtension o.Param)
                    let param = { Name = name; Shape = shape; Value = Vector<float>.Build.DenseOfArray values }
                    let request = { Rule = rule; Hypers = hypers; Param = param; Grads = Array.ofList kept; Steps = kept.Length; Dtypes = fp32; Telemetry = o.Telemetry }
                    backend.Run request
                    |> Result.map (withSkipped skipped)
                    |> Result.map (fun outcome ->
                        use output = new OutFolder.Output(folder)
                        for file, a in outcomeFiles shape outcome do
                            Npy.write (output.Stage file) a
                        if o.Telemetry then File.WriteAllText(output.Stage RunTelemetry.fileName, RunTelemetry.csv outcome.Telemetry)
                        let files = output.Commit()
                        { Param = param; Steps = kept.Length; Skipped = skipped; Outcome = outcome; Out = output.Path; Files = files })))))

/// The options the parsed arguments stand for.
let options (args: ParseResults<RunArgs>) : Options =
    { Rule = args.GetResult RunArgs.Rule
      Backend = args.GetResult(RunArgs.Backend, SpecBackend.spec.Name)
      Hypers = args.GetResults RunArgs.Hyper |> List.concat
      Param = args.GetResult RunArgs.Param
      Grads = args.GetResult RunArgs.Grads
      Steps = args.TryGetResult RunArgs.Steps
      Out = args.GetResult RunArgs.Out
      Name = args.TryGetResult RunArgs.Name
      Telemetry = args.Contains RunArgs.Telemetry
      SkipNonFinite = args.Contains RunArgs.Skip_Nonfinite }

/// `run` on the given backends: prints a summary and returns 0, or one error line and the bad-input exit code.
let runOn (backends: Backend list) (args: ParseResults<RunArgs>) : int =
    let o = options args
    match execute backends o with
    | Ok s ->
        let change = (s.Outcome.Param - s.Param.Value).InfinityNorm()
        printfn "%s on %s: %d steps on '%s' (%s); largest parameter change %g" o.Rule o.Backend s.Steps s.Param.Name (showShape s.Param.Shape) change
        if not s.Skipped.IsEmpty then
            printfn "skipped %d steps with NaN or infinite gradient elements (--skip-nonfinite): %s" s.Skipped.Length
                (showSteps s.Skipped)
        if o.Telemetry then
            for line in RunTelemetry.tableLines s.Outcome.Telemetry do printfn "%s" line
        printfn "wrote %s into %s" (String.Join(", ", s.Files)) s.Out
        0
    | Error e -> Errors.report e

/// The `run` command on every backend.
let command (args: ParseResults<RunArgs>) : int = runOn Backends.all args
