/// `--hyper name=value` as the command line writes hyperparameters: torch.optim's names, pairs such as
/// betas written either way (`betas=0.9,0.999` or `beta1=0.9 beta2=0.999`), booleans true/false, whole
/// numbers and words; checked against the rule's definitions by `Hyper.resolve`.
module S3gd.Cli.Hypers

open System
open System.Globalization
open S3gd.Spec.Rules

/// Splits `name=value` at its first '='.
let parseAssignment (text: string) : Result<string * string, string> =
    match text.IndexOf '=' with
    | i when i > 0 && i < text.Length - 1 -> Ok(text.Substring(0, i).Trim(), text.Substring(i + 1).Trim())
    | _ -> Error(sprintf "--hyper '%s': expected name=value" text)

/// Parses a value's text as the kind of value the definition's default is.
let parseValue (def: HyperDef) (text: string) : Result<HyperValue, string> =
    let bad kind = Error(sprintf "hyperparameter %s: cannot read '%s' as %s (valid: %s)" def.Name text kind def.Range)
    match def.Default with
    | Real _ ->
        match Double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture) with
        | true, v -> Ok(Real v)
        | _ -> bad "a real number"
    | Flag _ ->
        match text.ToLowerInvariant() with
        | "true" -> Ok(Flag true)
        | "false" -> Ok(Flag false)
        | _ -> bad "true or false"
    | Whole _ ->
        match Int32.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture) with
        | true, v -> Ok(Whole v)
        | _ -> bad "a whole number"
    | Word _ -> Ok(Word text)

/// Every name the rule accepts on the command line, pairs written as `betas=beta1,beta2`.
let knownNames (rule: RuleInfo) =
    (rule.Hypers |> List.map (fun d -> d.Name)) @ (rule.Pairs |> List.map (fun (p, a, b) -> sprintf "%s=%s,%s" p a b))

/// The (name, value text) assignments one `name=value` stands for: a pair name gives two.
let private expand (rule: RuleInfo) (name: string, text: string) : Result<(string * string) list, string> =
    match rule.Pairs |> List.tryFind (fun (p, _, _) -> p = name) with
    | Some(_, first, second) ->
        match text.Split(',', StringSplitOptions.TrimEntries) with
        | [| a; b |] -> Ok [ first, a; second, b ]
        | _ -> Error(sprintf "hyperparameter %s: expected two values '%s,%s' separated by a comma, got '%s'" name first second text)
    | None when rule.Hypers |> List.exists (fun d -> d.Name = name) -> Ok [ name, text ]
    | None -> Error(sprintf "unknown hyperparameter '%s' for rule %s (known: %s)" name rule.Name (String.Join(", ", knownNames rule)))

/// The rule's hyperparameters from `name=value` texts: parsed, checked for repeats, defaults filled in and
/// ranges checked by `Hyper.resolve`; an error names the hyperparameter and its valid range.
let parse (rule: RuleInfo) (assignments: string list) : Result<Hypers, string> =
    assignments
    |> List.map (fun a -> parseAssignment a |> Result.bind (expand rule))
    |> Errors.sequence
    |> Result.map List.concat
    |> Result.bind (fun pairs ->
        match pairs |> List.countBy fst |> List.tryFind (fun (_, n) -> n > 1) with
        | Some(name, _) -> Error(sprintf "hyperparameter %s is given more than once" name)
        | None ->
            pairs
            |> List.map (fun (name, text) -> parseValue (rule.Hypers |> List.find (fun d -> d.Name = name)) text |> Result.map (fun v -> name, v))
            |> Errors.sequence)
    |> Result.bind (Map.ofList >> Hyper.resolve rule.Hypers)

