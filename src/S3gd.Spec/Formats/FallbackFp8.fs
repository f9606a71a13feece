/// Block-scaled fp8 with a bf16 fallback (Adam-mini's first moment): a block of at most B elements is stored as fp8
/// codes and one float32 scale, the power of two BlockScaled gives the block (the smallest 2^e, e >= -127, with
/// amax / 2^e <= max_finite: quotients by it are exact scalings, and none saturates), unless that scale cannot represent the block:
/// - every element ±0: the block is kept as bf16 zeros, which need no codes;
/// - a non-finite amax (an infinity: fp8 e4m3fn has none; its scale is NaN);
/// - a non-zero element that the scale flushes to ±0 (the block's range is wider than fp8's, as when one huge value
///   sits among ordinary ones, or the block lies below 2^-127 times fp8's smallest subnormal);
/// then the block is kept in bf16 (round to nearest even). All arithmetic is float32, as a kernel does it; the amax
/// ignores NaN (fmaxf): a NaN among finite values stays an fp8 NaN code, as in a block of NaN and zeros (amax 0, scale 1).
/// Decoding is code times scale whatever the scale: blocks written before the scales were powers of two (amax /
/// max_finite) decode as they did. Where the storage of a fallback block lives is the
/// backend's choice (a slot per segment of Adam-mini's structured step); this module is the values' definition.
namespace S3gd.Spec.Formats

open System

/// One block of block-scaled fp8 with bf16 fallback.
type FallbackBlock =
    /// fp8 codes and their float32 scale: element = decode(code) * scale.
    | Scaled of Codes: byte[] * Scale: float32
    /// Every element is zero (amax 0): bf16 +0 each.
    | Zeros of Length: int
    /// bf16 codes, one per element.
    | Wide of Codes: uint16[]

/// Encoding and decoding of blocks of block-scaled fp8 with bf16 fallback.
module FallbackFp8 =
    /// Elements per block: the low-bit optimizers' block, as BlockScaled's default.
    [<Literal>]
    let BlockSize = BlockScaled.DefaultBlockSize

    /// The block's amax in float32, NaN ignored (fmaxf).
    let amax (values: float32[]) = values |> Array.fold (fun a x -> Single.MaxNumber(a, abs x)) 0.0f

    /// The float32 bits of the scale of a block holding an infinity: the quiet NaN with the sign bit clear (a GPU's
    /// canonical NaN; .NET's Single.NaN has the sign bit set), so that every backend stores the same word.
    [<Literal>]
    let NaNScaleBits = 0x7FC00000

    /// The scale of a block of amax <paramref name="a"/>: 2^(BlockScaled.exponentOf), exact in float32 (2^-127 a
    /// subnormal); NaN for an infinite amax, as E8M0's NaN.
    let scaleOf (format: StorageFormat) (a: float32) : float32 =
        if Single.IsFinite a then float32 (Math.ScaleB(1.0, BlockScaled.exponentOf format (float a)))
        else BitConverter.Int32BitsToSingle NaNScaleBits

    /// The plain block-scaled encoding (codes, the power-of-two scale): what a representable block stores, and what a
    /// backend stores for a fallback block it has no room for.
    let scaled (format: StorageFormat) (values: float32[]) : byte[] * float32 =
        let scale = scaleOf format (amax values)
        values |> Array.map (fun x -> byte (StorageFormat.encode format (float (x / scale)))), scale

    /// Whether the scaled encoding of values that are not all zeros cannot represent them (see the module's comment).
    let needsFallback (values: float32[]) (codes: byte[]) =
        let flushed = Array.exists2 (fun (x: float32) (c: byte) -> x <> 0.0f && not (Single.IsNaN x) && c &&& 0x7Fuy = 0uy) values codes
        not (Single.IsFinite(amax values)) || flushed

    /// Encodes one block (at most BlockSize elements) of an fp8 format.
    let encode (format: StorageFormat) (values: float32[]) : FallbackBlock =
        if values.Length > BlockSize then invalidArg (nameof values) (sprintf "a block holds at most %d elements, got %d" BlockSize values.Length)
        match format with
        | Fp8E4M3
        | Fp8E5M2 -> ()
        | f -> invalidArg (nameof format) (sprintf "fp8 with bf16 fallback is for fp8 formats, not %s" (StorageFormat.name f))
        if values |> Array.forall (fun x -> x = 0.0f) then Zeros values.Length
        else
            let codes, scale = scaled format values
            if needsFallback values codes then Wide(values |> Array.map Bf16.encode32) else Scaled(codes, scale)

    /// Decodes one block to float32.
    let decode (format: StorageFormat) (block: FallbackBlock) : float32[] =
        match block with
        | Scaled(codes, scale) -> codes |> Array.map (fun c -> float32 (StorageFormat.decode format (uint32 c)) * scale)
        | Zeros n -> Array.zeroCreate n
        | Wide codes -> codes |> Array.map Bf16.decode32
