/// The element formats S3gd stores parameters, gradients and optimizer state in, by name.
namespace S3gd.Spec.Formats

open System

/// An element storage format.
type StorageFormat =
    /// IEEE float32.
    | Fp32
    /// bfloat16.
    | Bf16
    /// OCP fp8 e4m3fn, saturating.
    | Fp8E4M3
    /// OCP fp8 e5m2, saturating (PTX satfinite); `StorageFormat.encodeIeee` gives the overflow-to-infinity variant.
    | Fp8E5M2

/// Names, sizes and the code-level encode/decode of every storage format.
module StorageFormat =
    /// Every format, in order of width.
    let all = [ Fp32; Bf16; Fp8E4M3; Fp8E5M2 ]

    /// The name used on the command line and in files: fp32, bf16, fp8e4m3, fp8e5m2.
    let name =
        function
        | Fp32 -> "fp32"
        | Bf16 -> "bf16"
        | Fp8E4M3 -> "fp8e4m3"
        | Fp8E5M2 -> "fp8e5m2"

    /// Parses a format name (case-insensitive); an unknown name is an error listing the known ones.
    let parse (s: string) : Result<StorageFormat, string> =
        match all |> List.tryFind (fun f -> String.Equals(name f, s, StringComparison.OrdinalIgnoreCase)) with
        | Some f -> Ok f
        | None -> Error(sprintf "unknown format '%s' (expected one of: %s)" s (all |> List.map name |> String.concat ", "))

    /// Bytes per element.
    let size =
        function
        | Fp32 -> 4
        | Bf16 -> 2
        | Fp8E4M3
        | Fp8E5M2 -> 1

    /// The largest finite magnitude.
    let maxFinite =
        function
        | Fp32 -> float Single.MaxValue
        | Bf16 -> Minifloat.maxFinite Bf16.layout
        | Fp8E4M3 -> Minifloat.maxFinite Fp8.e4m3
        | Fp8E5M2 -> Minifloat.maxFinite Fp8.e5m2

    /// Encodes a float64 to the format's code (round-to-nearest-even; fp8 saturates).
    let encode (f: StorageFormat) (x: float) : uint32 =
        match f with
        | Fp32 -> BitConverter.SingleToUInt32Bits(float32 x)
        | Bf16 -> uint32 (Bf16.encode x)
        | Fp8E4M3 -> uint32 (Fp8.encodeE4M3 x)
        | Fp8E5M2 -> uint32 (Fp8.encodeE5M2 Minifloat.Saturate x)

    /// Decodes a code of the format to the float64 it denotes.
    let decode (f: StorageFormat) (code: uint32) : float =
        match f with
        | Fp32 -> float (BitConverter.UInt32BitsToSingle code)
        | Bf16 -> Bf16.decode (uint16 code)
        | Fp8E4M3 -> Fp8.decodeE4M3 (byte code)
        | Fp8E5M2 -> Fp8.decodeE5M2 (byte code)

    /// Rounds a float64 to the nearest value the format holds (encode then decode).
    let round (f: StorageFormat) (x: float) = decode f (encode f x)

    /// The ulp of the format at magnitude |x|.
    let ulp (f: StorageFormat) (x: float) =
        match f with
        | Fp32 -> float (MathF.BitIncrement(abs (float32 x))) - float (abs (float32 x))
        | Bf16 -> Minifloat.ulp Bf16.layout x
        | Fp8E4M3 -> Minifloat.ulp Fp8.e4m3 x
        | Fp8E5M2 -> Minifloat.ulp Fp8.e5m2 x
