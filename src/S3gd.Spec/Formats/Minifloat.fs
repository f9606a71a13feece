/// A binary floating-point format narrower than float64, described by its bit layout, with
/// round-to-nearest-even encoding from float64 and exact decoding. bf16, fp8 e4m3fn and fp8 e5m2
/// are instances of it.
module S3gd.Spec.Formats.Minifloat

open System

/// What the all-ones exponent field means.
type Special =
    /// IEEE 754: all-ones exponent with zero mantissa is infinity, any other mantissa is NaN.
    | Ieee
    /// OCP "fn" (finite, NaN): no infinities; only the all-ones exponent and all-ones mantissa is NaN.
    | FiniteNaN

/// What a finite value beyond the largest finite one becomes when encoded.
type Overflow =
    /// To ±max finite (PTX `cvt ... .satfinite`); infinities too.
    | Saturate
    /// To ±infinity as IEEE round-to-nearest-even does (only for formats that have infinities).
    | ToInfinity

/// The bit layout of a sign-exponent-mantissa format of at most 16 bits.
type Layout =
    { /// Width of the exponent field in bits.
      ExponentBits: int
      /// Width of the mantissa (fraction) field in bits.
      MantissaBits: int
      /// Meaning of the all-ones exponent field.
      Special: Special }

/// Exponent bias: 2^(ExponentBits-1) - 1.
let bias (l: Layout) = (1 <<< (l.ExponentBits - 1)) - 1

/// Total width in bits: sign, exponent and mantissa.
let bits (l: Layout) = 1 + l.ExponentBits + l.MantissaBits

let private signBit (l: Layout) = 1u <<< (bits l - 1)
let private mantissaMask (l: Layout) = (1u <<< l.MantissaBits) - 1u
let private exponentMask (l: Layout) = (1u <<< l.ExponentBits) - 1u

/// The smallest normal exponent, 1 - bias.
let minExponent (l: Layout) = 1 - bias l

/// The largest finite magnitude of the format.
let maxFinite (l: Layout) =
    let m = float (1 <<< l.MantissaBits)
    match l.Special with
    // The all-ones exponent is reserved: the largest finite value has exponent field all-ones minus one.
    | Ieee -> (2.0 - 1.0 / m) * Math.Pow(2.0, float (int (exponentMask l) - 1 - bias l))
    // Only the all-ones mantissa is reserved under the all-ones exponent: one step below it.
    | FiniteNaN -> (2.0 - 2.0 / m) * Math.Pow(2.0, float (int (exponentMask l) - bias l))

/// The smallest positive (subnormal) magnitude: 2^(minExponent - MantissaBits).
let minSubnormal (l: Layout) = Math.Pow(2.0, float (minExponent l - l.MantissaBits))

/// The canonical NaN code: positive, every exponent and mantissa bit set.
let nanCode (l: Layout) = (exponentMask l <<< l.MantissaBits) ||| mantissaMask l

/// The spacing of representable values at magnitude |x| (the ulp), ignoring the top of the range.
let ulp (l: Layout) (x: float) =
    let a = abs x
    if a < Math.Pow(2.0, float (minExponent l)) then minSubnormal l
    else Math.Pow(2.0, float (Math.ILogB a - l.MantissaBits))

/// Decodes a code of the format to the float64 it denotes (exactly).
let decode (l: Layout) (code: uint32) : float =
    let sign = if code &&& signBit l <> 0u then -1.0 else 1.0
    let e = int ((code >>> l.MantissaBits) &&& exponentMask l)
    let m = code &&& mantissaMask l
    let allOnes = e = int (exponentMask l)
    match l.Special with
    | Ieee when allOnes -> if m = 0u then sign * Double.PositiveInfinity else Double.NaN
    | FiniteNaN when allOnes && m = mantissaMask l -> Double.NaN
    | _ ->
        let frac = float m / float (1 <<< l.MantissaBits)
        if e = 0 then sign * frac * Math.Pow(2.0, float (minExponent l))
        else sign * (1.0 + frac) * Math.Pow(2.0, float (e - bias l))

/// The code of a finite, non-negative value that is exactly representable and at most maxFinite.
let private codeOfRepresentable (l: Layout) (a: float) =
    if a = 0.0 then 0u
    elif a < Math.Pow(2.0, float (minExponent l)) then uint32 (a / minSubnormal l)
    else
        let e = Math.ILogB a
        let m = a / Math.Pow(2.0, float (e - l.MantissaBits)) - float (1 <<< l.MantissaBits)
        (uint32 (e + bias l) <<< l.MantissaBits) ||| uint32 m

/// Encodes a float64 with round-to-nearest-even, in one rounding step; NaN gives the canonical NaN.
let encode (l: Layout) (overflow: Overflow) (x: float) : uint32 =
    if Double.IsNaN x then nanCode l
    else
        let sign = if Double.IsNegative x then signBit l else 0u
        let a = abs x
        let infinity = (exponentMask l <<< l.MantissaBits)
        // Rounding a/ulp to an integer is exact scaling by a power of two, then RNE.
        let rounded =
            if Double.IsInfinity a then a
            else
                let q = ulp l a
                Math.Round(a / q, MidpointRounding.ToEven) * q
        if rounded <= maxFinite l then sign ||| codeOfRepresentable l rounded
        else
            match overflow, l.Special with
            | ToInfinity, Ieee -> sign ||| infinity
            | ToInfinity, FiniteNaN -> invalidArg (nameof overflow) "a format without infinities can only saturate"
            | Saturate, _ -> sign ||| codeOfRepresentable l (maxFinite l)
