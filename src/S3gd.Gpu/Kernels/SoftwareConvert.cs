using System.Runtime.CompilerServices;
using ILGPU;

namespace S3gd.Gpu.Kernels;

/// <summary>
/// The storage formats' conversions in integer arithmetic, bit for bit the spec's definitions (S3gd.Spec.Formats) and the
/// GPU's conversion instructions: round to nearest even, fp8 saturating (satfinite), a bf16 NaN keeping its sign and upper
/// payload made quiet, an fp8 NaN encoding to 0x7F and decoding to the float32 NaN 0x7FFFFFFF. Written so that ILGPU
/// compiles it (bit casts through <see cref="Interop"/>): the conversions of kernels on ILGPU's CPU accelerator, and the
/// CPU backend's one-value conversions.
/// </summary>
public static class SoftwareConvert
{
    /// <summary>fp8 e4m3fn: exponent bias 7.</summary>
    public const int E4M3Bias = 7;

    /// <summary>fp8 e4m3fn: 3 mantissa bits.</summary>
    public const int E4M3MantissaBits = 3;

    /// <summary>fp8 e4m3fn: the largest finite code 0x7E (448).</summary>
    public const uint E4M3MaxCode = 0x7E;

    /// <summary>fp8 e5m2: exponent bias 15.</summary>
    public const int E5M2Bias = 15;

    /// <summary>fp8 e5m2: 2 mantissa bits.</summary>
    public const int E5M2MantissaBits = 2;

    /// <summary>fp8 e5m2: the largest finite code 0x7B (57344).</summary>
    public const uint E5M2MaxCode = 0x7B;

    /// <summary>The code every fp8 encode writes for NaN.</summary>
    public const byte Fp8NaN = 0x7F;

    /// <summary>The float32 NaN every fp8 decode writes: positive, all mantissa bits set.</summary>
    public const uint CanonicalNaN = 0x7FFFFFFF;

    /// <summary>The bf16 quiet bit (top mantissa bit), set on NaN codes.</summary>
    private const uint Bf16QuietBit = 0x40;

    /// <summary>The float32 exponent bias.</summary>
    private const int Float32Bias = 127;

    /// <summary>The float32 mantissa field's width.</summary>
    private const int Float32MantissaBits = 23;

    /// <summary>float32 to bf16: round to nearest even; a NaN keeps sign and upper payload and is made quiet.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ushort EncodeBf16(float x)
    {
        var b = Interop.FloatAsInt(x);
        // Adding 0x7FFF plus the lowest kept bit rounds the discarded half to nearest, ties to even.
        return (ushort)(float.IsNaN(x) ? (b >> 16) | Bf16QuietBit : (b + 0x7FFFu + ((b >> 16) & 1u)) >> 16);
    }

    /// <summary>bf16 to float32 (exact: a bf16 is the upper half of a float32).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float DecodeBf16(ushort code) => Interop.IntAsFloat((uint)code << 16);

    /// <summary>x rounded to the nearest bf16 value, as float32.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float RoundBf16(float x) => DecodeBf16(EncodeBf16(x));

    /// <summary>float32 to fp8 e4m3fn (satfinite).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static byte EncodeE4M3(float x) => EncodeFp8(x, E4M3Bias, E4M3MantissaBits, E4M3MaxCode);

    /// <summary>float32 to fp8 e5m2 (satfinite).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static byte EncodeE5M2(float x) => EncodeFp8(x, E5M2Bias, E5M2MantissaBits, E5M2MaxCode);

    /// <summary>fp8 e4m3fn to float32 (exact; NaN is the canonical NaN).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float DecodeE4M3(uint code) =>
        (code & 0x7Fu) == 0x7Fu ? Interop.IntAsFloat(CanonicalNaN) : DecodeFinite(code, E4M3Bias, E4M3MantissaBits);

    /// <summary>fp8 e5m2 to float32 (exact; infinities stay, NaN is the canonical NaN).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float DecodeE5M2(uint code)
    {
        // e5m2's all-ones exponent: infinity with a zero mantissa, else NaN.
        if ((code & 0x7Cu) == 0x7Cu)
            return (code & 0x3u) != 0 ? Interop.IntAsFloat(CanonicalNaN) : Interop.IntAsFloat(((code & 0x80u) << 24) | 0x7F800000u);
        return DecodeFinite(code, E5M2Bias, E5M2MantissaBits);
    }

    /// <summary>
    /// One float32 to an fp8 code in one round-to-nearest-even step on the integer significand; any magnitude beyond the
    /// largest finite value (infinity included) saturates to it (PTX satfinite).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static byte EncodeFp8(float x, int bias, int mantissaBits, uint maxCode)
    {
        if (float.IsNaN(x)) return Fp8NaN;
        var bits = Interop.FloatAsInt(x);
        var sign = (bits >> 24) & 0x80u;
        var field = (int)((bits >> Float32MantissaBits) & 0xFFu);
        // A float32 subnormal (below 2^-126) is far below half the smallest fp8 subnormal: it rounds to zero.
        if (field == 0) return (byte)sign;
        if (field == 0xFF) return (byte)(sign | maxCode);
        var exponent = field - Float32Bias;
        // The 24-bit significand 1.m of the float32, as an integer: value = significand * 2^(exponent - 23).
        var significand = (bits & 0x7FFFFFu) | 0x800000u;
        var minExponent = 1 - bias;
        var kept = exponent > minExponent ? exponent : minExponent;
        // Bits of the significand below the fp8 quantum 2^(kept - mantissaBits).
        var drop = Float32MantissaBits - mantissaBits + (kept - exponent);
        var rounded = 0u;
        if (drop < 32)
        {
            rounded = significand >> drop;
            var rest = significand & ((1u << drop) - 1u);
            var half = 1u << (drop - 1);
            if (rest > half || (rest == half && (rounded & 1u) != 0u)) rounded++;
        }
        // Subnormal codes are the rounded quantum count; normal codes add the exponent field above the implicit bit, so
        // a carry out of the mantissa moves to the next binade by itself.
        var code = ((uint)(kept - minExponent) << mantissaBits) + rounded;
        return (byte)(sign | (code < maxCode ? code : maxCode));
    }

    /// <summary>A finite fp8 code to float32: subnormals as mantissa * 2^(1 - bias - mantissaBits), normals by their bits.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float DecodeFinite(uint code, int bias, int mantissaBits)
    {
        var negative = (code & 0x80u) != 0;
        var field = (int)((code & 0x7Fu) >> mantissaBits);
        var mantissa = code & ((1u << mantissaBits) - 1u);
        float magnitude;
        if (field == 0)
        {
            // The smallest subnormal's power of two, as float32 bits (exact: far above float32's normal range's bottom).
            var quantum = Interop.IntAsFloat((uint)(Float32Bias + 1 - bias - mantissaBits) << Float32MantissaBits);
            magnitude = mantissa * quantum;
        }
        else magnitude = Interop.IntAsFloat(((uint)(field - bias + Float32Bias) << Float32MantissaBits) | (mantissa << (Float32MantissaBits - mantissaBits)));
        return negative ? -magnitude : magnitude;
    }
}
