using System.Runtime.CompilerServices;
using S3gd.Gpu.Maths;

namespace S3gd.Gpu.Kernels;

/// <summary>The float32 operations Muon's kernels share with the CPU twin (<c>Cpu.CpuMuon</c>), none contracted.</summary>
public static class MuonMaths
{
    /// <summary>ATen's |weight| where torch.lerp switches formula, so that both ends are exact.</summary>
    private const float LerpSwitch = 0.5f;

    /// <summary>torch.lerp on one float32 (ATen's Lerp.h): s + w(e - s) for |w| &lt; 0.5, else e - (e - s)(1 - w).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Lerp<M>(float start, float end, float weight) where M : struct, IMaths<float>
    {
        M m = default;
        var difference = m.Add(end, m.Neg(start));
        return Math.Abs(weight) < LerpSwitch
            ? m.Add(start, m.Mul(weight, difference))
            : m.Add(end, m.Neg(m.Mul(difference, m.Add(1.0f, m.Neg(weight)))));
    }
}

/// <summary>What Muon orthogonalises, from the gradient and the updated momentum buffer.</summary>
public interface IMuonUpdate
{
    /// <summary>The update for gradient <paramref name="g"/> and buffer <paramref name="buffer"/>.</summary>
    float Of<M>(float g, float buffer, float momentum) where M : struct, IMaths<float>;
}

/// <summary>Nesterov: lerp(g, buf, momentum).</summary>
public readonly struct NesterovUpdate : IMuonUpdate
{
    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public float Of<M>(float g, float buffer, float momentum) where M : struct, IMaths<float> => MuonMaths.Lerp<M>(g, buffer, momentum);
}

/// <summary>Plain momentum: the buffer.</summary>
public readonly struct BufferUpdate : IMuonUpdate
{
    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public float Of<M>(float g, float buffer, float momentum) where M : struct, IMaths<float> => buffer;
}

/// <summary>
/// The denominator X is divided by before Newton–Schulz, from the Frobenius norm as the work matrices hold it (torch's
/// norm of a bf16 X is bf16, of a float32 X float32).
/// </summary>
public interface INormDenominator
{
    /// <summary>The denominator for the norm <paramref name="norm"/> (rounded as TWork holds it).</summary>
    float Of<TOps, M, TWork>(float norm, float eps) where TOps : struct, IKernelOps where M : struct, IMaths<float> where TWork : struct, INsWork;
}

/// <summary>torch's Muon: <c>X.norm().clamp(min=eps)</c>, max(norm, eps rounded as held).</summary>
public readonly struct ClampedNorm : INormDenominator
{
    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public float Of<TOps, M, TWork>(float norm, float eps) where TOps : struct, IKernelOps where M : struct, IMaths<float> where TWork : struct, INsWork
    {
        var least = default(TWork).Round<TOps>(eps);
        return norm > least ? norm : least;
    }
}

/// <summary>OAdamW's MuonProjector: <c>X.norm() + eps</c>, rounded as held.</summary>
public readonly struct NormPlusEps : INormDenominator
{
    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public float Of<TOps, M, TWork>(float norm, float eps) where TOps : struct, IKernelOps where M : struct, IMaths<float> where TWork : struct, INsWork =>
        default(TWork).Round<TOps>(default(M).Add(norm, eps));
}
