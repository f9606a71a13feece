using System.Runtime.InteropServices;
using S3gd.Gpu.Kernels;
using S3gd.Gpu.Training;

namespace S3gd.Gpu.Cpu;

/// <summary>
/// The CPU twin of <see cref="MlpKernels"/>: the same float32 operations in the same order (each matmul sum over k
/// ascending, the column sums' 256-way split and tree), so it equals the kernels bit for bit except where MathF's tanh,
/// exp and log differ from the kernels' <see cref="KernelMath"/>. Output rows of a large matmul run in parallel (each element's
/// sum is unchanged by it).
/// </summary>
public sealed class CpuMlp : Mlp
{
    /// <summary>Partial sums of a column sum: the kernel's threads per block.</summary>
    private const int Partials = MlpKernels.Threads;

    /// <summary>Multiply-adds below which a matmul runs on one thread (scheduling would cost more than it saves).</summary>
    private const long ParallelWork = 1 << 16;

    internal CpuMlp(CpuBackend owner, MlpShape shape, int maxBatch) : base(owner, shape, maxBatch)
    {
    }

    /// <inheritdoc />
    protected override void MatMulInternal(MlpMatMul op)
    {
        byte[] a = Data(op.A), b = Data(op.B), c = Data(op.C);
        var bias = op.Bias is null ? null : Data(op.Bias);
        var tanhOutput = op.TanhOutput is null ? null : Data(op.TanhOutput);
        void Row(int i)
        {
            var x = Floats(a);
            var y = Floats(b);
            var output = Floats(c);
            for (var j = 0; j < op.N; j++)
            {
                var acc = 0.0f;
                long ai = op.AOffset + (long)i * op.ARow, bj = op.BOffset + (long)j * op.BCol;
                for (var k = 0; k < op.K; k++) acc = acc + x[(int)(ai + (long)k * op.AInner)] * y[(int)(bj + (long)k * op.BInner)];
                var v = acc;
                if (bias is not null) v = v + Floats(bias)[j];
                if (op.Tanh) v = MathF.Tanh(v);
                if (tanhOutput is not null)
                {
                    var d = Floats(tanhOutput)[i * op.N + j];
                    v = v * (1.0f - d * d);
                }
                output[i * op.N + j] = v;
            }
        }
        if ((long)op.M * op.N * op.K < ParallelWork)
            for (var i = 0; i < op.M; i++) Row(i);
        else
            Parallel.For(0, op.M, Row);
    }

    /// <inheritdoc />
    protected override void SoftmaxCrossEntropyInternal(
        DeviceBuffer logits, DeviceBuffer labels, long labelOffset, DeviceBuffer? dlogits, DeviceBuffer stats, int rows, int classes, float scale)
    {
        var z = Floats(Data(logits));
        var y = Floats(Data(labels));
        var s = Floats(Data(stats));
        var dz = dlogits is null ? Span<float>.Empty : Floats(Data(dlogits));
        for (var r = 0; r < rows; r++)
        {
            var row = z.Slice(r * classes, classes);
            var max = row[0];
            var arg = 0;
            for (var j = 1; j < classes; j++)
                if (row[j] > max) (max, arg) = (row[j], j);
            var sum = 0.0f;
            for (var j = 0; j < classes; j++) sum = sum + MathF.Exp(row[j] - max);
            var lf = y[(int)(labelOffset + r)];
            var valid = lf >= 0.0f && lf < classes && MathF.Floor(lf) == lf;
            var label = valid ? (int)lf : 0;
            s[2 * r] = valid ? MathF.Log(sum) + max - row[label] : float.NaN;
            s[2 * r + 1] = valid && arg == label ? 1.0f : 0.0f;
            if (dlogits is null) continue;
            for (var j = 0; j < classes; j++)
            {
                var p = MathF.Exp(row[j] - max) / sum;
                dz[r * classes + j] = valid ? (p - (j == label ? 1.0f : 0.0f)) * scale : float.NaN;
            }
        }
    }

    /// <inheritdoc />
    protected override void ColumnSumInternal(DeviceBuffer x, DeviceBuffer output, int rows, int cols)
    {
        var values = Floats(Data(x));
        var result = Floats(Data(output));
        Span<float> partial = stackalloc float[Partials];
        for (var j = 0; j < cols; j++)
        {
            for (var t = 0; t < Partials; t++)
            {
                var acc = 0.0f;
                for (var r = t; r < rows; r += Partials) acc = acc + values[r * cols + j];
                partial[t] = acc;
            }
            for (var step = Partials / 2; step > 0; step >>= 1)
                for (var t = 0; t < step; t++) partial[t] = partial[t] + partial[t + step];
            result[j] = partial[0];
        }
    }

    private static byte[] Data(DeviceBuffer buffer) => ((CpuBuffer)buffer).Data;

    private static Span<float> Floats(byte[] data) => MemoryMarshal.Cast<byte, float>(data.AsSpan());
}
