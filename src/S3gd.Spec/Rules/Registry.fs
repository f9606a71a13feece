/// Every rule of the spec, by command-line name.
module S3gd.Spec.Rules.Registry

open System.Reflection

/// The namespace whose modules are rules: each that defines `info: RuleInfo` is one.
let private rulesNamespace = typeof<RuleInfo>.Namespace

/// All rules, by name: every module of this namespace that defines a public `info: RuleInfo` (a rule's module
/// registers itself by defining it; nothing else lists the rules).
let all: RuleInfo list =
    typeof<RuleInfo>.Assembly.GetTypes()
    |> Array.filter (fun t -> t.Namespace = rulesNamespace && t.IsAbstract && t.IsSealed)
    |> Array.choose (fun t ->
        match t.GetProperty("info", BindingFlags.Public ||| BindingFlags.Static) with
        | null -> None
        | p when p.PropertyType = typeof<RuleInfo> -> Some(p.GetValue null :?> RuleInfo)
        | _ -> None)
    |> Array.sortBy (fun r -> r.Name)
    |> List.ofArray

/// The rule with the given command-line name; an unknown name is an error listing the known ones.
let find (name: string) : Result<RuleInfo, string> =
    match all |> List.tryFind (fun r -> r.Name = name) with
    | Some r -> Ok r
    | None -> Error(sprintf "unknown rule '%s' (known: %s)" name (all |> List.map (fun r -> r.Name) |> String.concat ", "))
