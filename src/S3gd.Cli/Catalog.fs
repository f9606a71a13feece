/// What the commands ask of OptimizerCatalog (one registration per rule), by command-line name: no command compares
/// rule names of its own.
module S3gd.Cli.Catalog

open S3gd.Gpu.Elementwise
open S3gd.Gpu.Optimizers
open S3gd.Gpu.Structured

/// A registered rule's kernel family (None for a name the catalog lacks).
let family (name: string) =
    match OptimizerCatalog.Entries.TryGetValue name with
    | true, entry -> Some entry.Family
    | _ -> None

/// Whether the rule is Muon's (2-D parameters only; its own bench case).
let isMuon (name: string) = family name = Some RuleFamily.Muon

/// Why the rule cannot take a parameter of this shape (Muon: 2-D only), or None.
let shapeError (name: string) (shape: int list) : string option =
    if isMuon name && List.length shape <> 2 then Some(sprintf "%s takes 2-D parameters only" name) else None

/// The rules with a structured step (a reduction, then the update), in catalog order.
let structuredRules = List.ofSeq (OptimizerCatalog.Family RuleFamily.Structured)

/// The structured rule of a name, if it has one.
let structured (name: string) : StructuredRule option = Option.ofNullable (StructuredConfig.RuleOf name)

/// The rules `s3gd bench` times unless --rule says which (the catalog's Bench flag), in catalog order.
let benchRules = [ for entry in OptimizerCatalog.Rules do if entry.Bench then entry.Name ]

/// Whether an elementwise rule keeps every state slot within [-1, 1] (S3GD's momentum), so fp8 stores it unscaled as
/// its reference does.
let boundedState (name: string) =
    match ElementwiseRules.ByName.TryGetValue name with
    | true, d -> d.SlotNames |> Seq.indexed |> Seq.forall (fun (slot, n) -> isNull n || d.Bounded slot)
    | _ -> false
