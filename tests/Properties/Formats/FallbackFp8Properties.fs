/// Block-scaled fp8 with bf16 fallback (Adam-mini's first moment): which blocks stay fp8, which fall back, and what each
/// decodes to.
module S3gd.Properties.Formats.FallbackFp8Properties

open System
open Xunit
open FsCheck
open FsCheck.FSharp
open FsCheck.Xunit
open S3gd.Spec.Formats

/// The float32 relative rounding error, 2^-24 (the scaling by a power of two is exact; the bound keeps the earlier
/// margin of one rounding each way).
let private f32eps = Math.Pow(2.0, -24.0)

/// Blocks of 1-128 elements of one magnitude (2^-40..2^10), none zero: ordinary optimizer-state values.
let private ordinary =
    gen {
        let! n = Gen.choose (1, FallbackFp8.BlockSize)
        let! exponent = Gen.choose (-40, 10)
        let! raw = Gen.arrayOfLength n (Gen.choose (1, 1_000_000))
        let! signs = Gen.arrayOfLength n (Gen.elements [ -1.0; 1.0 ])
        return Array.map2 (fun r s -> float32 (s * float r / 1e6 * Math.Pow(2.0, float exponent))) raw signs
    }

let private formats = [ Fp8E4M3; Fp8E5M2 ]

[<Property(MaxTest = 300)>]
let ``a block that fp8 can hold is scaled by the smallest power of two that brings amax within max_finite and decodes within half an ulp of its scale`` () =
    let prop (values: float32[]) =
        formats
        |> List.forall (fun f ->
            match FallbackFp8.encode f values with
            | Scaled(codes, scale) ->
                let amax = values |> Array.map abs |> Array.max
                let largest = StorageFormat.maxFinite f
                // The power of two by its definition, found afresh: halve or double from 1 until amax / s lies in (max/2, max].
                let mutable s = 1.0
                while float amax / s > largest do s <- s * 2.0
                while float amax / s <= largest / 2.0 do s <- s / 2.0
                let expected = float32 s
                let dec = FallbackFp8.decode f (Scaled(codes, scale))
                scale = expected && codes = (values |> Array.map (fun x -> byte (StorageFormat.encode f (float (x / expected)))))
                && Array.forall2 (fun (x: float32) (y: float32) ->
                    abs (float y - float x) <= float scale * StorageFormat.ulp f (float x / float scale) / 2.0 + 3.0 * f32eps * abs (float x)) values dec
            | Wide _ ->
                // Only a block whose smallest element the scale flushes may fall back (ordinary blocks are finite).
                let codes, _ = FallbackFp8.scaled f values
                Array.exists2 (fun (x: float32) (c: byte) -> x <> 0.0f && c &&& 0x7Fuy = 0uy) values codes
            | Zeros _ -> false)
    Prop.forAll (Arb.fromGen ordinary) prop

[<Property(MaxTest = 200)>]
let ``a huge value among ordinary ones makes the block bf16, every element rounded to nearest`` () =
    let prop (values: float32[], at: int) =
        let values = Array.copy values
        values[at % values.Length] <- 1e30f
        values.Length = 1
        || formats
           |> List.forall (fun f ->
               match FallbackFp8.encode f values with
               | Wide codes -> codes = Array.map Bf16.encode32 values && FallbackFp8.decode f (Wide codes) = Array.map (Bf16.encode32 >> Bf16.decode32) values
               | _ -> false)
    Prop.forAll (Arb.fromGen (Gen.zip ordinary (Gen.choose (0, 127)))) prop

[<Fact>]
let ``zeros, infinities, NaN and scales that underflow`` () =
    for f in formats do
        Assert.Equal(Zeros 3, FallbackFp8.encode f [| 0.0f; -0.0f; 0.0f |])
        Assert.Equal<float32[]>([| 0.0f; 0.0f |], FallbackFp8.decode f (Zeros 2))
        // An infinity: fp8 e4m3fn has none, and e5m2 saturates here; bf16 keeps it.
        match FallbackFp8.encode f [| 1.0f; Single.PositiveInfinity |] with
        | Wide codes -> Assert.True(Single.IsPositiveInfinity(Bf16.decode32 codes[1]))
        | other -> failwithf "%A" other
        // amax 1e-44: the scale stops at 2^-127, and the block scaled by it lies below fp8's subnormals.
        Assert.True((match FallbackFp8.encode f [| 1e-44f; -5e-45f |] with Wide _ -> true | _ -> false))
        // NaN among finite values is an fp8 NaN code (the amax ignores it), as with only zeros (amax 0, scale 1).
        match FallbackFp8.encode f [| 1.0f; Single.NaN; 0.5f |] with
        | Scaled(codes, _) as block -> Assert.True(Single.IsNaN((FallbackFp8.decode f block)[1]) && codes[0] <> 0uy)
        | other -> failwithf "%A" other
        match FallbackFp8.encode f [| 0.0f; Single.NaN |] with
        | Scaled(_, scale) as block ->
            let dec = FallbackFp8.decode f block
            Assert.True(scale = 1.0f && dec[0] = 0.0f && Single.IsNaN dec[1])
        | other -> failwithf "%A" other
        // A block written with a scale that is not a power of two (before scales were) decodes as code times scale.
        Assert.Equal<float32[]>([| 448.0f * 0.3f |], FallbackFp8.decode f (Scaled([| byte (StorageFormat.encode f 448.0) |], 0.3f)))

[<Fact>]
let ``the scale is the power of two that brings amax within max_finite, and bad input is named`` () =
    Assert.Equal(1.0f, FallbackFp8.scaleOf Fp8E4M3 448.0f)
    Assert.Equal(2.0f, FallbackFp8.scaleOf Fp8E4M3 449.0f)
    Assert.Equal(0.5f, FallbackFp8.scaleOf Fp8E4M3 224.0f)
    Assert.Equal(1.0f, FallbackFp8.scaleOf Fp8E4M3 0.0f)
    Assert.Equal(float32 (Math.ScaleB(1.0, -127)), FallbackFp8.scaleOf Fp8E4M3 1e-44f)
    Assert.True(Single.IsNaN(FallbackFp8.scaleOf Fp8E5M2 Single.PositiveInfinity))
    let tooLong = Assert.Throws<ArgumentException>(fun () -> FallbackFp8.encode Fp8E4M3 (Array.create 129 1.0f) |> ignore)
    Assert.Contains("129", tooLong.Message)
    Assert.Equal("values", tooLong.ParamName)
    let notFp8 = Assert.Throws<ArgumentException>(fun () -> FallbackFp8.encode Bf16 [| 1.0f |] |> ignore)
    Assert.Contains("bf16", notFp8.Message)
