using S3gd.Gpu.Adafactor;
using M = S3gd.Gpu.Cpu.ScalarMaths;

namespace S3gd.Gpu.Cpu;

/// <summary>
/// Adafactor on the CPU: the kernels' twin (<c>Kernels.AdafactorKernels</c>), the same <see cref="AdafactorMaths"/> over
/// the same sums in the same order, so both give the same bits: each row's and column's squares in index order, each
/// matrix's row_var in order, and the tensor's sums of squares as <see cref="AdafactorMaths.ReductionThreads"/> strided
/// partial sums added by a halving tree.
/// </summary>
internal static class CpuAdafactor
{
    /// <summary>One step of one tensor (its float32 buffers as spans: state is row_var and col_var, or variance and an empty span).</summary>
    internal static void Step(in AdafactorScalars sc, AdafactorTensor t, Span<float> param, ReadOnlySpan<float> grad, Span<float> rowVar, Span<float> colVar, double d)
    {
        var means = t.Factored ? Factored(sc, t, grad, rowVar, colVar) : [];
        if (!t.Factored)
            for (var e = 0; e < grad.Length; e++) rowVar[e] = AdafactorMaths.Variance<M>(rowVar[e], grad[e], sc.Weight);
        var paramSums = new float[AdafactorMaths.ReductionThreads];
        var updateSums = new float[AdafactorMaths.ReductionThreads];
        for (var thread = 0; thread < AdafactorMaths.ReductionThreads; thread++)
            for (var e = thread; e < param.Length; e += AdafactorMaths.ReductionThreads)
            {
                paramSums[thread] = AdafactorMaths.AddSquare<M>(paramSums[thread], param[e]);
                updateSums[thread] = AdafactorMaths.AddSquare<M>(updateSums[thread], Update(sc, t, e, grad, rowVar, colVar, means));
            }
        for (var half = AdafactorMaths.ReductionThreads / 2; half > 0; half /= 2)
            for (var thread = 0; thread < half; thread++)
            {
                paramSums[thread] = default(M).Add(paramSums[thread], paramSums[thread + half]);
                updateSums[thread] = default(M).Add(updateSums[thread], updateSums[thread + half]);
            }
        var (sqrtNumel, sqrtNumelD) = AdafactorMaths.Sizes(t.Length, d);
        var coefficient = AdafactorMaths.Coefficient<M>(paramSums[0], updateSums[0], sqrtNumel, sqrtNumelD, sc);
        for (var e = 0; e < param.Length; e++)
            param[e] = AdafactorMaths.Apply<M>(param[e], Update(sc, t, e, grad, rowVar, colVar, means), sc.Decay, coefficient);
    }

    /// <summary>A factored tensor's row_var and col_var; returns each matrix's clamped row mean.</summary>
    private static float[] Factored(in AdafactorScalars sc, AdafactorTensor t, ReadOnlySpan<float> grad, Span<float> rowVar, Span<float> colVar)
    {
        long rows = t.Rows, cols = t.Cols, batches = t.Batches;
        for (var k = 0L; k < batches * rows; k++)
        {
            var squares = 0.0f;
            for (var j = 0L; j < cols; j++) squares = AdafactorMaths.AddSquare<M>(squares, grad[(int)(k * cols + j)]);
            rowVar[(int)k] = AdafactorMaths.Factor<M>(rowVar[(int)k], squares, cols, sc.Weight);
        }
        for (var q = 0L; q < batches * cols; q++)
        {
            var squares = 0.0f;
            var start = q / cols * rows * cols + q % cols;
            for (var i = 0L; i < rows; i++) squares = AdafactorMaths.AddSquare<M>(squares, grad[(int)(start + i * cols)]);
            colVar[(int)q] = AdafactorMaths.Factor<M>(colVar[(int)q], squares, rows, sc.Weight);
        }
        var means = new float[batches];
        for (var b = 0L; b < batches; b++)
        {
            var sum = 0.0f;
            for (var i = 0L; i < rows; i++) sum = default(M).Add(sum, rowVar[(int)(b * rows + i)]);
            means[b] = AdafactorMaths.RowMean<M>(sum, rows, sc.Eps1);
        }
        return means;
    }

    /// <summary>U of element <paramref name="e"/>, as the kernels' Update.</summary>
    private static float Update(in AdafactorScalars sc, AdafactorTensor t, long e, ReadOnlySpan<float> grad, ReadOnlySpan<float> rowVar, ReadOnlySpan<float> colVar, float[] means)
    {
        var g = default(M).Mul(sc.GradSign, grad[(int)e]);
        if (!t.Factored) return AdafactorMaths.Update<M>(g, rowVar[(int)e], sc.Eps1Squared);
        long rows = t.Rows, cols = t.Cols;
        var matrix = e / (rows * cols);
        var v = AdafactorMaths.Estimate<M>(rowVar[(int)(e / cols)], colVar[(int)(matrix * cols + e % cols)], means[matrix]);
        return AdafactorMaths.Update<M>(g, v, sc.Eps1Squared);
    }
}
