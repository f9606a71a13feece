/// The two OCP 8-bit floating-point formats (OCP 8-bit Floating Point Specification, v1.0):
/// e4m3fn (bias 7, no infinities, max 448, NaN = S.1111.111) and e5m2 (bias 15, max 57344, IEEE
/// infinities and NaNs). Encoding is round-to-nearest-even from float64; NaN encodes to 0x7F.
module S3gd.Spec.Formats.Fp8

/// fp8 e4m3fn: 4 exponent bits, 3 mantissa bits, finite only.
let e4m3 : Minifloat.Layout = { ExponentBits = 4; MantissaBits = 3; Special = Minifloat.FiniteNaN }

/// fp8 e5m2: 5 exponent bits, 2 mantissa bits, IEEE infinities.
let e5m2 : Minifloat.Layout = { ExponentBits = 5; MantissaBits = 2; Special = Minifloat.Ieee }

/// Encodes to e4m3fn, saturating finite overflow and infinities to ±448 (PTX `cvt.rn.satfinite.e4m3x2.f32`).
let encodeE4M3 (x: float) : byte = byte (Minifloat.encode e4m3 Minifloat.Saturate x)

/// Decodes an e4m3fn code.
let decodeE4M3 (code: byte) : float = Minifloat.decode e4m3 (uint32 code)

/// Encodes to e5m2 with the given overflow behaviour: saturate to ±57344 (PTX satfinite) or go to ±infinity.
let encodeE5M2 (overflow: Minifloat.Overflow) (x: float) : byte = byte (Minifloat.encode e5m2 overflow x)

/// Decodes an e5m2 code.
let decodeE5M2 (code: byte) : float = Minifloat.decode e5m2 (uint32 code)
