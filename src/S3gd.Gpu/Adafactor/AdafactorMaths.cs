using System.Runtime.CompilerServices;
using S3gd.Gpu.Kernels;
using S3gd.Gpu.Maths;

namespace S3gd.Gpu.Adafactor;

/// <summary>
/// Adafactor's float32 maths (torch.optim.Adafactor), written once for the kernels (<c>Kernels.AdafactorKernels</c>) and
/// their CPU twin (<c>Cpu.CpuAdafactor</c>), which call these in the same order over the same sums, so both give the same
/// bits. Every operation is one <see cref="IMaths{T}"/> operation; the sums of squares accumulate with
/// <see cref="IMaths{T}.Madd"/> (one rounding per term).
/// </summary>
public static class AdafactorMaths
{
    /// <summary>Threads of a tensor's reduction (<c>AdafactorKernels.Norms</c>: a block per tensor; the CPU twin's partial sums).</summary>
    public const int ReductionThreads = 256;

    /// <summary>The sums of squares of a tensor kept before its row means: the parameter's, then the update's.</summary>
    public const int SumsWords = 2;

    /// <summary>A factor's new value: lerp(factor, sum of squares / count, weight), count the columns (row_var) or rows (col_var).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Factor<M>(float factor, float squares, float count, float weight) where M : struct, IMaths<float> =>
        MuonMaths.Lerp<M>(factor, default(M).Div(squares, count), weight);

    /// <summary>A vector's variance: lerp(variance, g*g, weight).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Variance<M>(float variance, float g, float weight) where M : struct, IMaths<float> =>
        MuonMaths.Lerp<M>(variance, default(M).Mul(g, g), weight);

    /// <summary>A matrix's row_var mean clamped below at eps1, from the sum of its rows' row_var.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float RowMean<M>(float sum, float rows, float eps1) where M : struct, IMaths<float> =>
        default(M).Max(default(M).Div(sum, rows), eps1);

    /// <summary>V of a factored element: row_var * col_var / its matrix's clamped row mean.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Estimate<M>(float row, float col, float rowMean) where M : struct, IMaths<float> =>
        default(M).Div(default(M).Mul(row, col), rowMean);

    /// <summary>U = rsqrt(max(V, eps1^2)) * g (torch's rsqrt as 1/sqrt), g already signed for maximize.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Update<M>(float g, float v, float eps1Squared) where M : struct, IMaths<float>
    {
        M m = default;
        return m.Mul(m.Div(1.0f, m.Root(m.Max(v, eps1Squared))), g);
    }

    /// <summary>A running sum of squares plus x*x (one rounding).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float AddSquare<M>(float sum, float x) where M : struct, IMaths<float> => default(M).Madd(x, x, sum);

    /// <summary>
    /// The factor of U in the update, -alpha / max(1, ||U|| / (sqrt(numel) d)) with alpha = max(eps2, ||p|| / sqrt(numel)) * rho,
    /// from the tensor's sums of squares of the parameter (before the decay) and of U.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Coefficient<M>(float paramSquares, float updateSquares, float sqrtNumel, float sqrtNumelD, in AdafactorScalars sc)
        where M : struct, IMaths<float>
    {
        M m = default;
        var alpha = m.Mul(m.Max(sc.Eps2, m.Div(m.Root(paramSquares), sqrtNumel)), sc.Rho);
        var denom = m.Max(1.0f, m.Div(m.Root(updateSquares), sqrtNumelD));
        return m.Neg(m.Div(alpha, denom));
    }

    /// <summary>p * decay + coefficient * U: torch's <c>p.mul_(1 - lr*wd)</c> (exact for wd = 0) and <c>p.add_(U, alpha=coefficient)</c>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Apply<M>(float p, float u, float decay, float coefficient) where M : struct, IMaths<float> =>
        default(M).Madd(coefficient, u, default(M).Mul(p, decay));

    /// <summary>float32 sqrt(numel) and sqrt(numel) * d of a tensor, formed in float64 as torch forms them.</summary>
    public static (float SqrtNumel, float SqrtNumelD) Sizes(long length, double d) =>
        ((float)Math.Sqrt(length), (float)(Math.Sqrt(length) * d));
}
