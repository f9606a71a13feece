/// FsCheck properties of encoding into every narrow format: monotone, ties to even, within half an ulp,
/// saturating (or overflowing to infinity) outside the range.
module S3gd.Properties.Formats.EncodeProperties

open System
open Xunit
open FsCheck
open FsCheck.FSharp
open FsCheck.Xunit
open S3gd.Spec.Formats

/// A narrow format under test: its layout, overflow mode and encoder.
type private Case = { Name: string; Layout: Minifloat.Layout; Overflow: Minifloat.Overflow; Encode: float -> uint32 }

let private cases =
    [ { Name = "bf16"; Layout = Bf16.layout; Overflow = Minifloat.ToInfinity; Encode = Bf16.encode >> uint32 }
      { Name = "fp8e4m3"; Layout = Fp8.e4m3; Overflow = Minifloat.Saturate; Encode = Fp8.encodeE4M3 >> uint32 }
      { Name = "fp8e5m2 satfinite"; Layout = Fp8.e5m2; Overflow = Minifloat.Saturate; Encode = Fp8.encodeE5M2 Minifloat.Saturate >> uint32 }
      { Name = "fp8e5m2 ieee"; Layout = Fp8.e5m2; Overflow = Minifloat.ToInfinity; Encode = Fp8.encodeE5M2 Minifloat.ToInfinity >> uint32 } ]

/// Cases per property.
[<Literal>]
let private maxTest = 2000

/// Values of either sign spread over magnitudes from 2^-30 (below every subnormal) to 2^130 (above every max).
let private values =
    gen {
        let! e = Gen.choose (-30, 130)
        let! f = Gen.choose (0, 1 <<< 24)
        let! negative = Gen.elements [ false; true ]
        let m = (1.0 + float f / float (1 <<< 24)) * Math.Pow(2.0, float e)
        return if negative then -m else m
    }

/// Values within a format's finite range.
let private inRange (l: Minifloat.Layout) =
    values |> Gen.map (fun v -> Math.IEEERemainder(v, 2.0 * Minifloat.maxFinite l) |> fun r -> if abs r > Minifloat.maxFinite l then r / 2.0 else r)

/// The property for every case at once, each labelled with its case: every test draws values for each.
let private forEachCase (check: Case -> Property) =
    cases |> List.map (fun c -> check c |> Prop.label c.Name) |> List.reduce (.&.)

[<Property(MaxTest = maxTest)>]
let ``encoding is monotone`` () =
    forEachCase (fun c ->
        Prop.forAll (Arb.fromGen (Gen.zip values values)) (fun (x, y) ->
            let lo, hi = min x y, max x y
            Minifloat.decode c.Layout (c.Encode lo) <= Minifloat.decode c.Layout (c.Encode hi)))

[<Property(MaxTest = maxTest)>]
let ``an in-range value is within half an ulp of its encoding`` () =
    forEachCase (fun c ->
        Prop.forAll (Arb.fromGen (inRange c.Layout)) (fun x ->
            abs (Minifloat.decode c.Layout (c.Encode x) - x) <= Minifloat.ulp c.Layout x / 2.0))

[<Property(MaxTest = maxTest)>]
let ``an exact tie between two neighbouring codes goes to the even code`` () =
    forEachCase (fun c ->
        let codes = 1 <<< Minifloat.bits c.Layout
        let neighbours =
            Gen.choose (0, codes - 2)
            |> Gen.map uint32
            |> Gen.filter (fun code ->
                let a, b = Minifloat.decode c.Layout code, Minifloat.decode c.Layout (code + 1u)
                Double.IsFinite a && Double.IsFinite b && Math.Sign a = Math.Sign b && a <> 0.0)
        Prop.forAll (Arb.fromGen neighbours) (fun code ->
            let a, b = Minifloat.decode c.Layout code, Minifloat.decode c.Layout (code + 1u)
            let tie = (a + b) / 2.0 // exact in float64: both neighbours have at most 8 significant bits
            let even = if code % 2u = 0u then code else code + 1u
            c.Encode tie = even))

[<Property(MaxTest = maxTest)>]
let ``values beyond the range saturate or overflow to infinity as the mode says`` () =
    forEachCase (fun c ->
        let max = Minifloat.maxFinite c.Layout
        // Past max plus half the top binade's ulp, round-to-nearest leaves the finite range.
        let beyond = max + Minifloat.ulp c.Layout max / 2.0
        let big = values |> Gen.map (fun v -> Math.CopySign(beyond + abs v, v))
        Prop.forAll (Arb.fromGen big) (fun x ->
            let y = Minifloat.decode c.Layout (c.Encode x)
            match c.Overflow with
            | Minifloat.Saturate -> y = Math.CopySign(max, x)
            | Minifloat.ToInfinity -> Double.IsInfinity y && Math.Sign y = Math.Sign x))

[<Fact>]
let ``fp8e4m3 saturates infinities and keeps NaN`` () =
    Assert.Equal(Fp8.encodeE4M3 Double.PositiveInfinity, Fp8.encodeE4M3 448.0)
    Assert.Equal(0xFEuy, Fp8.encodeE4M3 Double.NegativeInfinity)
    Assert.Equal(0x7Fuy, Fp8.encodeE4M3 Double.NaN)

[<Property(MaxTest = maxTest)>]
let ``bf16 from float32 and from float64 agree on every float32`` () =
    let bits = Gen.choose (Int32.MinValue, Int32.MaxValue) |> Gen.map (fun i -> BitConverter.Int32BitsToSingle i)
    Prop.forAll (Arb.fromGen bits) (fun x -> Single.IsNaN x || Bf16.encode32 x = Bf16.encode (float x))

[<Fact>]
let ``a bf16 NaN stays a quiet NaN with its sign`` () =
    let nan = BitConverter.UInt32BitsToSingle 0xFF800001u // negative signalling NaN with payload only in the low bits
    let code = Bf16.encode32 nan
    Assert.True(Single.IsNaN(Bf16.decode32 code))
    Assert.Equal(0xFFC0us, code)
