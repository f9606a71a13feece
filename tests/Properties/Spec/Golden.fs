/// Loading the PyTorch golden cases (tests/Properties/Golden/<case>/, written by tools/golden/make_golden.py)
/// and running a rule over them the way `s3gd run` does: Registry.find, Hyper.resolve, Rule.Init and Rule.Step.
module S3gd.Properties.Spec.Golden

open System
open System.IO
open System.Text.Json
open MathNet.Numerics.LinearAlgebra
open S3gd.Spec.Io
open S3gd.Spec.Rules

/// One golden case as torch wrote it.
type Case =
    { Name: string
      Rule: string
      /// The parameter's name as the reference saw it (Adam-mini's partition reads it); the case name otherwise.
      ParamName: string
      Shape: int list
      Steps: int
      /// The spec's hyperparameters (torch's names, betas split into beta1/beta2) as JSON values.
      Hypers: (string * JsonElement) list
      Param0: Vec
      /// One gradient per step.
      Grads: Vec list
      Param: Vec
      /// Every state buffer torch kept, by torch's name.
      Buffers: Map<string, Vec> }

/// The folder of a golden case next to the test assembly.
let dir (case: string) = Path.Combine(AppContext.BaseDirectory, "Golden", case)

/// Reads a .npy of the case as a flat vector.
let private load (case: string) (file: string) : Vec =
    Vector<float>.Build.DenseOfArray(Npy.toFloats (Npy.read (Path.Combine(dir case, file + ".npy"))))

/// Reads a golden case.
let read (case: string) : Case =
    use doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(dir case, "manifest.json")))
    let root = doc.RootElement
    let shape = [ for d in root.GetProperty("shape").EnumerateArray() -> d.GetInt32() ]
    let steps = root.GetProperty("steps").GetInt32()
    let n = List.fold (*) 1 shape
    let grads = load case "grads"
    { Name = case
      Rule = root.GetProperty("rule").GetString()
      ParamName =
          match root.TryGetProperty "param_name" with
          | true, name -> name.GetString()
          | _ -> case
      Shape = shape
      Steps = steps
      Hypers = [ for p in root.GetProperty("hypers").EnumerateObject() -> p.Name, p.Value.Clone() ]
      Param0 = load case "param0"
      Grads = [ for t in 0 .. steps - 1 -> grads.SubVector(t * n, n) ]
      Param = load case "param"
      Buffers = Map [ for b in root.GetProperty("buffers").EnumerateArray() -> b.GetString(), load case (b.GetString()) ] }

/// A JSON value as the hyperparameter value its definition expects (numbers by the default's kind).
let private toValue (defs: HyperDef list) (name: string) (v: JsonElement) : HyperValue =
    match v.ValueKind, defs |> List.tryFind (fun d -> d.Name = name) |> Option.map (fun d -> d.Default) with
    | JsonValueKind.True, _ -> Flag true
    | JsonValueKind.False, _ -> Flag false
    | JsonValueKind.String, _ -> Word(v.GetString())
    | JsonValueKind.Number, Some(Whole _) -> Whole(v.GetInt32())
    | JsonValueKind.Number, _ -> Real(v.GetDouble())
    | kind, _ -> failwithf "hyperparameter %s: unsupported JSON value kind %A" name kind

/// Runs the case's rule, found by name in the registry, over its gradients; a rule absent from the registry fails naming it.
let run (c: Case) : Vec * NamedState =
    let info =
        match Registry.find c.Rule with
        | Ok info -> info
        | Error e -> failwithf "golden case %s needs rule '%s', not in this build's registry: %s" c.Name c.Rule e
    // torch's pairs (etas, step_sizes, Adafactor's eps) as the rule's two names; a null half (eps1=None) takes the default.
    let split (name: string, v: JsonElement) =
        match v.ValueKind, info.Pairs |> List.tryFind (fun (p, _, _) -> p = name) with
        | JsonValueKind.Array, Some(_, first, second) ->
            [ first, v[0]; second, v[1] ] |> List.filter (fun (_, x) -> x.ValueKind <> JsonValueKind.Null)
        | _ -> [ name, v ]
    let given = c.Hypers |> List.collect split |> List.map (fun (k, v) -> k, toValue info.Hypers k v) |> Map.ofList
    let rule =
        match Hyper.resolve info.Hypers given |> Result.bind info.Create with
        | Ok r -> r
        | Error e -> failwithf "golden case %s: %s" c.Name e
    let param = { Name = c.ParamName; Shape = c.Shape; Value = c.Param0 }
    c.Grads
    |> List.fold (fun (p: Vec, s) g -> rule.Step s g { param with Value = p }) (c.Param0, rule.Init param)

/// max|actual - expected| / max|expected|: the normwise relative error (elementwise relative error is
/// meaningless for entries near zero).
let relError (actual: Vec) (expected: Vec) : float =
    (actual - expected).InfinityNorm() / max (expected.InfinityNorm()) Double.Epsilon

/// torch's Newton–Schulz output at every step of a Muon case (ns.npy), one vector per step.
let nsOutputs (c: Case) : Vec list =
    let ns = load c.Name "ns"
    let n = c.Param0.Count
    [ for t in 0 .. c.Steps - 1 -> ns.SubVector(t * n, n) ]

/// A real hyperparameter of the case, or the fallback when the case leaves it at its default.
let real (c: Case) (name: string) (fallback: float) =
    c.Hypers |> List.tryFind (fun (k, _) -> k = name) |> Option.map (fun (_, v) -> v.GetDouble()) |> Option.defaultValue fallback

/// A word hyperparameter of the case, or the fallback.
let word (c: Case) (name: string) (fallback: string) =
    c.Hypers |> List.tryFind (fun (k, _) -> k = name) |> Option.map (fun (_, v) -> v.GetString()) |> Option.defaultValue fallback

/// A boolean hyperparameter of the case, or the fallback.
let flag (c: Case) (name: string) (fallback: bool) =
    c.Hypers |> List.tryFind (fun (k, _) -> k = name) |> Option.map (fun (_, v) -> v.GetBoolean()) |> Option.defaultValue fallback
