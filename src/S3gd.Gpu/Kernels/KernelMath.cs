using System.Runtime.CompilerServices;
using ILGPU;
using S3gd.Gpu.Maths;

namespace S3gd.Gpu.Kernels;

/// <summary>
/// exp, log and tanh in float32 for the kernels, written with <see cref="IMaths{T}"/> operations only. ILGPU 1.5.3's PTX
/// backend has exp and log only through NVIDIA's libdevice (without it, compiling MathF.Exp or MathF.Log fails: no
/// intrinsic implementation), and compiles MathF.Tanh to tanh.approx.f32 (about 2^-11 relative error); these need
/// neither. Every operation is explicit (<see cref="IMaths{T}.Madd"/> the only fused one), so the CUDA maths and the CPU
/// accelerator's give the same bits. exp and log are within 1 ulp of the exact value, tanh within 3 (KernelMathTests).
/// Range reductions are the textbook ones (Cody and Waite's for exp, fdlibm's for log); the polynomials are Taylor
/// series, truncated where the next term is below a tenth of an ulp on the reduced range.
/// </summary>
public static class KernelMath
{
    /// <summary>ln 2 rounded to float32.</summary>
    private const float Ln2High = 0.693147182f;

    /// <summary>ln 2 - <see cref="Ln2High"/>, rounded to float32: with it, k ln 2 is exact to about 2^-48 k.</summary>
    private const float Ln2Low = -1.90465421e-09f;

    /// <summary>log2(e) rounded to float32.</summary>
    private const float Log2E = 1.44269502f;

    /// <summary>
    /// Above it exp overflows (it is above ln(float.MaxValue) = 88.7228...); below it, k = round(x log2 e) is at most
    /// 128, so both halves of 2^k are normal and the last product rounds to infinity by itself where it must.
    /// </summary>
    private const float ExpOverflow = 89.0f;

    /// <summary>Below it exp is under half the smallest subnormal (2^-150 = e^-103.97...), so rounds to 0.</summary>
    private const float ExpUnderflow = -104.0f;

    /// <summary>Where tanh switches from expm1 (accurate near 0) to exp: 1.1 is the reach of <see cref="Expm1Near0{M}"/>.</summary>
    private const float TanhByExp = 0.55f;

    /// <summary>sqrt(2) rounded to float32: log's reduced mantissa lies in [sqrt(2)/2, sqrt(2)].</summary>
    private const float Sqrt2 = 1.41421354f;

    /// <summary>The smallest normal float32, 2^-126: log scales subnormals up by <see cref="SubnormalScale"/> first.</summary>
    private const float SmallestNormal = 1.17549435e-38f;

    /// <summary>2^25: makes any subnormal normal.</summary>
    private const float SubnormalScale = 33554432.0f;

    /// <summary>log2 of <see cref="SubnormalScale"/>.</summary>
    private const int SubnormalScaleBits = 25;

    /// <summary>The float32 exponent bias.</summary>
    private const int ExponentBias = 127;

    /// <summary>The float32 mantissa field's width.</summary>
    private const int MantissaBits = 23;

    /// <summary>The mantissa field's mask.</summary>
    private const uint MantissaMask = 0x7FFFFFu;

    /// <summary>The bits of 1.0f: a mantissa field with this exponent is a value in [1, 2).</summary>
    private const uint OneBits = 0x3F800000u;

    /// <summary>The sign bit.</summary>
    private const uint SignBit = 0x80000000u;

    /// <summary>e^x.</summary>
    public static float Exp<M>(float x) where M : struct, IMaths<float>
    {
        M m = default;
        if (x > ExpOverflow) return float.PositiveInfinity;
        if (x < ExpUnderflow) return 0.0f;
        // x = k ln 2 + r with k = round(x log2 e), so |r| <= ln(2)/2 (a NaN stays NaN through r).
        var k = MathF.Floor(m.Add(m.Mul(x, Log2E), 0.5f));
        var r = m.Madd(m.Neg(k), Ln2High, x);
        r = m.Madd(m.Neg(k), Ln2Low, r);
        // e^r by Taylor to r^7/7!: the next term is below 2^-27 on |r| <= ln(2)/2.
        var p = m.Madd(r, 1.0f / 5040, 1.0f / 720);
        p = m.Madd(r, p, 1.0f / 120);
        p = m.Madd(r, p, 1.0f / 24);
        p = m.Madd(r, p, 1.0f / 6);
        p = m.Madd(r, p, 0.5f);
        p = m.Madd(r, p, 1.0f);
        p = m.Madd(r, p, 1.0f);
        // 2^k in two normal halves: the first product is exact, the second rounds once (to a subnormal where it must).
        var n = (int)k;
        var half = n / 2;
        return m.Mul(m.Mul(p, PowerOfTwo(half)), PowerOfTwo(n - half));
    }

    /// <summary>The natural logarithm: -infinity at 0, NaN below 0 and for NaN, infinity at infinity.</summary>
    public static float Log<M>(float x) where M : struct, IMaths<float>
    {
        M m = default;
        if (!(x > 0.0f)) return x == 0.0f ? float.NegativeInfinity : float.NaN;
        if (float.IsPositiveInfinity(x)) return x;
        var e = 0;
        if (x < SmallestNormal)
        {
            x = m.Mul(x, SubnormalScale);
            e = -SubnormalScaleBits;
        }
        // x = 2^e * mantissa, the mantissa in [sqrt(2)/2, sqrt(2)], f = mantissa - 1 (exact).
        var bits = Interop.FloatAsInt(x);
        e += (int)(bits >> MantissaBits) - ExponentBias;
        var mantissa = Interop.IntAsFloat((bits & MantissaMask) | OneBits);
        if (mantissa > Sqrt2)
        {
            mantissa = m.Mul(mantissa, 0.5f);
            e++;
        }
        var f = m.Add(mantissa, -1.0f);
        // log(1 + f) = 2 atanh(s), s = f / (2 + f): f - hfsq + s (hfsq + R) with hfsq = f^2/2 and R the atanh series
        // past its first term, 2/3 z + 2/5 z^2 + 2/7 z^3 + 2/9 z^4 in z = s^2 <= 0.0295 (the next term is below 2^-30).
        var s = m.Div(f, m.Add(2.0f, f));
        var z = m.Mul(s, s);
        var series = m.Madd(z, 2.0f / 9, 2.0f / 7);
        series = m.Madd(z, series, 2.0f / 5);
        series = m.Madd(z, series, 2.0f / 3);
        series = m.Mul(z, series);
        var hfsq = m.Mul(m.Mul(0.5f, f), f);
        var log1p = m.Add(f, m.Neg(m.Add(hfsq, m.Neg(m.Mul(s, m.Add(hfsq, series))))));
        float k = e;
        return m.Madd(k, Ln2High, m.Madd(k, Ln2Low, log1p));
    }

    /// <summary>The hyperbolic tangent: t / (t + 2) with t = e^2|x| - 1 near 0, 1 - 2 / (e^2|x| + 1) beyond; x's sign.</summary>
    public static float Tanh<M>(float x) where M : struct, IMaths<float>
    {
        M m = default;
        var w = Math.Abs(x);
        float t;
        if (w > TanhByExp)
        {
            t = m.Add(1.0f, m.Neg(m.Div(2.0f, m.Add(Exp<M>(m.Add(w, w)), 1.0f))));
        }
        else
        {
            var e = Expm1Near0<M>(m.Add(w, w));
            t = m.Div(e, m.Add(e, 2.0f));
        }
        return Interop.IntAsFloat(Interop.FloatAsInt(t) | (Interop.FloatAsInt(x) & SignBit));
    }

    /// <summary>
    /// e^y - 1 for |y| &lt;= 1.1 by Taylor to y^11/11! (the next term is below 2^-27 of the result there), as
    /// y + y^2 q so that small arguments keep every bit.
    /// </summary>
    private static float Expm1Near0<M>(float y) where M : struct, IMaths<float>
    {
        M m = default;
        var q = m.Madd(y, 1.0f / 39916800, 1.0f / 3628800);
        q = m.Madd(y, q, 1.0f / 362880);
        q = m.Madd(y, q, 1.0f / 40320);
        q = m.Madd(y, q, 1.0f / 5040);
        q = m.Madd(y, q, 1.0f / 720);
        q = m.Madd(y, q, 1.0f / 120);
        q = m.Madd(y, q, 1.0f / 24);
        q = m.Madd(y, q, 1.0f / 6);
        q = m.Madd(y, q, 0.5f);
        return m.Madd(m.Mul(y, y), q, y);
    }

    /// <summary>2^n for n in the normal range [-126, 127].</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float PowerOfTwo(int n) => Interop.IntAsFloat((uint)(n + ExponentBias) << MantissaBits);
}
