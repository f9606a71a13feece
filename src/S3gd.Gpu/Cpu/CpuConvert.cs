using System.Runtime.InteropServices;
using S3gd.Gpu.Kernels;

namespace S3gd.Gpu.Cpu;

/// <summary>
/// The CPU backend's conversions between float32 and storage codes, bit for bit as the kernels compute them (round to
/// nearest even, fp8 satfinite, the same NaN codes): one value at a time through <see cref="SoftwareConvert"/>; whole
/// spans, eight lanes at a time with the same results, in <c>CpuConvert.Spans.cs</c>.
/// </summary>
public static partial class CpuConvert
{
    /// <summary>The fp8 e4m3fn layout (<see cref="SoftwareConvert"/>'s numbers): made where it is used, so that the compiler folds its constants into the lane operations.</summary>
    private static Fp8Layout E4M3 => new(SoftwareConvert.E4M3Bias, SoftwareConvert.E4M3MantissaBits, SoftwareConvert.E4M3MaxCode, HasInfinity: false);

    /// <summary>The fp8 e5m2 layout (<see cref="SoftwareConvert"/>'s numbers), made where it is used as <see cref="E4M3"/>.</summary>
    private static Fp8Layout E5M2 => new(SoftwareConvert.E5M2Bias, SoftwareConvert.E5M2MantissaBits, SoftwareConvert.E5M2MaxCode, HasInfinity: true);

    /// <summary>The NaN every fp8 encode writes (the kernel's and the spec's canonical code).</summary>
    private const byte Fp8NaN = SoftwareConvert.Fp8NaN;

    /// <summary>The bf16 quiet bit (top mantissa bit) set on NaN codes.</summary>
    private const uint Bf16QuietBit = 0x40;

    /// <summary>The float32 of each fp8 e4m3 code, as the kernel decodes it.</summary>
    internal static readonly float[] DecodeE4M3 = BuildDecodeTable(ElementType.Fp8E4M3);

    /// <summary>The float32 of each fp8 e5m2 code, as the kernel decodes it.</summary>
    internal static readonly float[] DecodeE5M2 = BuildDecodeTable(ElementType.Fp8E5M2);

    /// <summary>An fp8 format's exponent bias, mantissa width and largest finite code; with infinity, the code after it is infinity.</summary>
    private readonly record struct Fp8Layout(int Bias, int MantissaBits, uint MaxCode, bool HasInfinity);

    /// <summary>Encodes <paramref name="count"/> float32 values from element <paramref name="start"/> of <paramref name="source"/> into <paramref name="destination"/>.</summary>
    public static void Encode(ElementType format, byte[] source, byte[] destination, int start, int count)
    {
        var x = MemoryMarshal.Cast<byte, float>(source.AsSpan()).Slice(start, count);
        switch (format)
        {
            case ElementType.Float32: x.CopyTo(MemoryMarshal.Cast<byte, float>(destination.AsSpan()).Slice(start, count)); break;
            case ElementType.BFloat16: EncodeBf16(x, MemoryMarshal.Cast<byte, ushort>(destination.AsSpan()).Slice(start, count)); break;
            case ElementType.Fp8E4M3: EncodeFp8(true, x, 1.0f, destination.AsSpan(start, count)); break;
            case ElementType.Fp8E5M2: EncodeFp8(false, x, 1.0f, destination.AsSpan(start, count)); break;
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
            case ElementType.Fp8E4M3: DecodeFp8(true, source.AsSpan(start, count), 1.0f, y); break;
            case ElementType.Fp8E5M2: DecodeFp8(false, source.AsSpan(start, count), 1.0f, y); break;
            default: throw new ArgumentOutOfRangeException(nameof(format), format, "unknown element type");
        }
    }

    /// <summary>One float32 to bf16: round to nearest even; a NaN keeps sign and upper payload and is made quiet.</summary>
    public static ushort EncodeBf16(float x) => SoftwareConvert.EncodeBf16(x);

    /// <summary>One float32 to fp8 e4m3fn (satfinite).</summary>
    public static byte EncodeE4M3(float x) => SoftwareConvert.EncodeE4M3(x);

    /// <summary>One float32 to fp8 e5m2 (satfinite).</summary>
    public static byte EncodeE5M2(float x) => SoftwareConvert.EncodeE5M2(x);

    /// <summary>One float32 to an fp8 code of a layout (<see cref="SoftwareConvert.EncodeFp8"/>).</summary>
    private static byte EncodeFp8(Fp8Layout layout, float x) => SoftwareConvert.EncodeFp8(x, layout.Bias, layout.MantissaBits, layout.MaxCode);

    /// <summary>The float32 of every fp8 code (<see cref="SoftwareConvert"/>'s decode: NaN codes give the canonical NaN).</summary>
    private static float[] BuildDecodeTable(ElementType format)
    {
        var table = new float[256];
        for (var code = 0u; code < 256; code++)
            table[code] = format == ElementType.Fp8E5M2 ? SoftwareConvert.DecodeE5M2(code) : SoftwareConvert.DecodeE4M3(code);
        return table;
    }
}
