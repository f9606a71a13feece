/// Block-scaled fp8 with power-of-two block scales (OCP microscaling style): a vector stored as fp8 codes plus one
/// E8M0 scale byte per block of B elements. The block's scale is 2^e with e the smallest integer such that
/// absmax(block) / 2^e <= max_finite(format), so no element saturates; e = 0 for an all-zero block; e is at least
/// -127, E8M0's smallest (a block below that range keeps e = -127 and loses the digits below fp8's subnormals).
/// element = decode(code) * 2^e, code = encode(x * 2^-e): both products are exact in float32 (a quotient below float32's
/// normal range rounds, but there fp8 rounds it to zero either way). The byte is e + 127; 0xFF is E8M0's NaN, the
/// scale a backend stores for a block holding an infinity (every element then decodes as NaN, as a float32 scale of
/// infinity did); this module encodes finite values only. The per-block absmax scaling of the low-bit optimizers
/// (bitsandbytes, torchao) with the scale of the OCP MX formats: one byte a block instead of four, and no division.
namespace S3gd.Spec.Formats

open System

/// A vector in block-scaled fp8.
type BlockScaled =
    { /// The fp8 format of the codes (Fp8E4M3 or Fp8E5M2).
      Format: StorageFormat
      /// Elements per block (the last block may be shorter).
      BlockSize: int
      /// One fp8 code per element.
      Codes: byte[]
      /// One E8M0 scale byte per block: the block's scale is 2^(byte - 127); 0xFF is NaN.
      Exponents: byte[] }

/// E8M0, the OCP MX scale format: a biased exponent byte, 2^(byte - 127), 0xFF NaN.
module E8M0 =
    /// The exponent bias.
    [<Literal>]
    let Bias = 127

    /// The NaN byte.
    [<Literal>]
    let NaN = 0xFFuy

    /// The smallest exponent, 2^-127 (byte 0).
    let MinExponent = -Bias

    /// The largest exponent, 2^127 (byte 0xFE).
    let MaxExponent = 254 - Bias

    /// The scale a byte stands for: 2^(byte - 127), NaN for 0xFF.
    let scale (b: byte) : float = if b = NaN then nan else Math.ScaleB(1.0, int b - Bias)

    /// The byte of an exponent in [MinExponent, MaxExponent].
    let ofExponent (e: int) : byte =
        if e < MinExponent || e > MaxExponent then
            invalidArg (nameof e) (sprintf "E8M0 holds exponents %d..%d, was %d" MinExponent MaxExponent e)
        byte (e + Bias)

/// Encoding and decoding of block-scaled fp8 vectors.
module BlockScaled =
    /// The block size of the low-bit optimizers' state, 128 elements.
    [<Literal>]
    let DefaultBlockSize = 128

    let private checkFormat (format: StorageFormat) =
        match format with
        | Fp8E4M3
        | Fp8E5M2 -> ()
        | f -> invalidArg (nameof format) (sprintf "block scaling is for fp8 formats, not %s" (StorageFormat.name f))

    /// The scale exponent of a finite absmax: the smallest e >= -127 with absmax / 2^e <= max_finite (0 for absmax 0).
    let exponentOf (format: StorageFormat) (absmax: float) : int =
        let largest = StorageFormat.maxFinite format
        if absmax = 0.0 then 0
        else
            // ILogB's estimate is within one of the answer; ScaleB is exact, so the comparisons are too.
            let mutable e = Math.ILogB absmax - Math.ILogB largest
            while Math.ScaleB(absmax, -e) > largest do e <- e + 1
            while Math.ScaleB(absmax, -(e - 1)) <= largest do e <- e - 1
            max e E8M0.MinExponent

    /// The E8M0 scale byte of one block of finite values.
    let exponentByte (format: StorageFormat) (block: ReadOnlySpan<float32>) : byte =
        let mutable absmax = 0.0f
        for x in block do
            absmax <- max absmax (abs x)
        E8M0.ofExponent (exponentOf format (float absmax))

    /// Encodes a float32 vector; a non-finite element is an error naming its index.
    let encode (format: StorageFormat) (blockSize: int) (values: float32[]) : BlockScaled =
        checkFormat format
        if blockSize < 1 then invalidArg (nameof blockSize) (sprintf "must be at least 1, was %d" blockSize)
        values
        |> Array.iteri (fun i x ->
            if not (Single.IsFinite x) then invalidArg (nameof values) (sprintf "element %d is %g: block scaling needs finite values" i x))
        let blocks = (values.Length + blockSize - 1) / blockSize
        let exponents =
            Array.init blocks (fun b ->
                let n = min blockSize (values.Length - b * blockSize)
                exponentByte format (ReadOnlySpan(values, b * blockSize, n)))
        // x * 2^-e in float64 is exact, and fp8's rounding of it is the rounding of the float32 product.
        let codes = values |> Array.mapi (fun i x -> byte (StorageFormat.encode format (float x / E8M0.scale exponents[i / blockSize])))
        { Format = format; BlockSize = blockSize; Codes = codes; Exponents = exponents }

    /// Decodes to float32: each code's value times its block's scale (exact).
    let decode (v: BlockScaled) : float32[] =
        v.Codes |> Array.mapi (fun i c -> float32 (StorageFormat.decode v.Format (uint32 c) * E8M0.scale v.Exponents[i / v.BlockSize]))
