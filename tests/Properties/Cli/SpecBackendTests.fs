/// The spec backends: `spec-rounded` keeps every value it returns in its storage format, and `spec` is
/// the rule stepped as it is.
module S3gd.Properties.Cli.SpecBackendTests

open System
open Xunit
open FsCheck
open FsCheck.FSharp
open FsCheck.Xunit
open S3gd.Spec.Formats
open S3gd.Spec.Rules
open S3gd.Cli
open S3gd.Cli.Backend

/// Whether the value is one the format holds (NaN counts as held: the formats with NaN keep it).
let private held (format: StorageFormat) (x: float) =
    let r = StorageFormat.round format x
    r = x || (Double.IsNaN r && Double.IsNaN x)

[<Property(MaxTest = 20)>]
let ``spec-rounded returns a parameter and state that their storage formats hold, for every rule`` () =
    let prop (seed: int) (dtypes: Dtypes) =
        // Every rule with its defaults, and SGD with momentum so that a state buffer is checked today.
        (Registry.all |> List.map (fun r -> r, [])) @ [ Sgd.info, [ "momentum=0.9" ] ]
        |> List.forall (fun (rule, assignments) ->
            let param, grads = Compare.inputs "weight" [ 6; 5 ] 3 seed dtypes
            let request (h: Hypers) = { Rule = rule; Hypers = h; Param = param; Grads = grads; Steps = 3; Dtypes = dtypes; Telemetry = false }
            match Hypers.parse rule assignments |> Result.bind (request >> SpecBackend.specRounded.Run) with
            | Error e -> failwithf "%s: %s" rule.Name e
            | Ok o ->
                o.Param.ToArray() |> Array.forall (held dtypes.Param)
                && (assignments.IsEmpty || not o.Buffers.IsEmpty)
                && o.Buffers |> Map.forall (fun _ b -> b.ToArray() |> Array.forall (held dtypes.State)))
    let dtypes =
        gen {
            let! p = Gen.elements [ Fp32; Bf16 ]
            let! g = Gen.elements [ Fp32; Bf16 ]
            let! s = Gen.elements StorageFormat.all
            return { Param = p; Grad = g; State = s }
        }
    Prop.forAll (Arb.fromGen (Gen.zip (Gen.choose (0, 100000)) dtypes)) (fun (s, d) -> prop s d)
