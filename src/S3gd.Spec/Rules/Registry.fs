/// Every rule of the spec, by command-line name.
module S3gd.Spec.Rules.Registry

/// All rules, in the order `s3gd list` prints them.
let all: RuleInfo list =
    [ Sgd.info; RmsProp.info; Adam.info; AdamW.info; SmoothedSignSgd.info; Signum.info; Lion.info; LaProp.info
      AdEMAMix.info; SimAdEMAMix.info; MAdam.info; AdamMini.info; StableAdamW.info; Muon.info; OAdamW.info ]

/// The rule with the given command-line name; an unknown name is an error listing the known ones.
let find (name: string) : Result<RuleInfo, string> =
    match all |> List.tryFind (fun r -> r.Name = name) with
    | Some r -> Ok r
    | None -> Error(sprintf "unknown rule '%s' (known: %s)" name (all |> List.map (fun r -> r.Name) |> String.concat ", "))
