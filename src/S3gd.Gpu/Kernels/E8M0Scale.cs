using System.Runtime.CompilerServices;
using ILGPU;
using ILGPU.Util;

namespace S3gd.Gpu.Kernels;

/// <summary>
/// The power-of-two block scales of block-scaled fp8 (the spec's E8M0 and BlockScaled.exponentOf), computed with integer
/// steps on float32 bits, the same code in the kernels and on the CPU: a scale byte is the biased exponent e + 127 of the
/// scale 2^e, 0xFF (E8M0's NaN) for a block holding an infinity.
/// </summary>
public static class E8M0Scale
{
    /// <summary>The exponent bias of E8M0 (and of float32).</summary>
    public const uint Bias = 127;

    /// <summary>E8M0's NaN byte: the scale of a block holding an infinity.</summary>
    public const uint NaN = 0xFF;

    /// <summary>The byte of scale 1 (e = 0): an all-zero block's and a fresh state's.</summary>
    public const uint One = Bias;

    /// <summary>float32's mantissa bits: the exponent field starts at this bit.</summary>
    private const int MantissaBits = 23;

    /// <summary>float32's mantissa field.</summary>
    private const uint MantissaMask = (1u << MantissaBits) - 1;

    /// <summary>float32's +infinity bits: magnitudes at or above are not finite.</summary>
    private const uint InfinityBits = 0x7F800000u;

    /// <summary>The largest biased exponent of a finite float32 (and of an E8M0 scale that is not NaN), 254.</summary>
    private const uint MaxBiased = 2 * Bias;

    /// <summary>float32 bits of 2^-127, a subnormal: E8M0's byte 0 (its exponent field is 0, so it is not byte &lt;&lt; 23).</summary>
    private const uint SmallestBits = 1u << (MantissaBits - 1);

    /// <summary>float32 bits of a quiet NaN, sign bit clear: the spec's scale of an fp8 block holding an infinity (FallbackFp8.NaNScaleBits).</summary>
    private const uint NaNBits = (uint)S3gd.Spec.Formats.FallbackFp8.NaNScaleBits;

    /// <summary>
    /// The scale byte of a block whose largest magnitude has the float32 bits <paramref name="absmaxBits"/> (NaN left out,
    /// as 0): the smallest e &gt;= -127 with absmax / 2^e &lt;= <paramref name="max"/> (0 for absmax 0), as e + 127. With
    /// absmax = m 2^E and max = M 2^F (m, M in [1, 2)), e = E - F, plus 1 where m &gt; M: adding the mantissa bits that M
    /// lacks to absmax's bits carries into the exponent field exactly then.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static uint Of(uint absmaxBits, float max)
    {
        var maxBits = Interop.FloatAsInt(max);
        var carried = (absmaxBits + (MantissaMask - (maxBits & MantissaMask))) >> MantissaBits;
        var biased = (uint)Math.Max((int)carried - (int)(maxBits >> MantissaBits) + (int)Bias, 0);
        // ILGPU's selects, never branches (in a kernel, a branch per block costs more than the steps it would skip).
        return Utilities.Select(absmaxBits >= InfinityBits, NaN, Utilities.Select(absmaxBits == 0, One, biased));
    }

    /// <summary>The scale of a byte, 2^(byte - 127) (exact as float32; byte 0 is the subnormal 2^-127); NaN for 0xFF.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Scale(uint b) => Interop.IntAsFloat(ScaleBits(b));

    /// <summary>The inverse of a byte's scale, 2^(127 - byte), the factor that encodes; NaN for 0xFF.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Inverse(uint b) => Interop.IntAsFloat(Utilities.Select(b == NaN, NaNBits, ScaleBits(MaxBiased - b)));

    /// <summary>The float32 bits of a byte's scale, chosen by ILGPU's selects (no branch).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static uint ScaleBits(uint b) => Utilities.Select(b == NaN, NaNBits, Utilities.Select(b == 0, SmallestBits, b << MantissaBits));
}
