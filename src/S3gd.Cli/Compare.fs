/// `s3gd compare`: runs a rule on two backends from the same seeded random parameter and gradients and
/// compares the final parameter and every state buffer, in ulps of its storage format, against `Tolerance` (plus
/// NewtonSchulzTolerance's allowance for the rules that orthogonalise: Muon, OAdamW).
module S3gd.Cli.Compare

open System
open Argu
open MathNet.Numerics.LinearAlgebra
open Spectre.Console
open Spectre.Console.Rendering
open S3gd.Spec.Formats
open S3gd.Spec.Rules
open S3gd.Cli.Arguments
open S3gd.Cli.Backend

/// What `compare` is asked to do, as the command line gives it.
type Options =
    { /// The rule's command-line name.
      Rule: string
      /// The backend under test.
      Backend: string
      /// The reference backend.
      Against: string
      /// The parameter's shape.
      Shape: int list
      /// Steps to take.
      Steps: int
      /// Seed of the random parameter and gradients.
      Seed: int
      /// Storage formats of parameter, gradients and state.
      Dtypes: Dtypes
      /// `name=value` hyperparameter texts.
      Hypers: string list
      /// The parameter's name as the rule sees it.
      Name: string }

/// The comparison of one buffer (the parameter or a state buffer).
type BufferReport =
    { /// "param" or the state buffer's name.
      Buffer: string
      /// The storage format it is kept in, whose ulps measure the error.
      Format: StorageFormat
      /// Largest absolute difference (infinity when the buffer is missing on one side or lengths differ).
      MaxAbs: float
      /// Largest difference relative to the reference element (infinity where the reference is 0 and the other is not).
      MaxRel: float
      /// `MaxAbs` in ulps of `Format` at the reference buffer's largest magnitude.
      Ulps: float
      /// The tolerance in ulps of `Format`: `Tolerance.ulps`, plus the buffer's Newton–Schulz allowance in those ulps.
      Tolerance: float
      /// Whether `Ulps` is within `Tolerance`.
      Inside: bool }

/// The parameter shape when --shape is absent.
let defaultShape = [ 256; 128 ]
/// The number of steps when --steps is absent.
let defaultSteps = 10
/// The seed when --seed is absent.
let defaultSeed = 1

/// Parses a shape written as dimensions joined by x (256x128); every dimension must be positive.
let parseShape (text: string) : Result<int list, string> =
    let dims = text.Split('x', 'X') |> Array.map (fun d -> match Int32.TryParse d with | true, n when n > 0 -> Some n | _ -> None)
    if dims |> Array.forall Option.isSome then Ok(dims |> Array.choose id |> Array.toList)
    else Error(sprintf "--shape '%s': expected positive dimensions joined by x, such as 256x128" text)

/// The parameter's name when --name is absent.
let defaultName = "param"

/// Seeded random data in [-1, 1): the named parameter rounded to the parameter format and one
/// gradient per step rounded to the gradient format, as a backend storing in those formats receives them.
let inputs (name: string) (shape: int list) (steps: int) (seed: int) (dtypes: Dtypes) : Param * Vec[] =
    let rng = Random seed
    let size = List.fold (*) 1 shape
    let draw (format: StorageFormat) =
        Vector<float>.Build.Dense(size, fun _ -> StorageFormat.round format (2.0 * rng.NextDouble() - 1.0))
    let param = { Name = name; Shape = shape; Value = draw dtypes.Param }
    param, Array.init steps (fun _ -> draw dtypes.Grad)

/// Compares one buffer of the backend under test with the reference, allowing `allowance` (absolute) beyond Tolerance.
let compareBuffer (steps: int) (allowance: float) (name: string) (format: StorageFormat) (tested: Vec option) (reference: Vec option) : BufferReport =
    let report maxAbs maxRel ulps (tolerance: float) =
        { Buffer = name; Format = format; MaxAbs = maxAbs; MaxRel = maxRel; Ulps = ulps; Tolerance = tolerance; Inside = ulps <= tolerance }
    match tested, reference with
    | Some a, Some b when a.Count = b.Count ->
        // Identical values (infinities, both NaN) differ by 0; a NaN on one side only differs by infinity.
        let diff (x: float) (y: float) = if x = y || (Double.IsNaN x && Double.IsNaN y) then 0.0 else (let d = abs (x - y) in if Double.IsNaN d then infinity else d)
        let diffs = Array.map2 diff (a.ToArray()) (b.ToArray())
        let rel = Array.map2 (fun d (y: float) -> if d = 0.0 then 0.0 else d / abs y) diffs (b.ToArray())
        let maxAbs = Array.fold max 0.0 diffs
        let scale = b.ToArray() |> Array.filter Double.IsFinite |> Array.fold (fun m y -> max m (abs y)) 0.0
        let tolerance = Tolerance.ulps format steps + (if allowance = 0.0 then 0.0 else Tolerance.errorUlps format allowance scale)
        report maxAbs (Array.fold max 0.0 rel) (Tolerance.errorUlps format maxAbs scale) tolerance
    | _ -> report infinity infinity infinity (Tolerance.ulps format steps)

/// Compares the final parameter (in the parameter format) and every state buffer either side has (in the state format),
/// each allowed its absolute allowance by name beyond Tolerance (none where `allowances` lacks it).
let compareOutcomes (steps: int) (dtypes: Dtypes) (allowances: Map<string, float>) (tested: Outcome) (reference: Outcome) : BufferReport list =
    let names = Set.union (Set.ofSeq tested.Buffers.Keys) (Set.ofSeq reference.Buffers.Keys)
    let allowance name = Map.tryFind name allowances |> Option.defaultValue 0.0
    compareBuffer steps (allowance "param") "param" dtypes.Param (Some tested.Param) (Some reference.Param)
    :: [ for n in names -> compareBuffer steps (allowance n) n dtypes.State (Map.tryFind n tested.Buffers) (Map.tryFind n reference.Buffers) ]

/// Runs the comparison on the given backends; an error names the bad input.
let execute (backends: Backend list) (o: Options) : Result<BufferReport list, string> =
    let backend option name = Backends.find backends name |> Result.mapError (sprintf "%s: %s" option)
    let run (b: Backend) (request: Request) = b.Run request |> Result.mapError (sprintf "backend %s: %s" b.Name)
    match Catalog.shapeError o.Rule o.Shape with
    | _ when o.Steps < 1 -> Error(sprintf "--steps %d: must be at least 1" o.Steps)
    | Some e -> Error(sprintf "--shape %s: %s" (RunCommand.showShape o.Shape) e)
    | None ->
        Registry.find o.Rule |> Result.mapError (sprintf "--rule: %s")
        |> Result.bind (fun rule -> Hypers.parse rule o.Hypers |> Result.map (fun h -> rule, h))
        |> Result.bind (fun (rule, hypers) ->
            backend "--backend" o.Backend
            |> Result.bind (fun tested ->
                backend "--against" o.Against
                |> Result.bind (fun reference ->
                    let param, grads = inputs o.Name o.Shape o.Steps o.Seed o.Dtypes
                    let request = { Rule = rule; Hypers = hypers; Param = param; Grads = grads; Steps = o.Steps; Dtypes = o.Dtypes; Telemetry = false }
                    let allowances = NewtonSchulzTolerance.allowances tested.NewtonSchulz reference.NewtonSchulz request
                    run tested request
                    |> Result.bind (fun a -> run reference request |> Result.map (compareOutcomes o.Steps o.Dtypes allowances a)))))

/// A number as the table prints it.
let private number (x: float) = x.ToString("G4", Globalization.CultureInfo.InvariantCulture)

/// The table of buffer reports.
let table (reports: BufferReport list) : Table =
    let table = Table()
    for column in [ "buffer"; "format"; "max abs error"; "max rel error"; "ulps"; "tolerance (ulps)"; "inside" ] do
        table.AddColumn column |> ignore
    for r in reports do
        let cells = [ r.Buffer; StorageFormat.name r.Format; number r.MaxAbs; number r.MaxRel; number r.Ulps; number r.Tolerance; (if r.Inside then "yes" else "NO") ]
        table.AddRow(cells |> List.map (fun c -> Text c :> IRenderable)) |> ignore
    table

/// Reads a storage format option, checking it is one the option allows.
let private format (option: string) (allowed: StorageFormat list) (text: string option) : Result<StorageFormat, string> =
    match text with
    | None -> Ok Fp32
    | Some t ->
        match StorageFormat.parse t with
        | Ok f when List.contains f allowed -> Ok f
        | _ -> Error(sprintf "%s '%s': expected one of %s" option t (allowed |> List.map StorageFormat.name |> String.concat ", "))

/// The options the parsed arguments stand for; an error names the bad option.
let options (args: ParseResults<CompareArgs>) : Result<Options, string> =
    let shape = args.TryGetResult CompareArgs.Shape |> Option.map parseShape |> Option.defaultValue (Ok defaultShape)
    let dtypes =
        format "--param-dtype" [ Fp32; Bf16 ] (args.TryGetResult Param_Dtype)
        |> Result.bind (fun p ->
            format "--grad-dtype" [ Fp32; Bf16 ] (args.TryGetResult Grad_Dtype)
            |> Result.bind (fun g -> format "--state-dtype" StorageFormat.all (args.TryGetResult State_Dtype) |> Result.map (fun s -> { Param = p; Grad = g; State = s })))
    shape
    |> Result.bind (fun shape ->
        dtypes
        |> Result.map (fun dtypes ->
            { Rule = args.GetResult CompareArgs.Rule
              Backend = args.GetResult CompareArgs.Backend
              Against = args.GetResult Against
              Shape = shape
              Steps = args.GetResult(CompareArgs.Steps, defaultSteps)
              Seed = args.GetResult(CompareArgs.Seed, defaultSeed)
              Dtypes = dtypes
              Hypers = args.GetResults CompareArgs.Hyper |> List.concat
              Name = args.GetResult(CompareArgs.Name, defaultName) }))


/// `compare` on the given backends: prints the table; 0 when every buffer is inside the tolerance, 1 when
/// not, 2 on bad input.
let runOn (backends: Backend list) (args: ParseResults<CompareArgs>) : int =
    match options args |> Result.bind (fun o -> execute backends o |> Result.map (fun r -> o, r)) with
    | Ok(o, reports) ->
        printfn "%s: %s against %s, shape %s, %d steps, seed %d, param %s, grad %s, state %s" o.Rule o.Backend o.Against
            (RunCommand.showShape o.Shape) o.Steps o.Seed (StorageFormat.name o.Dtypes.Param) (StorageFormat.name o.Dtypes.Grad) (StorageFormat.name o.Dtypes.State)
        AnsiConsole.Write(table reports)
        if reports |> List.forall (fun r -> r.Inside) then 0 else Errors.checkFailed
    | Error e -> Errors.report e

/// The `compare` command on every backend.
let command (args: ParseResults<CompareArgs>) : int = runOn Backends.all args
