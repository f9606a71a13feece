/// Block-scaled fp8 with power-of-two (E8M0) scales: the exponent of each block is the smallest that keeps every element
/// in range, a round trip is within half an ulp at the scale, the kernels' integer exponent and scale bytes are the spec's,
/// and the errors for bad input.
module S3gd.Properties.Formats.BlockScaledProperties

open System
open Xunit
open FsCheck
open FsCheck.FSharp
open FsCheck.Xunit
open S3gd.Spec.Formats
open S3gd.Gpu.Kernels

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
let ``a round trip is within half an ulp of the format at the scale, exactly`` () =
    let prop (values: float32[], blockSize: int) =
        formats
        |> List.forall (fun f ->
            let enc = BlockScaled.encode f blockSize values
            let dec = BlockScaled.decode enc
            values
            |> Array.mapi (fun i x ->
                let scale = E8M0.scale enc.Exponents[i / blockSize]
                abs (float dec[i] - float x) <= scale * StorageFormat.ulp f (float x / scale) / 2.0)
            |> Array.forall id)
    Prop.forAll (Arb.fromGen (Gen.zip vectors (Gen.elements [ 1; 7; 32; 128 ]))) prop

[<Property(MaxTest = 200)>]
let ``each exponent is the smallest that keeps the block's absmax within max_finite, and zero blocks have exponent 0`` () =
    let prop (values: float32[]) =
        let values = Array.append values (Array.zeroCreate BlockScaled.DefaultBlockSize) // a trailing all-zero block
        formats
        |> List.forall (fun f ->
            let enc = BlockScaled.encode f BlockScaled.DefaultBlockSize values
            let largest = StorageFormat.maxFinite f
            enc.Exponents
            |> Array.mapi (fun b byte' ->
                let block = values |> Array.skip (b * enc.BlockSize) |> Array.truncate enc.BlockSize
                let absmax = block |> Array.map (abs >> float) |> Array.max
                let e = int byte' - E8M0.Bias
                if absmax = 0.0 then e = 0
                else absmax / Math.Pow(2.0, float e) <= largest && (e = E8M0.MinExponent || absmax / Math.Pow(2.0, float (e - 1)) > largest))
            |> Array.forall id)
    Prop.forAll (Arb.fromGen vectors) prop

/// float32 magnitudes for the exponent: random bits, and around every power of two times each format's largest value.
let private magnitudes =
    let around =
        gen {
            let! k = Gen.choose (-160, 130)
            let! f = Gen.elements formats
            let! d = Gen.choose (-2, 2)
            let m = float32 (Math.ScaleB(StorageFormat.maxFinite f, k))
            // d floats either side of m, kept within the finite non-negative floats (no wrap below 0 or into NaNs).
            let bits = if Single.IsFinite m then int64 (BitConverter.SingleToUInt32Bits m) + int64 d else 0x7F7FFFFFL
            return uint32 (Math.Clamp(bits, 0L, 0x7F7FFFFFL))
        }
    Gen.frequency [ 1, Gen.choose (0, 0x7F7FFFFF) |> Gen.map uint32; 1, around; 1, Gen.elements [ 0u; 1u; 0x007FFFFFu; 0x00800000u; 0x7F7FFFFFu ] ]

[<Property(MaxTest = 2000)>]
let ``the kernels' integer exponent of a finite absmax is the spec's`` () =
    Prop.forAll (Arb.fromGen magnitudes) (fun bits ->
        let absmax = float (BitConverter.UInt32BitsToSingle bits)
        formats
        |> List.forall (fun f ->
            let max = float32 (StorageFormat.maxFinite f)
            int (E8M0Scale.Of(bits, max)) = BlockScaled.exponentOf f absmax + E8M0.Bias)
        |> Prop.label (sprintf "absmax bits 0x%08x" bits))

[<Fact>]
let ``an infinite absmax is E8M0's NaN, and every byte's scale and inverse are the spec's`` () =
    Assert.Equal(uint32 E8M0.NaN, E8M0Scale.Of(0x7F800000u, 448.0f))
    for b in 0uy .. 255uy do
        let spec = E8M0.scale b
        let kernel = float (E8M0Scale.Scale(uint32 b))
        if b = E8M0.NaN then
            Assert.True(Double.IsNaN kernel && Double.IsNaN spec && Single.IsNaN(E8M0Scale.Inverse(uint32 b)))
        else
            Assert.Equal(spec, kernel)
            Assert.Equal(1.0 / spec, float (E8M0Scale.Inverse(uint32 b)))

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
    let e = Assert.Throws<ArgumentException>(fun () -> E8M0.ofExponent 128 |> ignore)
    Assert.Contains("was 128", e.Message)
    Assert.Equal("e", e.ParamName)
