/// Newton–Schulz: shape kept, and singular values in the band the quintic coefficients promise.
module S3gd.Properties.Spec.NewtonSchulzTests

open System
open FsCheck.FSharp
open FsCheck.Xunit
open Xunit
open MathNet.Numerics.LinearAlgebra
open S3gd.Spec.Rules
open S3gd.Properties.Spec.Gens

/// The quintic's scalar map on a singular value: NS acts on each singular value of X/||X||_F independently.
let private f (k: NewtonSchulz.Coefficients) (x: float) = k.A * x + k.B * x ** 3.0 + k.C * x ** 5.0

/// The smallest normalised singular value the band is derived for: 1/(kappa*sqrt(min dim)) with the
/// generator's condition number kappa <= 10 and min dim <= 8 is 0.035 > 0.01.
let private smallest = 0.01

/// The band of f^5 over [smallest, 1], computed on a grid (f^5 is smooth: 2e5 points resolve it to ~1e-5).
let private band =
    let k = NewtonSchulz.quintic
    let ys = [ for i in 0..200000 -> Seq.fold (fun x _ -> f k x) (smallest + (1.0 - smallest) * float i / 200000.0) (seq { 1..5 }) ]
    List.min ys, List.max ys

/// The documented band of the quintic after 5 steps (Keller Jordan: "S' ~ Uniform(0.5, 1.5)", here tighter).
let private documentedLow, documentedHigh = 0.68, 1.135

[<Fact>]
let ``the quintic's five-step band over normalised singular values in [0.01, 1] is [0.6818, 1.1344]`` () =
    let lo, hi = band
    Assert.InRange(lo, documentedLow, 0.682)
    Assert.InRange(hi, 1.134, documentedHigh)

/// A rows x cols matrix U diag(s) V^T with singular values s in [1, 10] (condition number <= 10).
let private wellConditioned (rng: Random) (rows: int) (cols: int) =
    let q (n: int) = Matrix<float>.Build.Dense(n, n, fun _ _ -> normal rng).QR().Q
    let s = Matrix<float>.Build.Dense(rows, cols, fun i j -> if i = j then 1.0 + 9.0 * rng.NextDouble() else 0.0)
    q rows * s * q cols

let private shapes = Gen.zip3 seed (Gen.choose (1, 8)) (Gen.choose (1, 8))

[<Property(MaxTest = 50)>]
let ``NS keeps the input's shape in float64 and bf16`` () =
    forAll shapes (fun (sd, rows, cols) ->
        let rng = Random sd
        let g = Matrix<float>.Build.Dense(rows, cols, fun _ _ -> normal rng)
        for precision in [ NewtonSchulz.Float64; NewtonSchulz.Bf16 ] do
            let o = NewtonSchulz.orthogonalize precision NewtonSchulz.MaxEps NewtonSchulz.quintic 5 1e-7 g
            Assert.Equal((rows, cols), (o.RowCount, o.ColumnCount)))

[<Property(MaxTest = 50)>]
let ``NS singular values lie in the quintic's band and equal f^5 of the normalised input's`` () =
    forAll shapes (fun (sd, rows, cols) ->
        let g = wellConditioned (Random sd) rows cols
        let o = NewtonSchulz.orthogonalize NewtonSchulz.Float64 NewtonSchulz.MaxEps NewtonSchulz.quintic 5 1e-7 g
        let expected = g.Svd().S / g.FrobeniusNorm() |> Seq.map (fun x -> Seq.fold (fun x _ -> f NewtonSchulz.quintic x) x (seq { 1..5 })) |> Seq.sortDescending |> Array.ofSeq
        let actual = o.Svd().S.ToArray() |> Array.sortDescending
        let lo, hi = band
        for a, e in Array.zip actual expected do
            // 1e-9: the SVD and five polynomial steps in float64 agree far below this; a wrong term is off by 1e-2 or more.
            Assert.True(abs (a - e) < 1e-9, sprintf "singular value %g, expected f^5 = %g" a e)
            Assert.InRange(a, lo - 1e-9, hi + 1e-9))
