using System.Runtime.CompilerServices;
using ILGPU;
using S3gd.Gpu.Maths;

namespace S3gd.Gpu.Kernels;

/// <summary>The first step of the matrix product's epilogue: a bias per output column, or none.</summary>
public interface IMatMulBias
{
    /// <summary>The sum <paramref name="v"/> of output column <paramref name="col"/> with the bias at <paramref name="bias"/>.</summary>
    float Apply<M>(ArrayView<byte> memory, ulong bias, int col, float v) where M : struct, IMaths<float>;
}

/// <summary>No bias.</summary>
public readonly struct NoBias : IMatMulBias
{
    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public float Apply<M>(ArrayView<byte> memory, ulong bias, int col, float v) where M : struct, IMaths<float> => v;
}

/// <summary>v + bias[col].</summary>
public readonly struct ColumnBias : IMatMulBias
{
    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public float Apply<M>(ArrayView<byte> memory, ulong bias, int col, float v) where M : struct, IMaths<float> =>
        default(M).Add(v, DeviceMemory.At<float>(memory, bias + (ulong)col * sizeof(float)));
}

/// <summary>The second step: the activation.</summary>
public interface IMatMulActivation
{
    /// <summary>The activation of <paramref name="v"/>.</summary>
    float Apply<M>(float v) where M : struct, IMaths<float>;
}

/// <summary>None (the logits).</summary>
public readonly struct Linear : IMatMulActivation
{
    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public float Apply<M>(float v) where M : struct, IMaths<float> => v;
}

/// <summary>tanh (<see cref="KernelMath.Tanh{M}"/>).</summary>
public readonly struct TanhActivation : IMatMulActivation
{
    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public float Apply<M>(float v) where M : struct, IMaths<float> => KernelMath.Tanh<M>(v);
}

/// <summary>The third step: the derivative of the activation that produced a layer's output, or none.</summary>
public interface IMatMulDerivative
{
    /// <summary><paramref name="v"/> times the derivative at output element <paramref name="index"/> of the tanh output at <paramref name="tanhOutput"/>.</summary>
    float Apply<M>(ArrayView<byte> memory, ulong tanhOutput, long index, float v) where M : struct, IMaths<float>;
}

/// <summary>None.</summary>
public readonly struct NoDerivative : IMatMulDerivative
{
    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public float Apply<M>(ArrayView<byte> memory, ulong tanhOutput, long index, float v) where M : struct, IMaths<float> => v;
}

/// <summary>v * (1 - d*d), d the tanh output: tanh's derivative through the activation it produced.</summary>
public readonly struct TanhDerivative : IMatMulDerivative
{
    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public float Apply<M>(ArrayView<byte> memory, ulong tanhOutput, long index, float v) where M : struct, IMaths<float>
    {
        M m = default;
        var d = DeviceMemory.At<float>(memory, tanhOutput + (ulong)index * sizeof(float));
        return m.Mul(v, m.Add(1.0f, m.Neg(m.Mul(d, d))));
    }
}

/// <summary>What softmax cross-entropy writes besides the row statistics: the logits' gradient, or nothing (evaluation).</summary>
public interface ISoftmaxGradient
{
    /// <summary>Writes row <paramref name="row"/>'s gradient from its logits at <paramref name="logits"/>, their maximum and the sum of their exponentials.</summary>
    void Write<M>(ArrayView<byte> memory, in SoftmaxArgs args, int row, ulong logits, float max, float sum, int label, bool valid)
        where M : struct, IMaths<float>;
}

/// <summary>No gradient.</summary>
public readonly struct NoGradient : ISoftmaxGradient
{
    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Write<M>(ArrayView<byte> memory, in SoftmaxArgs args, int row, ulong logits, float max, float sum, int label, bool valid)
        where M : struct, IMaths<float>
    {
    }
}

/// <summary>dlogits[r, j] = (softmax_j - [j = label]) * scale; NaN for a row whose label is invalid.</summary>
public readonly struct LogitGradient : ISoftmaxGradient
{
    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Write<M>(ArrayView<byte> memory, in SoftmaxArgs args, int row, ulong logits, float max, float sum, int label, bool valid)
        where M : struct, IMaths<float>
    {
        M m = default;
        var gradient = args.Gradient + (ulong)row * (ulong)args.Classes * sizeof(float);
        for (var j = 0; j < args.Classes; j++)
        {
            var p = m.Div(KernelMath.Exp<M>(m.Add(DeviceMemory.At<float>(memory, logits + (ulong)j * sizeof(float)), m.Neg(max))), sum);
            DeviceMemory.At<float>(memory, gradient + (ulong)j * sizeof(float)) =
                valid ? m.Mul(m.Add(p, j == label ? -1.0f : 0.0f), args.Scale) : Interop.IntAsFloat(MlpKernels.QuietNaN);
        }
    }
}
