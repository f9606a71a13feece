/// StructuredBound.stableTermWithin, the RMS term of a gradient known within an interval (OAdamW's projected gradient):
/// the exact float64 term (the spec's debiased beta2 and eps^2) at every point of the interval lies within the bound,
/// also where the interval reaches over zero; and with no input error it is stableTerm's bound.
module S3gd.Properties.Structured.StructuredBoundTests

open Xunit
open FsCheck
open FsCheck.FSharp
open FsCheck.Xunit
open S3gd.Spec.Rules
open S3gd.Gpu.Structured
open S3gd.Conformance
open S3gd.Conformance.MathBound

let private real (lo: float) (hi: float) = Gen.choose (0, 1_000_000) |> Gen.map (fun k -> lo + (hi - lo) * float k / 1e6)

/// A case: beta2, eps, the step, the stored v, the gradient's centre and its error as a multiple of |centre| (0 to 2:
/// beyond 1 the interval holds zero).
let private cases =
    gen {
        let! beta2 = real 0.9 0.999
        let! eps = real 1e-8 1e-6
        let! step = Gen.choose (1, 5)
        let! v = Gen.frequency [ 1, Gen.constant 0.0; 3, real 0.0 1.0 ]
        let! magnitude = Gen.elements [ 1e-7; 1e-4; 1e-2; 1.0 ]
        let! centre = real -1.0 1.0 |> Gen.map (fun x -> x * magnitude)
        let! relative = Gen.frequency [ 1, Gen.constant 0.0; 3, real 0.0 2.0 ]
        return beta2, eps, step, v, centre, relative * abs centre
    }

[<Property(MaxTest = 300)>]
let ``the exact RMS term anywhere in the gradient's interval is within stableTermWithin's bound`` () =
    let property (beta2: float, eps: float, step: int, v: float, centre: float, error: float) =
        let config = StructuredConfig(StableAdamW.info, Map [ "beta2", Real beta2; "eps", Real eps ])
        let sc = StructuredScalars.For(config, step)
        let b2 = StableAdamW.debiasBeta beta2 step
        let exactTerm (g: float) = g * g / max (b2 * v + (1.0 - b2) * g * g) (eps * eps)
        let bound = StructuredBound.stableTermWithin sc (bounded centre error) v
        let points = [ for k in 0..20 -> centre - error + 2.0 * error * float k / 20.0 ] @ (if abs centre <= error then [ 0.0 ] else [])
        let outside = points |> List.filter (fun g -> not (abs (exactTerm g - bound.V) <= bound.E))
        let plain = StructuredBound.stableTerm sc centre v
        (List.isEmpty outside && (error > 0.0 || (plain.V = bound.V && plain.E = bound.E)))
        |> Prop.label (sprintf "bound %A, plain %A, outside at %A" bound plain outside)
    Prop.forAll (Arb.fromGen cases) property
