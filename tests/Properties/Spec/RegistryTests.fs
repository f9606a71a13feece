/// Properties every rule in the registry has, whoever added it: steps are deterministic and pure.
module S3gd.Properties.Spec.RegistryTests

open FsCheck.FSharp
open FsCheck.Xunit
open Xunit
open S3gd.Spec.Rules
open S3gd.Properties.Spec.Generators

/// Cases per rule: every rule runs its own property, so fewer than the single-rule properties.
[<Literal>]
let private cases = 25

/// A parameter named and shaped as given.
let private param (shape: int list) (v: Vec) = { Name = "layers.0.weight"; Shape = shape; Value = v }

/// A deep copy of a named state.
let private copyState (ns: NamedState) = { ns with Buffers = ns.Buffers |> Map.map (fun _ b -> b.Clone()) }

/// Fails unless two named states are bitwise identical.
let private requireSameState (what: string) (a: NamedState) (b: NamedState) =
    require (a.Step = b.Step) (sprintf "%s: step %d vs %d" what a.Step b.Step)
    let keys (m: Map<string, Vec>) = m |> Map.keys |> List.ofSeq
    require (keys a.Buffers = keys b.Buffers) (sprintf "%s: buffers %A vs %A" what (keys a.Buffers) (keys b.Buffers))
    for KeyValue(k, v) in a.Buffers do
        requireIdentical (sprintf "%s, buffer %s" what k) v b.Buffers[k]

/// The shape a rule accepts for n values: [n] if its Init and first Step take a 1-D parameter (any exception
/// there counts as refusing it), else [rows; cols] with rows*cols = n (the largest divisor of n up to its square
/// root as rows).
let private shapeFor (rule: Rule) (n: int) : int list =
    let rows = Seq.init n ((+) 1) |> Seq.filter (fun r -> r * r <= n && n % r = 0) |> Seq.last
    let oneD = param [ n ] (Vectors.zeros n)
    try
        rule.Step (rule.Init oneD) (Vectors.zeros n) oneD |> ignore
        [ n ]
    with _ -> [ rows; n / rows ]

/// Steps a rule twice from copies of the same inputs through a trajectory: the outputs agree bit for bit and
/// the inputs are what they were.
let private deterministicAndPure (info: RuleInfo) (rule: Rule) (t: Trajectory) =
    let n = t.Param.Count
    let shape = shapeFor rule n
    let p0 = param shape t.Param
    let mutable state = rule.Init p0
    let mutable p = p0
    for k, g in List.indexed t.Grads do
        let what = sprintf "%s step %d" info.Name (k + 1)
        let pCopy, gCopy, sCopy = p.Value.Clone(), g.Clone(), copyState state
        let p1, s1 = rule.Step state g p
        let p2, s2 = rule.Step (copyState sCopy) (gCopy.Clone()) { p with Value = pCopy.Clone() }
        requireIdentical (what + ": param (two runs)") p1 p2
        requireSameState (what + ": state (two runs)") s1 s2
        requireIdentical (what + ": input param") pCopy p.Value
        requireIdentical (what + ": input grad") gCopy g
        requireSameState (what + ": input state") sCopy state
        state <- s1
        p <- { p with Value = p1 }

/// Every registered rule that its defaults create.
let private created =
    Registry.all
    |> List.choose (fun info ->
        match Hyper.resolve info.Hypers Map.empty |> Result.bind info.Create with
        | Ok rule -> Some(info, rule)
        | Error _ -> None)

/// Each rule's property labelled with its name: every case draws a trajectory for each rule.
[<Property(MaxTest = cases)>]
let ``every registered rule steps deterministically and leaves its inputs unchanged`` () =
    require (not created.IsEmpty) "no registered rule could be created with its defaults"
    created |> List.map (fun (info, rule) -> Gens.forAll trajectory (deterministicAndPure info rule) |> Prop.label info.Name) |> List.reduce (.&.)

/// Signum with shape scaling, its defaults overridden.
let private shapeScaledSignum =
    Hyper.resolve Signum.info.Hypers (Map [ "use_shape_scaling", Flag true ]) |> Result.bind Signum.info.Create |> function Ok r -> r | Error e -> failwith e

[<Property(MaxTest = cases)>]
let ``a rule that refuses 1-D parameters is stepped on a 2-D shape, deterministically and purely`` () =
    require (shapeFor shapeScaledSignum 12 = [ 3; 4 ]) (sprintf "shape for 12 values: %A" (shapeFor shapeScaledSignum 12))
    Gens.forAll trajectory (deterministicAndPure Signum.info shapeScaledSignum)

[<Fact>]
let ``an out-of-range hyperparameter is an error naming it and its valid range`` () =
    match Hyper.resolve Adam.info.Hypers (Map [ "beta1", Real 1.0 ]) with
    | Ok _ -> failwith "beta1 = 1 was accepted"
    | Error message ->
        Assert.Contains("beta1=1", message)
        Assert.Contains("[0, 1)", message)
