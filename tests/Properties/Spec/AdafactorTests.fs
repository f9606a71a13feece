/// Adafactor (torch.optim.Adafactor) by hand: a 2x3 matrix's first step (row and column means, V, U and alpha in round
/// numbers), a vector's two steps (the update RMS clip and d), maximize, weight decay, eps1's default, a 3-D parameter
/// as a batch of matrices, and the state torch names.
module S3gd.Properties.Spec.AdafactorTests

open System
open Xunit
open MathNet.Numerics.LinearAlgebra
open S3gd.Spec.Rules
open S3gd.Properties.Spec.Gens

let private v (xs: float list) : Vec = Vector<float>.Build.DenseOfArray(Array.ofList xs)

/// Every element within 1e-15 relative of the expected (float64 rounding of a few operations).
let private near (what: string) (expected: Vec) (actual: Vec) =
    Assert.Equal(expected.Count, actual.Count)
    for i in 0 .. expected.Count - 1 do
        Assert.True(abs (actual[i] - expected[i]) <= 1e-15 * max 1.0 (abs expected[i]), sprintf "%s[%d]: %.17g, expected %.17g" what i actual[i] expected[i])

let private lr = 0.01

// The 2x3 case: g = [[1, 2, 2], [0, 3, 0]] has row means 9/3 = 3 and 3, column means 1/2, 13/2 and 2; the mean of
// row_var is 3, so V = row_var (outer) col_var / 3 has every row [1/2, 13/2, 2], and U = g/sqrt(V) =
// [[sqrt 2, 2/sqrt 6.5, sqrt 2], [0, 3/sqrt 6.5, 0]], whose squares sum to 6: RMS 1, no clip. p = [[3, 0, 4], 0] has
// norm 5, so alpha = 5/sqrt 6 * min(lr, 1/sqrt 1).
let private g2x3 = v [ 1.0; 2.0; 2.0; 0.0; 3.0; 0.0 ]
let private p2x3 = v [ 3.0; 0.0; 4.0; 0.0; 0.0; 0.0 ]
let private u2x3 = v [ sqrt 2.0; 2.0 / sqrt 6.5; sqrt 2.0; 0.0; 3.0 / sqrt 6.5; 0.0 ]
let private alpha2x3 = 5.0 / sqrt 6.0 * lr

let private hyper = { Adafactor.defaults with Lr = lr }

[<Fact>]
let ``a 2x3 matrix's first step: factored means, V, U and alpha by hand`` () =
    let p, s = Adafactor.step hyper [ 2; 3 ] (Adafactor.init [ 2; 3 ]) g2x3 p2x3
    near "param" (p2x3 - alpha2x3 * u2x3) p
    Assert.Equal(1, s.Step)
    match s.Moments with
    | Adafactor.Factored(rowVar, colVar) ->
        near "row_var" (v [ 3.0; 3.0 ]) rowVar
        near "col_var" (v [ 0.5; 6.5; 2.0 ]) colVar
    | m -> Assert.Fail(sprintf "a 2-D parameter kept %A" m)

[<Fact>]
let ``weight decay scales p before the update, alpha from p before the decay`` () =
    let wd = 0.5
    let p, _ = Adafactor.step { hyper with WeightDecay = wd } [ 2; 3 ] (Adafactor.init [ 2; 3 ]) g2x3 p2x3
    near "param" ((1.0 - lr * wd) * p2x3 - alpha2x3 * u2x3) p

[<Fact>]
let ``maximize steps along +U, as the negated gradient without it`` () =
    let init = Adafactor.init [ 2; 3 ]
    let p, s = Adafactor.step { hyper with Maximize = true } [ 2; 3 ] init g2x3 p2x3
    near "param" (p2x3 + alpha2x3 * u2x3) p
    let q, r = Adafactor.step hyper [ 2; 3 ] init (-g2x3) p2x3
    Assert.Equal<float[]>(q.ToArray(), p.ToArray())
    Assert.Equal(Adafactor.toNamed r, Adafactor.toNamed s)

// The vector case with beta2_decay = -1 (weights 1, then 1/2): g1 = [1, 1] gives variance [1, 1] and U = [1, 1]; g2 =
// [7, 1] gives variance [(1 + 49)/2, 1] = [25, 1] and U = [7/5, 1], RMS sqrt(1.48) > 1: divided by it for d = 1, not for
// d = 2 (1.48 < 4).
let private vectorSteps (d: float) =
    let h = { hyper with Beta2Decay = -1.0; D = d }
    let p0 = v [ 0.5; -2.0 ]
    let p1, s1 = Adafactor.step h [ 2 ] (Adafactor.init [ 2 ]) (v [ 1.0; 1.0 ]) p0
    let p2, s2 = Adafactor.step h [ 2 ] s1 (v [ 7.0; 1.0 ]) p1
    p0, p1, p2, s2

[<Fact>]
let ``a vector's second step is clipped by its update RMS over d`` () =
    let p0, p1, p2, s2 = vectorSteps 1.0
    // Step 1: alpha = ||p0||/sqrt 2 * min(lr, 1); step 2: alpha = ||p1||/sqrt 2 * min(lr, 1/sqrt 2).
    near "step 1" (p0 - (p0.L2Norm() / sqrt 2.0 * lr) * v [ 1.0; 1.0 ]) p1
    near "step 2" (p1 - (p1.L2Norm() / sqrt 2.0 * lr / sqrt 1.48) * v [ 1.4; 1.0 ]) p2
    Assert.Equal(Adafactor.Unfactored(v [ 25.0; 1.0 ]), s2.Moments)
    let _, p1', p2', _ = vectorSteps 2.0
    near "step 2 with d = 2" (p1' - (p1'.L2Norm() / sqrt 2.0 * lr) * v [ 1.4; 1.0 ]) p2'

[<Fact>]
let ``eps1's None is float64's machine epsilon in the spec, an explicit eps1 replaces it`` () =
    // g^2 = 1e-40 lies below eps1^2 for both eps1, so U[0] = g/eps1; U[1] = 1 (V = 1) and the RMS stays below 1.
    let g, p = v [ 1e-20; 1.0 ], v [ 3.0; 4.0 ]
    let alpha = 5.0 / sqrt 2.0 * lr
    let rule = Adafactor.info.Create(match Hyper.resolve Adafactor.info.Hypers (Map [ "lr", Real lr ]) with Ok h -> h | Error e -> failwith e)
    let rule = match rule with Ok r -> r | Error e -> failwith e
    let pDefault, _ = rule.Step (rule.Init { Name = "b"; Shape = [ 2 ]; Value = p }) g { Name = "b"; Shape = [ 2 ]; Value = p }
    near "None" (p - alpha * v [ 1e-20 / Adafactor.float64Eps; 1.0 ]) pDefault
    let pGiven, _ = Adafactor.step { hyper with Eps1 = Some 1e-10 } [ 2 ] (Adafactor.init [ 2 ]) g p
    near "eps1 = 1e-10" (p - alpha * v [ 1e-10; 1.0 ]) pGiven

[<Fact>]
let ``a 3-D parameter is a batch of matrices: each keeps its own row_var and col_var`` () =
    let rng = Random 11
    let g, p = vec rng 12, vec rng 12
    let _, s = Adafactor.step hyper [ 2; 2; 3 ] (Adafactor.init [ 2; 2; 3 ]) g p
    let part k = Adafactor.step hyper [ 2; 3 ] (Adafactor.init [ 2; 3 ]) (g.SubVector(6 * k, 6)) (p.SubVector(6 * k, 6)) |> snd
    let named = Adafactor.toNamed s
    let concat name = v [ for k in 0 .. 1 do yield! (Adafactor.toNamed (part k)).Buffers[name] ]
    near "row_var" (concat "row_var") named.Buffers["row_var"]
    near "col_var" (concat "col_var") named.Buffers["col_var"]

[<Fact>]
let ``the state is named and shaped as torch's: row_var [..., R, 1], col_var [..., 1, C], or variance`` () =
    let r = rule "adafactor" []
    let shapes (shape: int list) =
        (r.Init { Name = "w"; Shape = shape; Value = Vector<float>.Build.Dense(List.fold (*) 1 shape) }).Buffers
        |> Map.map (fun _ b -> b.Count) |> Map.toList
    Assert.Equal<(string * int) list>([ "col_var", 2 * 5; "row_var", 2 * 4 ], shapes [ 2; 4; 5 ])
    Assert.Equal<(string * int) list>([ "col_var", 5; "row_var", 4 ], shapes [ 4; 5 ])
    Assert.Equal<(string * int) list>([ "variance", 7 ], shapes [ 7 ])
    Assert.Equal<(string * int) list>([ "variance", 1 ], shapes [])

[<Fact>]
let ``eps1 takes -1 as torch's None and refuses other negative values, naming it`` () =
    Assert.Equal(None, (Adafactor.ofHypers (match Hyper.resolve Adafactor.info.Hypers Map.empty with Ok h -> h | Error e -> failwith e)).Eps1)
    match Hyper.resolve Adafactor.info.Hypers (Map [ "eps1", Real -0.5 ]) with
    | Ok _ -> Assert.Fail "eps1 = -0.5 was accepted"
    | Error e -> Assert.Contains("eps1=-0.5", e)
