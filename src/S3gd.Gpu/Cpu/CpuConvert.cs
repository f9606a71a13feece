using System.Runtime.InteropServices;

namespace S3gd.Gpu.Cpu;

/// <summary>
/// The CPU twin of <c>Cuda/Kernels/Convert.cu</c>: float32 to storage codes and back, bit for bit as the
/// kernel computes them (round to nearest even, fp8 satfinite, the same NaN codes). One value at a time here; whole
/// spans, eight lanes at a time with the same results, in <c>CpuConvert.Spans.cs</c>.
/// </summary>
public static partial class CpuConvert
{
    /// <summary>The fp8 e4m3fn layout: exponent bias 7, 3 mantissa bits, largest finite code 0x7E (448).</summary>
    private static readonly Fp8Layout E4M3 = new(Bias: 7, MantissaBits: 3, MaxCode: 0x7E);

    /// <summary>The fp8 e5m2 layout: exponent bias 15, 2 mantissa bits, largest finite code 0x7B (57344).</summary>
    private static readonly Fp8Layout E5M2 = new(Bias: 15, MantissaBits: 2, MaxCode: 0x7B);

    /// <summary>The NaN every fp8 encode writes (the kernel's and the spec's canonical code).</summary>
    private const byte Fp8NaN = 0x7F;

    /// <summary>The float32 NaN every fp8 decode writes: positive, all mantissa bits set (the kernel's canonical NaN).</summary>
    private const uint CanonicalNaN = 0x7FFFFFFF;

    /// <summary>The bf16 quiet bit (top mantissa bit) set on NaN codes.</summary>
    private const uint Bf16QuietBit = 0x40;

    /// <summary>The float32 of each fp8 e4m3 code, as the kernel decodes it.</summary>
    internal static readonly float[] DecodeE4M3 = BuildDecodeTable(ElementType.Fp8E4M3);

    /// <summary>The float32 of each fp8 e5m2 code, as the kernel decodes it.</summary>
    internal static readonly float[] DecodeE5M2 = BuildDecodeTable(ElementType.Fp8E5M2);

    private readonly record struct Fp8Layout(int Bias, int MantissaBits, uint MaxCode);

    /// <summary>Encodes <paramref name="count"/> float32 values from element <paramref name="start"/> of <paramref name="source"/> into <paramref name="destination"/>.</summary>
    public static void Encode(ElementType format, byte[] source, byte[] destination, int start, int count)
    {
        var x = MemoryMarshal.Cast<byte, float>(source.AsSpan()).Slice(start, count);
        switch (format)
        {
            case ElementType.Float32: x.CopyTo(MemoryMarshal.Cast<byte, float>(destination.AsSpan()).Slice(start, count)); break;
            case ElementType.BFloat16: EncodeBf16(x, MemoryMarshal.Cast<byte, ushort>(destination.AsSpan()).Slice(start, count)); break;
            case ElementType.Fp8E4M3: EncodeFp8(E4M3, x, 1.0f, destination.AsSpan(start, count)); break;
            case ElementType.Fp8E5M2: EncodeFp8(E5M2, x, 1.0f, destination.AsSpan(start, count)); break;
            default: throw new ArgumentOutOfRangeException(nameof(format), format, "unknown element type");
        }
    }

    /// <summary>Decodes <paramref name="count"/> codes from element <paramref name="start"/> of <paramref name="source"/> into float32 <paramref name="destination"/>.</summary>
    public static void Decode(ElementType format, byte[] source, byte[] destination, int start, int count)
    {
        var y = MemoryMarshal.Cast<byte, float>(destination.AsSpan()).Slice(start, count);
        switch (format)
        {
            case ElementType.Float32: MemoryMarshal.Cast<byte, float>(source.AsSpan()).Slice(start, count).CopyTo(y); break;
            case ElementType.BFloat16: DecodeBf16(MemoryMarshal.Cast<byte, ushort>(source.AsSpan()).Slice(start, count), y); break;
            case ElementType.Fp8E4M3: DecodeFp8(DecodeE4M3, source.AsSpan(start, count), 1.0f, y); break;
            case ElementType.Fp8E5M2: DecodeFp8(DecodeE5M2, source.AsSpan(start, count), 1.0f, y); break;
            default: throw new ArgumentOutOfRangeException(nameof(format), format, "unknown element type");
        }
    }

    /// <summary>One float32 to bf16: round to nearest even; a NaN keeps sign and upper payload and is made quiet.</summary>
    public static ushort EncodeBf16(float x)
    {
        var b = BitConverter.SingleToUInt32Bits(x);
        // Adding 0x7FFF plus the lowest kept bit rounds the discarded half to nearest, ties to even.
        return (ushort)(float.IsNaN(x) ? (b >> 16) | Bf16QuietBit : (b + 0x7FFFu + ((b >> 16) & 1u)) >> 16);
    }

    /// <summary>One float32 to fp8 e4m3fn (satfinite).</summary>
    public static byte EncodeE4M3(float x) => EncodeFp8(E4M3, x);

    /// <summary>One float32 to fp8 e5m2 (satfinite).</summary>
    public static byte EncodeE5M2(float x) => EncodeFp8(E5M2, x);

    /// <summary>
    /// One float32 to an fp8 code in one round-to-nearest-even step on the integer significand; any
    /// magnitude beyond the largest finite value (infinity included) saturates to it (PTX satfinite).
    /// </summary>
    private static byte EncodeFp8(Fp8Layout layout, float x)
    {
        if (float.IsNaN(x)) return Fp8NaN;
        var bits = BitConverter.SingleToUInt32Bits(x);
        var sign = (bits >> 24) & 0x80u;
        var field = (int)((bits >> 23) & 0xFF);
        // A float32 subnormal (below 2^-126) is far below half the smallest fp8 subnormal: it rounds to zero.
        if (field == 0) return (byte)sign;
        if (field == 0xFF) return (byte)(sign | layout.MaxCode);
        var exponent = field - 127;
        // The 24-bit significand 1.m of the float32, as an integer: value = significand * 2^(exponent - 23).
        var significand = (bits & 0x7FFFFFu) | 0x800000u;
        var minExponent = 1 - layout.Bias;
        var kept = Math.Max(exponent, minExponent);
        // Bits of the significand below the fp8 quantum 2^(kept - MantissaBits).
        var drop = 23 - layout.MantissaBits + (kept - exponent);
        uint rounded;
        if (drop >= 32) rounded = 0;
        else
        {
            rounded = significand >> drop;
            var rest = significand & ((1u << drop) - 1);
            var half = 1u << (drop - 1);
            if (rest > half || (rest == half && (rounded & 1) != 0)) rounded++;
        }
        // Subnormal codes are the rounded quantum count; normal codes add the exponent field above the
        // implicit bit, so a carry out of the mantissa moves to the next binade by itself.
        var code = ((uint)(kept - minExponent) << layout.MantissaBits) + rounded;
        return (byte)(sign | Math.Min(code, layout.MaxCode));
    }

    /// <summary>
    /// The float32 of every fp8 code, computed as the kernel does: the fp8 code widened to half
    /// precision (e5m2 is the upper byte of a half; e4m3 re-biased from 7 to 15), then half to float32;
    /// NaN codes give the canonical NaN.
    /// </summary>
    private static float[] BuildDecodeTable(ElementType format)
    {
        var table = new float[256];
        for (var code = 0; code < 256; code++)
        {
            var half = format == ElementType.Fp8E5M2 ? (ushort)(code << 8) : E4M3ToHalfBits((uint)code);
            var value = (float)BitConverter.UInt16BitsToHalf(half);
            table[code] = float.IsNaN(value) ? BitConverter.UInt32BitsToSingle(CanonicalNaN) : value;
        }
        return table;
    }

    /// <summary>The half-precision bits of an e4m3fn code (exact: every e4m3 value is a normal half).</summary>
    private static ushort E4M3ToHalfBits(uint code)
    {
        var sign = (code & 0x80u) << 8;
        var magnitude = code & 0x7Fu;
        // e4m3fn's only NaN magnitude: S.1111.111.
        if (magnitude == 0x7F) return (ushort)(sign | 0x7E00u);
        if (magnitude == 0) return (ushort)sign;
        var field = (int)(magnitude >> 3);
        var mantissa = magnitude & 0x7u;
        if (field == 0)
        {
            // Subnormal e4m3: mantissa * 2^-9; normalise the 3-bit mantissa into the half's 10.
            var shift = 3 - (int)Math.Log2(mantissa);
            mantissa = (mantissa << shift) & 0x7u;
            field = 1 - shift;
        }
        // Re-bias the exponent from 7 (e4m3) to 15 (half) and widen the mantissa from 3 to 10 bits.
        return (ushort)(sign | ((uint)(field + 8) << 10) | (mantissa << 7));
    }
}
