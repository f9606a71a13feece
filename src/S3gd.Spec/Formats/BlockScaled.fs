/// Block-scaled fp8: a vector stored as fp8 codes plus one float32 scale per block of B elements,
/// scale = absmax(block) / max_finite(format) (1 for an all-zero block), element = decode(code) * scale.
/// The per-block absmax scaling of the low-bit optimizers (bitsandbytes, torchao); it keeps fp8
/// state usable for values far below e4m3's smallest subnormal (2^-9). All arithmetic is float32,
/// as a kernel does it: scale = f32(absmax / max), code = encode(f32(x / scale)), value = f32(decode * scale).
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
      /// One float32 scale per block.
      Scales: float32[] }

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

    /// The float32 scale of one block: absmax / max_finite, or 1 when the block is all zeros.
    let scaleOf (format: StorageFormat) (block: ReadOnlySpan<float32>) : float32 =
        let mutable absmax = 0.0f
        for x in block do
            absmax <- max absmax (abs x)
        if absmax = 0.0f then 1.0f else absmax / float32 (StorageFormat.maxFinite format)

    /// Encodes a float32 vector; a non-finite element is an error naming its index.
    let encode (format: StorageFormat) (blockSize: int) (values: float32[]) : BlockScaled =
        checkFormat format
        if blockSize < 1 then invalidArg (nameof blockSize) (sprintf "must be at least 1, was %d" blockSize)
        values
        |> Array.iteri (fun i x ->
            if not (Single.IsFinite x) then invalidArg (nameof values) (sprintf "element %d is %g: block scaling needs finite values" i x))
        let blocks = (values.Length + blockSize - 1) / blockSize
        let scales =
            Array.init blocks (fun b ->
                let n = min blockSize (values.Length - b * blockSize)
                scaleOf format (ReadOnlySpan(values, b * blockSize, n)))
        let codes = values |> Array.mapi (fun i x -> byte (StorageFormat.encode format (float (x / scales[i / blockSize]))))
        { Format = format; BlockSize = blockSize; Codes = codes; Scales = scales }

    /// Decodes to float32: each code's value times its block's scale, rounded to float32.
    let decode (v: BlockScaled) : float32[] =
        v.Codes |> Array.mapi (fun i c -> float32 (StorageFormat.decode v.Format (uint32 c)) * v.Scales[i / v.BlockSize])
