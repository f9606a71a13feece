/// bfloat16: the upper 16 bits of an IEEE float32 (8 exponent bits, 7 mantissa bits, bias 127),
/// rounded to nearest even; overflow goes to infinity as in IEEE arithmetic.
module S3gd.Spec.Formats.Bf16

open System

/// The bf16 layout: 8 exponent bits, 7 mantissa bits, IEEE infinities and NaNs.
let layout : Minifloat.Layout = { ExponentBits = 8; MantissaBits = 7; Special = Minifloat.Ieee }

/// The quiet bit of a bf16 NaN (the top mantissa bit).
let private quietBit = 0x0040us

/// Encodes a float32 with round-to-nearest-even; a NaN keeps its sign and upper payload and is made quiet.
let encode32 (x: float32) : uint16 =
    let b = BitConverter.SingleToUInt32Bits x
    if Single.IsNaN x then uint16 (b >>> 16) ||| quietBit
    else
        // Adding 0x7FFF plus the lowest kept bit rounds the discarded half to nearest, ties to even.
        uint16 ((b + 0x7FFFu + ((b >>> 16) &&& 1u)) >>> 16)

/// Encodes a float64 with one round-to-nearest-even step (no double rounding through float32).
let encode (x: float) : uint16 =
    if Double.IsNaN x then encode32 (float32 x)
    else uint16 (Minifloat.encode layout Minifloat.ToInfinity x)

/// Decodes a bf16 code to the float32 it denotes (exactly: a bf16 is a float32 with 16 zero bits).
let decode32 (code: uint16) : float32 = BitConverter.UInt32BitsToSingle(uint32 code <<< 16)

/// Decodes a bf16 code to float64 (exactly).
let decode (code: uint16) : float = float (decode32 code)

/// Rounds a float64 to the nearest bf16 value, as float64: what an operation in bf16 maths stores.
let round (x: float) : float = decode (encode x)
