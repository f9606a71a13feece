/// Block-scaled fp8: the scale of each block, the error of a round trip, and the errors for bad input.
module S3gd.Properties.Formats.BlockScaledProperties

open System
open Xunit
open FsCheck
open FsCheck.FSharp
open FsCheck.Xunit
open S3gd.Spec.Formats

/// The float32 relative rounding error, 2^-24: the divide by the scale and the multiply back each add one.
let private f32eps = Math.Pow(2.0, -24.0)

/// Vectors of 1-700 elements whose magnitudes span 2^-40..2^10 (optimizer-state-like: gradients ~1e-4 and below).
let private vectors =
    gen {
        let! n = Gen.choose (1, 700)
        let! exponent = Gen.choose (-40, 10)
        let! raw = Gen.arrayOfLength n (Gen.choose (-1_000_000, 1_000_000))
        return raw |> Array.map (fun r -> float32 (float r / 1e6 * Math.Pow(2.0, float exponent)))
    }

let private formats = [ Fp8E4M3; Fp8E5M2 ]

[<Property(MaxTest = 300)>]
let ``a round trip is within half an ulp of the scaled format per element`` () =
    let prop (values: float32[], blockSize: int) =
        formats
        |> List.forall (fun f ->
            let enc = BlockScaled.encode f blockSize values
            let dec = BlockScaled.decode enc
            values
            |> Array.mapi (fun i x ->
                let scale = float enc.Scales[i / blockSize]
                let bound = scale * StorageFormat.ulp f (float x / scale) / 2.0 + 3.0 * f32eps * abs (float x)
                abs (float dec[i] - float x) <= bound)
            |> Array.forall id)
    Prop.forAll (Arb.fromGen (Gen.zip vectors (Gen.elements [ 1; 7; 32; 128 ]))) prop

[<Property(MaxTest = 200)>]
let ``each scale is the block's absmax over the format's max, and zero blocks have scale 1`` () =
    let prop (values: float32[]) =
        let values = Array.append values (Array.zeroCreate BlockScaled.DefaultBlockSize) // a trailing all-zero block
        formats
        |> List.forall (fun f ->
            let enc = BlockScaled.encode f BlockScaled.DefaultBlockSize values
            enc.Scales
            |> Array.mapi (fun b s ->
                let block = values |> Array.skip (b * enc.BlockSize) |> Array.truncate enc.BlockSize
                let absmax = block |> Array.map abs |> Array.max
                if absmax = 0.0f then s = 1.0f else s = absmax / float32 (StorageFormat.maxFinite f))
            |> Array.forall id)
    Prop.forAll (Arb.fromGen vectors) prop

[<Fact>]
let ``values far below e4m3's smallest subnormal survive block scaling`` () =
    let grads = Array.init 256 (fun i -> float32 (1e-4 * sin (float i)))
    let plain = grads |> Array.map (fun g -> Fp8.decodeE4M3 (Fp8.encodeE4M3 (float g)))
    let scaled = BlockScaled.decode (BlockScaled.encode Fp8E4M3 BlockScaled.DefaultBlockSize grads)
    Assert.All(plain, fun v -> Assert.Equal(0.0, abs v)) // 1e-4 < 2^-10: plain fp8 flushes every one to zero
    Assert.All(Array.zip grads scaled, fun (g, s) -> Assert.InRange(abs (float s - float g), 0.0, 1e-4 / 14.0))

[<Fact>]
let ``bad input is an error naming the argument and the value`` () =
    let e = Assert.Throws<ArgumentException>(fun () -> BlockScaled.encode Fp8E4M3 4 [| 1.0f; nanf |] |> ignore)
    Assert.Contains("element 1", e.Message)
    Assert.Equal("values", e.ParamName)
    let e = Assert.Throws<ArgumentException>(fun () -> BlockScaled.encode Bf16 4 [| 1.0f |] |> ignore)
    Assert.Contains("bf16", e.Message)
    let e = Assert.Throws<ArgumentException>(fun () -> BlockScaled.encode Fp8E4M3 0 [| 1.0f |] |> ignore)
    Assert.Contains("was 0", e.Message)
