/// Generators of float32 inputs and storage codes for the backend-versus-spec properties: random
/// lengths (1, odd, large), special values, values across each format's range and exact ties.
module S3gd.Conformance.Generators

open System
open System.Runtime.InteropServices
open FsCheck.FSharp
open S3gd.Spec.Formats

/// A float32 from its bits.
let private ofBits (b: uint32) = BitConverter.UInt32BitsToSingle b

/// NaN and edge bit patterns, kept as bits: the JIT folds a constant float32 through float64, which
/// would quiet a signalling NaN before it reached a backend.
let private specialBits =
    [| 0x7FC00000u; 0xFFC00000u; 0x7F800001u; 0xFF812345u; 0x7FC12345u
       // bf16: the ties above the largest finite value (they round to infinity).
       0x7F7F8000u; 0xFF7F8000u |]

/// Values where conversions go wrong: signed zeros, float32 subnormals, the edges of every format's
/// range and their overflow ties, infinities and NaNs with different signs and payloads.
let specialValues : float32[] =
    Array.append
        [| 0.0f; -0.0f; 1.0f; -1.0f; Single.Epsilon; -Single.Epsilon; 1e-40f; -1e-40f
           Single.MaxValue; Single.MinValue; Single.PositiveInfinity; Single.NegativeInfinity
           // e4m3: largest finite, the tie above it, beyond it, smallest subnormal, its half (a tie to zero), a subnormal tie.
           448.0f; -448.0f; 464.0f; 465.0f; 480.0f; 0.001953125f; 0.0009765625f; -0.0009765625f; 0.00146484375f
           // e5m2: largest finite, the tie above it, beyond it, smallest subnormal and its half.
           57344.0f; 61440.0f; -61440.0f; 65536.0f; 1.52587890625e-05f; 7.62939453125e-06f
           // bf16: largest finite.
           3.3895314e38f |]
        (MemoryMarshal.Cast<uint32, float32>(ReadOnlySpan specialBits).ToArray())

/// Any float32 bit pattern (NaNs, infinities and subnormals included).
let anyBits : FsCheck.Gen<float32> =
    Gen.zip (Gen.choose (0, 0xFFFF)) (Gen.choose (0, 0xFFFF))
    |> Gen.map (fun (hi, lo) -> ofBits ((uint32 hi <<< 16) ||| uint32 lo))

/// A value in [1, 2) scaled by 2^k with k from below the format's smallest subnormal to above its largest value.
let inRange (format: StorageFormat) : FsCheck.Gen<float32> =
    let lowest, highest =
        match format with
        | Fp32 -> -149, 127
        | Bf16 -> -140, 127
        // Two binades below the smallest subnormal (2^-9, 2^-16) up to two above the largest finite.
        | Fp8E4M3 -> -11, 10
        | Fp8E5M2 -> -18, 17
    gen {
        let! k = Gen.choose (lowest, highest)
        let! m = Gen.choose (0, (1 <<< 23) - 1)
        let! negative = Gen.elements [ false; true ]
        let v = (1.0 + float m / float (1 <<< 23)) * Math.Pow(2.0, float k)
        return float32 (if negative then -v else v)
    }

/// The largest code whose successor is still a finite value of the format (positive side).
let private lastTieCode =
    function
    | Fp32 -> 0u
    | Bf16 -> 0x7F7Eu
    | Fp8E4M3 -> 0x7Du
    | Fp8E5M2 -> 0x7Au

/// Exact midpoints between adjacent finite values of the format (ties, where round-to-even decides); any bits for fp32.
let tie (format: StorageFormat) : FsCheck.Gen<float32> =
    match format with
    | Fp32 -> anyBits
    | _ ->
        gen {
            let! c = Gen.choose (0, int (lastTieCode format))
            let! negative = Gen.elements [ false; true ]
            // Adjacent values differ in the format's last mantissa bit: their mean needs one bit more, exact in float32.
            let mid = (StorageFormat.decode format (uint32 c) + StorageFormat.decode format (uint32 c + 1u)) / 2.0
            return float32 (if negative then -mid else mid)
        }

/// One float32 input for encoding to <paramref name="format"/>.
let value (format: StorageFormat) : FsCheck.Gen<float32> =
    Gen.frequency [ 2, Gen.elements specialValues; 3, anyBits; 4, inRange format; 3, tie format ]

/// Array lengths: 1, small odd ones, moderate ones and occasionally large ones (above the CPU block size).
let length : FsCheck.Gen<int> =
    Gen.frequency
        [ 2, Gen.constant 1
          5, Gen.choose (0, 300) |> Gen.map (fun n -> 2 * n + 1)
          2, Gen.choose (2, 5000)
          // Larger than one CPU block (65536 elements) and many GPU grid strides.
          1, Gen.choose (65537, 200000) ]

/// A list of one to three tensors' values, as one list operation gets them.
let tensors (element: FsCheck.Gen<'a>) : FsCheck.Gen<'a[] list> =
    gen {
        let! count = Gen.choose (1, 3)
        return! Gen.listOfLength count (length |> Gen.bind (fun n -> Gen.arrayOfLength n element))
    }

/// One code of the format: any bit pattern of its width.
let code (format: StorageFormat) : FsCheck.Gen<uint32> =
    match StorageFormat.size format with
    | 4 -> anyBits |> Gen.map BitConverter.SingleToUInt32Bits
    | 2 -> Gen.choose (0, 0xFFFF) |> Gen.map uint32
    | _ -> Gen.choose (0, 0xFF) |> Gen.map uint32
