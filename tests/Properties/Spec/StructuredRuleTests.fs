/// Every structured rule (muon, adam-mini, stableadamw, oadamw) through the registry: deterministic, inputs
/// unchanged, shapes it rejects named in the error; and the named-parameter optimizer with param groups.
module S3gd.Properties.Spec.StructuredRuleTests

open System
open FsCheck.FSharp
open FsCheck.Xunit
open Xunit
open S3gd.Spec.Rules
open S3gd.Properties.Spec.Gens

/// Each structured rule with a parameter name it partitions specially and the shapes it accepts.
let private cases =
    [ "muon", "layers.0.mlp.w1.weight", [ [ 3; 5 ]; [ 6; 2 ] ]
      "adam-mini", "model.layers.0.self_attn.q_proj.weight", [ [ 4; 8 ] ]
      "adam-mini", "model.layers.0.mlp.up_proj.weight", [ [ 3; 5 ]; [ 7 ] ]
      "stableadamw", "w", [ [ 7 ]; [ 3; 5 ] ]
      "oadamw", "w", [ [ 7 ]; [ 3; 5 ]; [ 2; 3; 2 ] ] ]

[<Property(MaxTest = 20)>]
let ``every structured rule is deterministic and leaves its inputs unchanged`` () =
    forAll seed (fun sd ->
        for name, pname, shapes in cases do
            for shape in shapes do
                // adam-mini needs dim*dim/n_heads to divide the query weight: dim 8, 4 heads gives 16.
                let r = rule name (if name = "adam-mini" then [ "dim", Whole 8; "n_heads", Whole 4; "weight_decay", Real 0.1 ] else [])
                let rng = Random sd
                let p = param rng pname shape
                let g1, g2 = vec rng p.Value.Count, vec rng p.Value.Count
                let _, s1 = r.Step (r.Init p) g1 p
                let pCopy, gCopy = copy p.Value, copy g2
                let sCopy = s1.Buffers |> Map.map (fun _ v -> copy v)
                let a, sa = r.Step s1 g2 p
                let b, sb = r.Step s1 g2 p
                Assert.Equal<float[]>(a.ToArray(), b.ToArray())
                Assert.Equal(sa.Step, sb.Step)
                for KeyValue(k, v) in sa.Buffers do
                    Assert.Equal<float[]>(v.ToArray(), sb.Buffers[k].ToArray())
                Assert.Equal<float[]>(pCopy.ToArray(), p.Value.ToArray())
                Assert.Equal<float[]>(gCopy.ToArray(), g2.ToArray())
                for KeyValue(k, v) in sCopy do
                    Assert.Equal<float[]>(v.ToArray(), s1.Buffers[k].ToArray()))

[<Fact>]
let ``muon rejects a parameter that is not 2-D, naming it and its shape`` () =
    let r = rule "muon" []
    let ex = Assert.Throws<ArgumentException>(fun () -> r.Init (param (Random 1) "model.norm.weight" [ 8 ]) |> ignore)
    Assert.Contains("model.norm.weight", ex.Message)
    Assert.Contains("8", ex.Message)

[<Fact>]
let ``the optimizer steps each named parameter under its group's hyperparameters`` () =
    let rng = Random 7
    let ps = [ param rng "layers.0.weight" [ 4; 3 ]; param rng "layers.0.bias" [ 4 ]; param rng "head.weight" [ 2; 4 ] ]
    let matrixH, vectorH = Map [ "lr", Real 0.02 ], Map [ "lr", Real 0.005; "weight_decay", Real 0.0 ]
    let groups = Optimizer.groupByDimension ps matrixH vectorH
    Assert.Equal<string list>([ "layers.0.weight"; "head.weight" ], groups[0].Params)
    Assert.Equal<string list>([ "layers.0.bias" ], groups[1].Params)
    let info = match Registry.find "oadamw" with Ok i -> i | Error e -> failwith e
    let opt = match Optimizer.create info groups with Ok o -> o | Error e -> failwith e
    let grads = ps |> List.map (fun p -> p.Name, vec rng p.Value.Count) |> Map.ofList
    let stepped, state = Optimizer.step opt (Optimizer.init opt ps) grads ps
    for p, p' in List.zip ps stepped do
        let given = if p.Shape.Length >= 2 then matrixH else vectorH
        let r = rule "oadamw" (Map.toList given)
        let expected, s = r.Step (r.Init p) grads[p.Name] p
        Assert.Equal<float[]>(expected.ToArray(), p'.Value.ToArray())
        Assert.Equal(s.Step, state[p.Name].Step)

[<Fact>]
let ``a parameter in two groups, or in none, is an error naming it`` () =
    let info = match Registry.find "stableadamw" with Ok i -> i | Error e -> failwith e
    match Optimizer.create info [ { Params = [ "a"; "b" ]; Hypers = Map.empty }; { Params = [ "b" ]; Hypers = Map.empty } ] with
    | Error e -> Assert.Contains("'b'", e)
    | Ok _ -> Assert.Fail "a parameter in two groups was accepted"
    let opt = match Optimizer.create info [ { Params = [ "a" ]; Hypers = Map.empty } ] with Ok o -> o | Error e -> failwith e
    let ex = Assert.Throws<ArgumentException>(fun () -> Optimizer.init opt [ param (Random 1) "c" [ 2 ] ] |> ignore)
    Assert.Contains("'c'", ex.Message)
