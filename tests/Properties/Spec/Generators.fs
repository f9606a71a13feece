/// Generators the spec's properties share: vectors of random length, hyperparameters in their valid ranges,
/// and a runner that takes a rule through several steps.
module S3gd.Properties.Spec.Generators

open System
open FsCheck
open FsCheck.FSharp
open MathNet.Numerics.LinearAlgebra
open S3gd.Spec.Rules

/// The longest vector the properties draw.
let maxLength = 300

/// The most steps a trajectory takes.
let maxSteps = 6

/// A vector length in 1..maxLength.
let length: Gen<int> = Gen.choose (1, maxLength)

/// n values drawn uniformly from [-scale, scale] for a scale of 1e-3, 1 or 10, about one in twenty exactly zero
/// (so sign(0) and zero moments are covered).
let values (n: int) : Gen<float[]> =
    gen {
        let! seed = Gen.choose (0, Int32.MaxValue)
        let! scale = Gen.elements [ 1e-3; 1.0; 10.0 ]
        let r = Random seed
        // 20: one value in twenty is an exact zero.
        return Array.init n (fun _ -> if r.Next 20 = 0 then 0.0 else (2.0 * r.NextDouble() - 1.0) * scale)
    }

/// A vector of n such values.
let vec (n: int) : Gen<Vec> = values n |> Gen.map (fun a -> Vector<float>.Build.DenseOfArray a)

/// A real drawn uniformly from [lo, hi] on a grid of a million points.
let real (lo: float) (hi: float) : Gen<float> =
    // 1e6: grid points between lo and hi.
    Gen.choose (0, 1_000_000) |> Gen.map (fun i -> lo + (hi - lo) * float i / 1e6)

/// A decay rate in [0, 0.999], with the ends 0 and the common 0.9, 0.99, 0.999 drawn often.
let beta: Gen<float> = Gen.oneof [ real 0.0 0.999; Gen.elements [ 0.0; 0.9; 0.99; 0.999 ] ]

/// A learning rate, log-uniform in [1e-5, 1e-1].
let lr: Gen<float> = real (-5.0) (-1.0) |> Gen.map (fun e -> 10.0 ** e)

/// A weight decay: 0 half the time, else log-uniform in [1e-4, 1e-1].
let weightDecay: Gen<float> = Gen.oneof [ Gen.constant 0.0; real (-4.0) (-1.0) |> Gen.map (fun e -> 10.0 ** e) ]

/// An eps: 0, 1e-15 or log-uniform in [1e-10, 1e-6].
let eps: Gen<float> = Gen.oneof [ Gen.elements [ 0.0; 1e-15 ]; real (-10.0) (-6.0) |> Gen.map (fun e -> 10.0 ** e) ]

/// A problem: a parameter and the gradients of 1..maxSteps steps, all of one length.
type Trajectory = { Param: Vec; Grads: Vec list }

/// A trajectory with a parameter of n elements.
let trajectoryOf (n: int) : Gen<Trajectory> =
    gen {
        let! p = vec n
        let! k = Gen.choose (1, maxSteps)
        let! gs = Gen.listOfLength k (vec n)
        return { Param = p; Grads = gs }
    }

/// A trajectory of random length.
let trajectory: Gen<Trajectory> = length |> Gen.bind trajectoryOf

/// Every step of a typed rule from a state: the parameters and states after each step.
let run (step: 's -> Vec -> Vec -> Vec * 's) (s0: 's) (t: Trajectory) : (Vec * 's) list =
    t.Grads |> List.scan (fun (p, s) g -> step s g p) (t.Param, s0) |> List.tail

/// Fails with the message unless the condition holds.
let require (ok: bool) (message: string) = if not ok then failwith message

/// The first index where two vectors differ bitwise, if any.
let firstBitDifference (a: Vec) (b: Vec) : int option =
    if a.Count <> b.Count then Some -1
    else Seq.init a.Count id |> Seq.tryFind (fun i -> BitConverter.DoubleToInt64Bits a[i] <> BitConverter.DoubleToInt64Bits b[i])

/// Fails naming the first index where two vectors differ bitwise.
let requireIdentical (what: string) (a: Vec) (b: Vec) =
    match firstBitDifference a b with
    | None -> ()
    | Some i when i < 0 -> failwithf "%s: lengths differ (%d vs %d)" what a.Count b.Count
    | Some i -> failwithf "%s: differs at %d: %.17g vs %.17g" what i a[i] b[i]

/// Fails naming the first index where |a - b| > tol * max(1, |a|, |b|).
let requireClose (what: string) (tol: float) (a: Vec) (b: Vec) =
    for i in 0 .. a.Count - 1 do
        let scale = max 1.0 (max (abs a[i]) (abs b[i]))
        if abs (a[i] - b[i]) > tol * scale then failwithf "%s: differs at %d: %.17g vs %.17g (tol %g)" what i a[i] b[i] tol

/// Building vectors in tests.
module Vectors =
    /// A zero vector of n elements.
    let zeros (n: int) : Vec = Vector<float>.Build.Dense n

    /// A vector of the given values.
    let ofList (xs: float list) : Vec = Vector<float>.Build.DenseOfArray(Array.ofList xs)
