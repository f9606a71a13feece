/// `s3gd run`: applies a rule to a parameter and gradients read from .npy files and writes the final
/// parameter and every state buffer as .npy into a folder, which is never left half-written; with --telemetry it
/// prints each step's reading and writes them to telemetry.csv in the same folder, in the same write.
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
      Telemetry: bool }

/// What `run` did.
type Summary =
    { /// The parameter as it was read.
      Param: Param
      /// Steps taken.
      Steps: int
      /// The final parameter and state.
      Outcome: Outcome
      /// The output folder, full path.
      Out: string
      /// The file names written into it.
      Files: string list }

/// A shape as the command line writes it: 256x128 (a scalar is "()").
let showShape (shape: int list) = if shape.IsEmpty then "()" else String.Join("x", shape)

/// Whether an exception is a file-system or file-format failure (as opposed to a bug).
let private isFileError (e: exn) =
    e :? IOException || e :? InvalidDataException || e :? UnauthorizedAccessException || e :? ArgumentException

/// An exception's message without the " (Parameter 'x')" suffix .NET appends to argument errors.
let private message (e: exn) =
    match e with
    | :? ArgumentException as a when not (isNull a.ParamName) -> a.Message.Replace(sprintf " (Parameter '%s')" a.ParamName, "")
    | _ -> e.Message

/// Reads a float .npy file as (shape, values); errors name the option and the file.
let readFloats (option: string) (path: string) : Result<int list * float[], string> =
    try
        let a = Npy.read path
        Ok(a.Shape, Npy.toFloats a)
    with e when isFileError e -> Error(sprintf "%s %s: %s" option path (message e))

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
    | Some s when s < 0 -> Error(sprintf "--steps %d: must be at least 0" s)
    | Some s when s > available -> Error(sprintf "--steps %d exceeds the %d gradients in --grads %s" s available path)
    | Some s -> Ok s

/// Writes the files (each a name and what writes it to a path) into a temporary sibling of `dir`, then moves them in
/// (or renames the whole folder when `dir` does not exist yet), so `dir` never holds a partial result.
let writeAll (dir: string) (files: (string * (string -> unit)) list) : Result<string, string> =
    let full = Path.TrimEndingDirectorySeparator(Path.GetFullPath dir)
    let temp = Path.Combine(Path.GetDirectoryName full, sprintf ".%s.tmp-%s" (Path.GetFileName full) (Guid.NewGuid().ToString "N"))
    try
        try
            if File.Exists full then raise (IOException(sprintf "%s is a file, not a folder" full))
            Directory.CreateDirectory temp |> ignore
            for name, write in files do
                write (Path.Combine(temp, name))
            if Directory.Exists full then
                for name, _ in files do
                    File.Move(Path.Combine(temp, name), Path.Combine(full, name), true)
            else
                Directory.Move(temp, full)
            Ok full
        with e when isFileError e -> Error(sprintf "--out %s: %s" dir (message e))
    finally
        if Directory.Exists temp then Directory.Delete(temp, true)

/// The .npy files of an outcome: param.npy and `<buffer>.npy`, in the parameter's shape (a buffer of
/// another length, such as a per-block statistic, is written one-dimensional).
let outcomeFiles (shape: int list) (o: Outcome) : (string * Npy.NpyArray) list =
    let size = List.fold (*) 1 shape
    let asArray (v: Vec) = Npy.ofFloats (if v.Count = size then shape else [ v.Count ]) (v.ToArray())
    ("param.npy", asArray o.Param) :: [ for KeyValue(name, b) in o.Buffers -> name + ".npy", asArray b ]

/// Runs the command on the given backends: reads, checks, steps and writes; an error names the bad input.
let execute (backends: Backend list) (o: Options) : Result<Summary, string> =
    Registry.find o.Rule |> Result.mapError (sprintf "--rule: %s")
    |> Result.bind (fun rule ->
        Hypers.parse rule o.Hypers |> Result.map (fun h -> rule, h))
    |> Result.bind (fun (rule, hypers) ->
        Backends.find backends o.Backend |> Result.mapError (sprintf "--backend: %s") |> Result.map (fun b -> rule, hypers, b))
    |> Result.bind (fun (rule, hypers, backend) ->
        readFloats "--param" o.Param
        |> Result.bind (fun (shape, values) ->
            readFloats "--grads" o.Grads
            |> Result.bind (splitGrads o.Grads shape)
            |> Result.bind (fun grads ->
                checkSteps o.Grads grads.Length o.Steps
                |> Result.bind (fun steps ->
                    let name = defaultArg o.Name (Path.GetFileNameWithoutExtension o.Param)
                    let param = { Name = name; Shape = shape; Value = Vector<float>.Build.DenseOfArray values }
                    backend.Run { Rule = rule; Hypers = hypers; Param = param; Grads = grads; Steps = steps; Dtypes = fp32; Telemetry = o.Telemetry }
                    |> Result.bind (fun outcome ->
                        let npy = outcomeFiles shape outcome |> List.map (fun (file, a) -> file, fun path -> Npy.write path a)
                        let telemetry =
                            if o.Telemetry then [ RunTelemetry.fileName, fun path -> File.WriteAllText(path, RunTelemetry.csv outcome.Telemetry) ] else []
                        let files = npy @ telemetry
                        writeAll o.Out files
                        |> Result.map (fun full -> { Param = param; Steps = steps; Outcome = outcome; Out = full; Files = List.map fst files }))))))

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
      Telemetry = args.Contains RunArgs.Telemetry }

/// `run` on the given backends: prints a summary and returns 0, or one error line and the bad-input exit code.
let runOn (backends: Backend list) (args: ParseResults<RunArgs>) : int =
    let o = options args
    match execute backends o with
    | Ok s ->
        let change = (s.Outcome.Param - s.Param.Value).InfinityNorm()
        printfn "%s on %s: %d steps on '%s' (%s); largest parameter change %g" o.Rule o.Backend s.Steps s.Param.Name (showShape s.Param.Shape) change
        if o.Telemetry then
            for line in RunTelemetry.tableLines s.Outcome.Telemetry do printfn "%s" line
        printfn "wrote %s into %s" (String.Join(", ", s.Files)) s.Out
        0
    | Error e -> Errors.report e

/// The `run` command on every backend.
let command (args: ParseResults<RunArgs>) : int = runOn Backends.all args
