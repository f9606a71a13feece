/// A spec-level optimizer, as torch.optim.Optimizer: one rule over several named parameters in param
/// groups, each group with its own hyperparameters (overlaid on the rule's defaults), state per parameter.
module S3gd.Spec.Rules.Optimizer

/// A param group as given: parameter names and the hyperparameters that differ from the rule's defaults.
type GroupSpec = { Params: string list; Hypers: Hypers }

/// A param group with its rule resolved.
type Group = { Params: string list; Hypers: Hypers; Rule: Rule }

/// An optimizer: a rule and its groups.
type Optimizer = { Info: RuleInfo; Groups: Group list }

/// The state of every parameter, by name.
type State = Map<string, NamedState>

/// The optimizer for a rule and groups; an unknown hyperparameter, a bad value or a parameter in two groups is an error naming it.
let create (info: RuleInfo) (groups: GroupSpec list) : Result<Optimizer, string> =
    let names = groups |> List.collect (fun g -> g.Params)
    match names |> List.countBy id |> List.tryFind (fun (_, n) -> n > 1) with
    | Some(name, _) -> Error(sprintf "parameter '%s' is in more than one param group" name)
    | None ->
        let resolved =
            groups
            |> List.mapi (fun i g ->
                Hyper.resolve info.Hypers g.Hypers
                |> Result.bind (fun h -> info.Create h |> Result.map (fun r -> { Params = g.Params; Hypers = h; Rule = r }))
                |> Result.mapError (sprintf "param group %d: %s" i))
        match resolved |> List.tryPick (function Error e -> Some e | Ok _ -> None) with
        | Some e -> Error e
        | None -> Ok { Info = info; Groups = resolved |> List.map (function Ok g -> g | Error e -> failwith e) }

/// The group a named parameter belongs to; a parameter in no group is an error naming it.
let groupOf (opt: Optimizer) (name: string) : Group =
    match opt.Groups |> List.tryFind (fun g -> List.contains name g.Params) with
    | Some g -> g
    | None -> invalidArg "params" (sprintf "parameter '%s' is in no param group" name)

/// The state before the first step for every parameter.
let init (opt: Optimizer) (ps: Param list) : State =
    ps |> List.map (fun p -> p.Name, (groupOf opt p.Name).Rule.Init p) |> Map.ofList

/// One step over all parameters: each parameter with a gradient steps under its group's rule; one without keeps its value and state (as torch skips grad None).
let step (opt: Optimizer) (state: State) (grads: Map<string, Vec>) (ps: Param list) : Param list * State =
    ps
    |> List.fold
        (fun (acc, st: State) p ->
            match Map.tryFind p.Name grads with
            | None -> p :: acc, st
            | Some g ->
                let value, s' = (groupOf opt p.Name).Rule.Step st[p.Name] g p
                { p with Value = value } :: acc, st.Add(p.Name, s'))
        ([], state)
    |> fun (acc, st) -> List.rev acc, st

/// OAdamW's automatic grouping: 2-D+ parameters in the first group (the "muon" group), the rest in the second; empty groups are left out.
let groupByDimension (ps: Param list) (matrixHypers: Hypers) (vectorHypers: Hypers) : GroupSpec list =
    let matrices, vectors = ps |> List.partition (fun p -> List.length p.Shape >= 2)
    [ { Params = matrices |> List.map (fun p -> p.Name); Hypers = matrixHypers }
      { Params = vectors |> List.map (fun p -> p.Name); Hypers = vectorHypers } ]
    |> List.filter (fun (g: GroupSpec) -> not g.Params.IsEmpty)
