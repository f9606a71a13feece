using System.Runtime.CompilerServices;
using ILGPU;
using S3gd.Gpu.Adafactor;
using S3gd.Gpu.Maths;

namespace S3gd.Gpu.Kernels;

/// <summary>
/// Adafactor's step (torch.optim.Adafactor, PyTorch 2.11) as three kernels queued in order, each over every tensor of a
/// plan (<see cref="AdafactorRow"/>): <see cref="Factors"/> updates the moments, <see cref="Norms"/> sums each tensor's
/// squares of the parameter and of the update, <see cref="Apply"/> updates the parameter. The maths is
/// <see cref="AdafactorMaths"/>, and every sum runs in an order fixed by the tensor's shape alone (not the grid), which
/// the CPU twin (<c>Cpu.CpuAdafactor</c>) follows, so both give the same bits.
/// </summary>
public static class AdafactorKernels
{
    /// <summary>Threads per block.</summary>
    public const int Threads = AdafactorMaths.ReductionThreads;

    /// <summary>
    /// The moments of tensor Grid.IdxY, a thread per factor (grid-stride): row_var of row k (matrix k / R) from its
    /// sum of g^2 over the row's columns in order, then col_var of column q (matrix q / C) from its sum over the rows in
    /// order; a vector's variance per element.
    /// </summary>
    public static void Factors<M>(ArrayView<byte> memory, AdafactorArgs args) where M : struct, IMaths<float>
    {
        var row = AdafactorRow.Read(memory, args.Table, Grid.IdxY);
        var weight = args.Scalars.Weight;
        var first = (long)Grid.IdxX * Group.DimX + Group.IdxX;
        var stride = (long)Grid.DimX * Group.DimX;
        if (row.Batches == 0)
        {
            for (var e = first; e < row.Length; e += stride)
                F(memory, row.RowVar, e) = AdafactorMaths.Variance<M>(F(memory, row.RowVar, e), F(memory, row.Grad, e), weight);
            return;
        }
        var rows = row.Batches * row.Rows;
        for (var k = first; k < rows + row.Batches * row.Cols; k += stride)
        {
            var squares = 0.0f;
            if (k < rows)
            {
                for (var j = 0L; j < row.Cols; j++) squares = AdafactorMaths.AddSquare<M>(squares, F(memory, row.Grad, k * row.Cols + j));
                F(memory, row.RowVar, k) = AdafactorMaths.Factor<M>(F(memory, row.RowVar, k), squares, row.Cols, weight);
            }
            else
            {
                var q = k - rows;
                var start = q / row.Cols * row.Rows * row.Cols + q % row.Cols;
                for (var i = 0L; i < row.Rows; i++) squares = AdafactorMaths.AddSquare<M>(squares, F(memory, row.Grad, start + i * row.Cols));
                F(memory, row.ColVar, q) = AdafactorMaths.Factor<M>(F(memory, row.ColVar, q), squares, row.Rows, weight);
            }
        }
    }

    /// <summary>
    /// Tensor Grid.IdxX's sums, by one block: each matrix's clamped row mean (thread b % Threads sums the matrix's row_var
    /// in order), then the sums of squares of the parameter and of U, thread t over elements t, t + Threads, ... in order,
    /// the threads' sums added by a halving tree.
    /// </summary>
    public static void Norms<M>(ArrayView<byte> memory, AdafactorArgs args) where M : struct, IMaths<float>
    {
        M m = default;
        var row = AdafactorRow.Read(memory, args.Table, Grid.IdxX);
        var sc = args.Scalars;
        var t = Group.IdxX;
        if (row.Batches > 0)
        {
            for (var b = (long)t; b < row.Batches; b += Threads)
            {
                var sum = 0.0f;
                for (var i = 0L; i < row.Rows; i++) sum = m.Add(sum, F(memory, row.RowVar, b * row.Rows + i));
                F(memory, row.Sums, AdafactorMaths.SumsWords + b) = AdafactorMaths.RowMean<M>(sum, row.Rows, sc.Eps1);
            }
            Group.Barrier();
        }
        var param = 0.0f;
        var update = 0.0f;
        for (var e = (long)t; e < row.Length; e += Threads)
        {
            param = AdafactorMaths.AddSquare<M>(param, F(memory, row.Param, e));
            update = AdafactorMaths.AddSquare<M>(update, Update<M>(memory, row, e, sc));
        }
        var shared = SharedMemory.Allocate<float>(2 * Threads);
        shared[t] = param;
        shared[Threads + t] = update;
        Group.Barrier();
        for (var half = Threads / 2; half > 0; half /= 2)
        {
            if (t < half)
            {
                shared[t] = m.Add(shared[t], shared[t + half]);
                shared[Threads + t] = m.Add(shared[Threads + t], shared[Threads + t + half]);
            }
            Group.Barrier();
        }
        if (t != 0) return;
        F(memory, row.Sums, 0) = shared[0];
        F(memory, row.Sums, 1) = shared[Threads];
    }

    /// <summary>The parameters of tensor Grid.IdxY, a thread per element (grid-stride): p &lt;- p * decay + coefficient * U.</summary>
    public static void Apply<M>(ArrayView<byte> memory, AdafactorArgs args) where M : struct, IMaths<float>
    {
        var row = AdafactorRow.Read(memory, args.Table, Grid.IdxY);
        var sc = args.Scalars;
        var coefficient = AdafactorMaths.Coefficient<M>(F(memory, row.Sums, 0), F(memory, row.Sums, 1), row.SqrtNumel, row.SqrtNumelD, sc);
        var stride = (long)Grid.DimX * Group.DimX;
        for (var e = (long)Grid.IdxX * Group.DimX + Group.IdxX; e < row.Length; e += stride)
            F(memory, row.Param, e) = AdafactorMaths.Apply<M>(F(memory, row.Param, e), Update<M>(memory, row, e, sc), sc.Decay, coefficient);
    }

    /// <summary>U of element <paramref name="e"/> from the updated moments (and, factored, its matrix's row mean).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float Update<M>(ArrayView<byte> memory, in AdafactorRow row, long e, in AdafactorScalars sc) where M : struct, IMaths<float>
    {
        var g = default(M).Mul(sc.GradSign, F(memory, row.Grad, e));
        if (row.Batches == 0) return AdafactorMaths.Update<M>(g, F(memory, row.RowVar, e), sc.Eps1Squared);
        var matrix = e / (row.Rows * row.Cols);
        var r = F(memory, row.RowVar, e / row.Cols);
        var c = F(memory, row.ColVar, matrix * row.Cols + e % row.Cols);
        var v = AdafactorMaths.Estimate<M>(r, c, F(memory, row.Sums, AdafactorMaths.SumsWords + matrix));
        return AdafactorMaths.Update<M>(g, v, sc.Eps1Squared);
    }

    /// <summary>Element <paramref name="i"/> of the float32 buffer at <paramref name="address"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ref float F(ArrayView<byte> memory, ulong address, long i) => ref DeviceMemory.At<float>(memory, address + (ulong)i * sizeof(float));
}
