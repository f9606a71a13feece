/// Hyperparameters as the registry, the command line and saved files carry them: by torch.optim's
/// names, with defaults and valid ranges.
namespace S3gd.Spec.Rules

open System

/// A hyperparameter value.
type HyperValue =
    /// A real number (lr, betas, eps, ...).
    | Real of float
    /// A boolean switch (nesterov, amsgrad, ...).
    | Flag of bool
    /// A whole number (ns_steps, warm-up steps, ...).
    | Whole of int
    /// One of a fixed set of words (adjust_lr_fn, ...).
    | Word of string

/// The definition of one hyperparameter of a rule.
type HyperDef =
    { /// Name as torch.optim (or the rule's reference) spells it.
      Name: string
      /// Value when not given.
      Default: HyperValue
      /// The valid range in words, for errors and `s3gd list` ("[0, 1)", "> 0", "true|false").
      Range: string
      /// Whether a value lies in the valid range.
      Valid: HyperValue -> bool
      /// One line on what it does.
      Doc: string
      /// The range users typically set a real or whole number in (lr 1e-5 to 1e-2, ...), from which property tests draw
      /// values besides the default; None: the default (and 0 where valid) only.
      Typical: (float * float) option }

/// A set of hyperparameter values by name, complete after `Hyper.resolve`.
type Hypers = Map<string, HyperValue>

/// Building, checking and reading hyperparameter definitions and values.
module Hyper =
    /// A real hyperparameter valid when finite and `ok` holds.
    let real name (dflt: float) range (ok: float -> bool) doc =
        { Name = name; Default = Real dflt; Range = range; Doc = doc; Typical = None
          Valid = function Real v -> Double.IsFinite v && ok v | _ -> false }

    /// A boolean hyperparameter.
    let flag name (dflt: bool) doc =
        { Name = name; Default = Flag dflt; Range = "true|false"; Doc = doc; Typical = None
          Valid = function Flag _ -> true | _ -> false }

    /// A whole-number hyperparameter valid when `ok` holds.
    let whole name (dflt: int) range (ok: int -> bool) doc =
        { Name = name; Default = Whole dflt; Range = range; Doc = doc; Typical = None
          Valid = function Whole v -> ok v | _ -> false }

    /// A hyperparameter that takes one of the given words.
    let word name (dflt: string) (choices: string list) doc =
        { Name = name; Default = Word dflt; Range = String.Join("|", choices); Doc = doc; Typical = None
          Valid = function Word w -> List.contains w choices | _ -> false }

    /// The definition with the range its values typically lie in (for property tests' draws).
    let typically (low: float) (high: float) (def: HyperDef) = { def with Typical = Some(low, high) }

    /// The value as text, as the command line writes it.
    let show =
        function
        | Real v -> v.ToString("R", Globalization.CultureInfo.InvariantCulture)
        | Flag b -> if b then "true" else "false"
        | Whole n -> string n
        | Word w -> w

    /// Defaults overlaid with the given values; an unknown name or an out-of-range value is an error naming it and its range.
    let resolve (defs: HyperDef list) (given: Hypers) : Result<Hypers, string> =
        let unknown = given |> Map.toList |> List.tryFind (fun (k, _) -> defs |> List.forall (fun d -> d.Name <> k))
        match unknown with
        | Some(k, _) -> Error(sprintf "unknown hyperparameter '%s' (known: %s)" k (defs |> List.map (fun d -> d.Name) |> String.concat ", "))
        | None ->
            let values = defs |> List.map (fun d -> d.Name, defaultArg (Map.tryFind d.Name given) d.Default)
            let bad = values |> List.tryFind (fun (k, v) -> not ((defs |> List.find (fun d -> d.Name = k)).Valid v))
            match bad with
            | Some(k, v) -> Error(sprintf "hyperparameter %s=%s is out of range (valid: %s)" k (show v) (defs |> List.find (fun d -> d.Name = k)).Range)
            | None -> Ok(Map.ofList values)

    /// Reads a real hyperparameter from resolved values.
    let getReal (h: Hypers) name = match h[name] with Real v -> v | v -> invalidArg name (sprintf "%s is not a real number: %A" name v)
    /// Reads a boolean hyperparameter from resolved values.
    let getFlag (h: Hypers) name = match h[name] with Flag v -> v | v -> invalidArg name (sprintf "%s is not a boolean: %A" name v)
    /// Reads a whole-number hyperparameter from resolved values.
    let getWhole (h: Hypers) name = match h[name] with Whole v -> v | v -> invalidArg name (sprintf "%s is not a whole number: %A" name v)
    /// Reads a word hyperparameter from resolved values.
    let getWord (h: Hypers) name = match h[name] with Word v -> v | v -> invalidArg name (sprintf "%s is not a word: %A" name v)
