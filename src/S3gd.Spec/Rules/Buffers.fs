/// Reading and writing the named buffers of a rule's state (the registry's `NamedState`).
module S3gd.Spec.Rules.Buffers

/// The buffer of that name; a missing one is an error naming it and the buffers present.
let get (ns: NamedState) (name: string) : Vec =
    match Map.tryFind name ns.Buffers with
    | Some b -> b
    | None ->
        invalidArg "state" (sprintf "state has no buffer '%s' (has: %s)" name (ns.Buffers |> Map.keys |> String.concat ", "))

/// A named state from a step count and (name, buffer) pairs; `None` buffers are left out.
let named (step: int) (buffers: (string * Vec option) list) : NamedState =
    { Step = step; Buffers = buffers |> List.choose (fun (k, b) -> b |> Option.map (fun b -> k, b)) |> Map.ofList }
