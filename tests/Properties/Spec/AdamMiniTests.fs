/// Adam-mini: one block per element is AdamW; the partitions by name and shape.
module S3gd.Properties.Spec.AdamMiniTests

open System
open FsCheck.FSharp
open FsCheck.Xunit
open Xunit
open MathNet.Numerics.LinearAlgebra
open S3gd.Spec.Rules
open S3gd.Properties.Spec.Gens

/// AdamW as torch.optim.AdamW computes it (decoupled decay, bias correction, no amsgrad), written here
/// independently of any rule module: returns (p', exp_avg', exp_avg_sq').
let private adamw (h: AdamMini.Hyper) (t: int) (m: Vec) (v: Vec) (g: Vec) (p: Vec) =
    let p = p * (1.0 - h.Lr * h.WeightDecay)
    let m = m + (1.0 - h.Beta1) * (g - m)
    let v = h.Beta2 * v + (1.0 - h.Beta2) * g.PointwiseMultiply g
    let bc1, bc2 = 1.0 - h.Beta1 ** float t, 1.0 - h.Beta2 ** float t
    p - (h.Lr / bc1) * m.PointwiseDivide(v.PointwiseSqrt() / sqrt bc2 + h.Eps), m, v

let private hypers =
    gen {
        let! lr = Gen.choose (1, 100) |> Gen.map (fun k -> float k * 1e-3)
        let! b1 = Gen.choose (0, 99) |> Gen.map (fun k -> float k / 100.0)
        let! b2 = Gen.choose (0, 999) |> Gen.map (fun k -> float k / 1000.0)
        let! wd = Gen.choose (0, 10) |> Gen.map (fun k -> float k / 100.0)
        return { AdamMini.defaults with Lr = lr; Beta1 = b1; Beta2 = b2; WeightDecay = wd }
    }

[<Property(MaxTest = 100)>]
let ``Adam-mini with one block per element equals AdamW with decoupled decay`` () =
    // Compared: the parameter (p), m against exp_avg and vmean against exp_avg_sq after 1-6 steps, within
    // 1e-12 normwise relative: the two differ only in where lr/bc1 is multiplied (rounding order).
    forAll (Gen.zip3 hypers seed (Gen.choose (1, 6))) (fun (h, sd, steps) ->
        let rng = Random sd
        let n = 1 + rng.Next 40
        let p0 = vec rng n
        let grads = [ for _ in 1..steps -> vec rng n ]
        let pMini, sMini = grads |> List.fold (fun (p, s) g -> AdamMini.step h 1 h.WeightDecay s g p) (p0, AdamMini.init n 1)
        let zeros = Vector<float>.Build.Dense n
        let pRef, mRef, vRef, _ = grads |> List.fold (fun (p, m, v, t) g -> let p, m, v = adamw h t m v g p in p, m, v, t + 1) (p0, zeros, zeros, 1)
        let rel (a: Vec) (b: Vec) = (a - b).InfinityNorm() / max (b.InfinityNorm()) Double.Epsilon
        Assert.True(rel pMini pRef <= 1e-12, sprintf "param %g" (rel pMini pRef))
        Assert.True(rel sMini.M mRef <= 1e-12, sprintf "m %g" (rel sMini.M mRef))
        Assert.True(rel sMini.VMean vRef <= 1e-12, sprintf "vmean %g" (rel sMini.VMean vRef)))

let private model: AdamMiniPartition.Model = { Dim = 8; NHeads = 4; NKvHeads = 2 }
let private named (name: string) (shape: int list) = param (Random 1) name shape

[<Fact>]
let ``the Hessian-aware partition splits query/key per head, value/output/MLP and embeddings per row, others whole`` () =
    let block name shape = AdamMiniPartition.blockLength AdamMiniPartition.Hessian model (named name shape)
    // head size = dim*dim/n_heads = 16 elements; a key projection with 2 kv heads of 2 rows x 8 has 32 = 2 heads.
    Assert.Equal(16, block "layers.0.attention.wq.weight" [ 8; 8 ])
    Assert.Equal(16, block "model.layers.0.self_attn.k_proj.weight" [ 4; 8 ])
    Assert.Equal(8, block "model.layers.0.self_attn.v_proj.weight" [ 4; 8 ])
    Assert.Equal(8, block "model.layers.0.mlp.up_proj.weight" [ 16; 8 ])
    Assert.Equal(8, block "model.embed_tokens.weight" [ 32; 8 ])
    Assert.Equal(8, block "model.norm.weight" [ 8 ])
    Assert.False(AdamMiniPartition.decays AdamMiniPartition.Hessian "model.layers.0.input_layernorm.weight")
    Assert.True(AdamMiniPartition.decays AdamMiniPartition.Hessian "model.layers.0.mlp.up_proj.weight")

[<Fact>]
let ``adam_mini.py's partition: bias per element, query and key per head, its row names per row, others whole`` () =
    let kind name shape = AdamMiniPartition.kindOf AdamMiniPartition.Reference name shape
    Assert.Equal(AdamMiniPartition.PerElement, kind "model.layers.0.self_attn.q_proj.bias" [ 8 ])
    Assert.Equal(AdamMiniPartition.PerHead, kind "bert.encoder.layer.0.attention.self.Query.weight" [ 8; 8 ])
    Assert.Equal(AdamMiniPartition.PerRow, kind "bert.encoder.layer.0.attention.output.dense.weight" [ 8; 8 ])
    Assert.Equal(AdamMiniPartition.PerRow, kind "model.embed_tokens.weight" [ 32; 8 ])
    Assert.Equal(AdamMiniPartition.PerRow, kind "model.layers.0.mlp.up_proj.weight" [ 16; 8 ])
    // GPT-2's attention output is attn.c_proj, not one of adam_mini.py's attn_proj_names ("attn.proj").
    Assert.Equal(AdamMiniPartition.Whole, kind "transformer.h.0.attn.c_proj.weight" [ 8; 8 ])
    // A 1-D parameter of a row name is one block (adam_mini.py indexes a second dimension of it and fails).
    Assert.Equal(AdamMiniPartition.Whole, kind "bert.encoder.layer.0.output.LayerNorm.weight" [ 8 ])
    Assert.False(AdamMiniPartition.decays AdamMiniPartition.Reference "transformer.h.0.ln_1.weight")
    Assert.False(AdamMiniPartition.decays AdamMiniPartition.Reference "transformer.h.0.attn.c_attn.bias")
    Assert.True(AdamMiniPartition.decays AdamMiniPartition.Reference "transformer.h.0.mlp.c_fc.weight")

[<Fact>]
let ``a query weight whose size is not a multiple of the head size is an error naming it`` () =
    let ex = Assert.Throws<ArgumentException>(fun () -> AdamMiniPartition.blockLength AdamMiniPartition.Hessian model (named "wq.weight" [ 3; 5 ]) |> ignore)
    Assert.Contains("wq.weight", ex.Message)

[<Fact>]
let ``through the registry, the default partition gives bias terms per-element AdamW and no decay on norms`` () =
    let r = rule "adam-mini" [ "weight_decay", Real 0.1; "dim", Whole 8; "n_heads", Whole 4 ]
    let p = named "model.layers.0.mlp.down_proj.bias" [ 12 ]
    Assert.Equal(12, (r.Init p).Buffers["vmean"].Count)
    let norm = named "model.norm.weight" [ 5 ]
    let g = Vector<float>.Build.Dense(5)
    let p', _ = r.Step (r.Init norm) g norm
    // a zero gradient moves nothing but decay: a norm parameter takes none, so it is unchanged.
    Assert.Equal<float[]>(norm.Value.ToArray(), p'.ToArray())
