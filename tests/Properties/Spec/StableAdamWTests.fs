/// StableAdamW and OAdamW: the clipped learning rate never exceeds lr; Kahan-compensated parameters stay
/// bf16; OAdamW on 1-D parameters is StableAdamW and on matrices is StableAdamW fed NS(g).
module S3gd.Properties.Spec.StableAdamWTests

open System
open FsCheck.FSharp
open FsCheck.Xunit
open Xunit
open S3gd.Spec.Formats
open S3gd.Spec.Rules
open S3gd.Properties.Spec.Gens

let private hypers =
    gen {
        let! lr = Gen.choose (1, 100) |> Gen.map (fun k -> float k * 1e-3)
        let! b1 = Gen.choose (0, 99) |> Gen.map (fun k -> float k / 100.0)
        let! b2 = Gen.choose (0, 999) |> Gen.map (fun k -> float k / 1000.0)
        let! wd = Gen.choose (0, 10) |> Gen.map (fun k -> float k / 100.0)
        let! eps = Gen.elements [ 0.0; 1e-8; 1e-6 ]
        return { StableAdamW.defaults with Lr = lr; Beta1 = b1; Beta2 = b2; WeightDecay = wd; Eps = eps }
    }

[<Property(MaxTest = 100)>]
let ``the RMS-clipped learning rate lr_t never exceeds lr`` () =
    forAll (Gen.zip3 hypers seed (Gen.choose (1, 8))) (fun (h, sd, steps) ->
        let rng = Random sd
        let n = 1 + rng.Next 30
        // gradients of very different scales from step to step make the RMS exceed 1 and clip.
        let grads = [ for _ in 1..steps -> (10.0 ** float (rng.Next 7 - 3)) * vec rng n ]
        grads
        |> List.fold
            (fun (p, s: StableAdamW.State) g ->
                let p', s' = StableAdamW.step h s g p
                let lrT = StableAdamW.clippedLr h g s'.ExpAvgSq
                Assert.True(lrT <= h.Lr, sprintf "lr_t %g > lr %g" lrT h.Lr)
                Assert.True(lrT > 0.0 || h.Lr = 0.0, sprintf "lr_t %g is not positive" lrT)
                p', s')
            (vec rng n, StableAdamW.init h n)
        |> ignore)

[<Property(MaxTest = 50)>]
let ``with kahan_sum the parameter stays bf16 and the compensation holds what rounding lost`` () =
    forAll (Gen.zip hypers seed) (fun (h, sd) ->
        let h = { h with KahanSum = true }
        let rng = Random sd
        let n = 1 + rng.Next 30
        let p0 = (vec rng n).Map Bf16.round
        let g = vec rng n
        let p, s = StableAdamW.step h (StableAdamW.init h n) g p0
        Assert.True(p.ForAll(fun x -> Bf16.round x = x), "parameter left the bf16 grid")
        let c = s.KahanComp.Value
        // p + c is the exact float64 result up to three bf16 roundings (the decay, the compensation, the sum), each at most
        // half a bf16 ulp (2^-8 relative) of |p| or |update|: 2^-7 * (|p| + |update|) bounds them.
        let exact, _ = StableAdamW.step { h with KahanSum = false } (StableAdamW.init { h with KahanSum = false } n) g p0
        for i in 0 .. n - 1 do
            let ulp = (abs p0[i] + abs (exact[i] - p0[i])) * 2.0 ** -7.0 + Double.Epsilon
            Assert.True(abs (p[i] + c[i] - exact[i]) <= ulp, sprintf "element %d: p+c = %g, exact %g" i (p[i] + c[i]) exact[i]))

[<Property(MaxTest = 50)>]
let ``OAdamW on 1-D parameters equals StableAdamW, through the registry`` () =
    forAll (Gen.zip seed (Gen.choose (1, 6))) (fun (sd, steps) ->
        let rng = Random sd
        let p = param rng "bias" [ 1 + rng.Next 30 ]
        let grads = [ for _ in 1..steps -> vec rng p.Value.Count ]
        let given = [ "lr", Real 0.01; "weight_decay", Real 0.05 ]
        let pO, sO = runRule (rule "oadamw" given) p grads
        let pS, sS = runRule (rule "stableadamw" given) p grads
        Assert.Equal<float[]>(pS.ToArray(), pO.ToArray())
        Assert.Equal<string list>(sS.Buffers |> Map.keys |> List.ofSeq, sO.Buffers |> Map.keys |> List.ofSeq)
        for KeyValue(k, v) in sS.Buffers do
            Assert.Equal<float[]>(v.ToArray(), sO.Buffers[k].ToArray()))

[<Property(MaxTest = 30)>]
let ``OAdamW on a matrix is StableAdamW fed the Newton-Schulz orthogonalised gradient`` () =
    forAll (Gen.zip3 seed (Gen.choose (1, 6)) (Gen.choose (1, 6))) (fun (sd, rows, cols) ->
        let rng = Random sd
        let h = OAdamW.defaults
        let shape = [ rows; cols ]
        let p, g = vec rng (rows * cols), vec rng (rows * cols)
        let pO, _ = OAdamW.step h shape (OAdamW.init h p.Count) g p
        let pS, _ = StableAdamW.step h.Core (StableAdamW.init h.Core p.Count) (OAdamW.project h shape g) p
        Assert.Equal<float[]>(pS.ToArray(), pO.ToArray()))

[<Fact>]
let ``OAdamW's ns_precision is float32 by default, iterated exactly by the spec; bf16 takes the spec's bf16 model`` () =
    let resolve given = match Hyper.resolve OAdamW.info.Hypers (Map given) with Ok v -> Ok(OAdamW.ofHypers v) | Error e -> Error e
    let h = match resolve [] with Ok h -> h | Error e -> failwith e
    Assert.Equal(NewtonSchulz.Float64, h.NsPrecision)
    let bf16 = match resolve [ "ns_precision", Word "bf16" ] with Ok h -> h | Error e -> failwith e
    Assert.Equal(NewtonSchulz.Bf16, bf16.NsPrecision)
    match resolve [ "ns_precision", Word "fp16" ] with
    | Ok _ -> failwith "ns_precision=fp16 was accepted"
    | Error e -> Assert.Contains("ns_precision", e)
    let rng = Random 4
    let g = vec rng (6 * 9)
    let ns precision = NewtonSchulz.orthogonalize precision NewtonSchulz.AddEps NewtonSchulz.quintic 5 OAdamW.projectorEps (NewtonSchulz.toMatrix 6 9 g)
    Assert.Equal<float[]>((NewtonSchulz.ofMatrix (ns NewtonSchulz.Float64)).ToArray(), (OAdamW.project h [ 6; 9 ] g).ToArray())
    Assert.Equal<float[]>((NewtonSchulz.ofMatrix (ns NewtonSchulz.Bf16)).ToArray(), (OAdamW.project bf16 [ 6; 9 ] g).ToArray())
