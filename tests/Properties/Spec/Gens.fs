/// Shared generators for the spec properties: seeded random vectors, matrices and shapes.
module S3gd.Properties.Spec.Gens

open System
open FsCheck
open FsCheck.FSharp
open MathNet.Numerics.LinearAlgebra
open S3gd.Spec.Rules

/// Standard normal samples from a seeded generator (Box–Muller).
let normal (rng: Random) : float =
    sqrt (-2.0 * log (1.0 - rng.NextDouble())) * cos (2.0 * Math.PI * rng.NextDouble())

/// A vector of n standard normal values.
let vec (rng: Random) (n: int) : Vec = Vector<float>.Build.Dense(n, fun _ -> normal rng)

/// A positive vector of n values in (0, 2] (second moments).
let positive (rng: Random) (n: int) : Vec = Vector<float>.Build.Dense(n, fun _ -> 2.0 * (1.0 - rng.NextDouble()))

/// Seeds for System.Random.
let seed: Gen<int> = Gen.choose (0, Int32.MaxValue - 1)

/// A property over generated values, for a `[<Property>]` test to run: it fails where `prop` throws or is false.
let forAll (g: Gen<'T>) (prop: 'T -> 'Testable) : Property = Prop.forAll (Arb.fromGen g) prop

/// A deep copy of a vector (MathNet vectors are mutable: copies show whether a rule changed its inputs).
let copy (v: Vec) : Vec = v.Clone()

/// A named parameter with seeded normal values.
let param (rng: Random) (name: string) (shape: int list) : Param =
    { Name = name; Shape = shape; Value = vec rng (List.fold (*) 1 shape) }

/// The rule registered under `name` with hyperparameters `given` over its defaults; failing loudly otherwise.
let rule (name: string) (given: (string * HyperValue) list) : Rule =
    match Registry.find name |> Result.bind (fun i -> Hyper.resolve i.Hypers (Map.ofList given) |> Result.bind i.Create) with
    | Ok r -> r
    | Error e -> failwithf "rule %s: %s" name e

/// Runs a rule for the given gradients from its initial state.
let runRule (r: Rule) (p: Param) (grads: Vec list) : Vec * NamedState =
    grads |> List.fold (fun (v, s) g -> r.Step s g { p with Value = v }) (p.Value, r.Init p)
