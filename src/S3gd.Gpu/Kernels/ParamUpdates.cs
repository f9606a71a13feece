using System.Runtime.CompilerServices;
using S3gd.Gpu.Cpu;

namespace S3gd.Gpu.Kernels;

/// <summary>
/// How a kernel stores a parameter the rule updated (<see cref="Elementwise.ParamUpdate"/>): the updated float32 as is
/// (rounded to nearest by its format's store), Kahan-compensated or stochastically rounded to bf16. Kahan's and the
/// stochastic rounding's float32 operations are additions and subtractions only, so none can be contracted.
/// </summary>
public interface IKernelParamUpdate
{
    /// <summary>Whether the update keeps a bf16 compensation buffer.</summary>
    bool HasCompensation { get; }

    /// <summary>The parameter to store for the rule's <paramref name="updated"/> value of the parameter <paramref name="old"/>.</summary>
    float Apply<TOps>(float old, float updated, ref float compensation, uint stream, long index) where TOps : struct, IKernelOps;
}

/// <summary>Round to nearest even (by the parameter format's store).</summary>
public readonly struct NearestUpdate : IKernelParamUpdate
{
    /// <inheritdoc />
    public bool HasCompensation => false;

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public float Apply<TOps>(float old, float updated, ref float compensation, uint stream, long index) where TOps : struct, IKernelOps => updated;
}

/// <summary>optimi's Kahan summation: c &lt;- c + (updated - old); p = bf16(old + c); c &lt;- c + (old - p).</summary>
public readonly struct KahanUpdate : IKernelParamUpdate
{
    /// <inheritdoc />
    public bool HasCompensation => true;

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public float Apply<TOps>(float old, float updated, ref float compensation, uint stream, long index) where TOps : struct, IKernelOps
    {
        var c = compensation + (updated - old);
        var p = default(TOps).RoundBf16(old + c);
        compensation = c + (old - p);
        return p;
    }
}

/// <summary>Stochastic rounding to bf16 with the counter-based hash of (seed, step, tensor, element) (<see cref="StochasticRounding"/>).</summary>
public readonly struct StochasticUpdate : IKernelParamUpdate
{
    /// <inheritdoc />
    public bool HasCompensation => false;

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public float Apply<TOps>(float old, float updated, ref float compensation, uint stream, long index) where TOps : struct, IKernelOps =>
        float.IsNaN(updated) ? default(TOps).RoundBf16(updated) : StochasticRounding.Truncate(updated, StochasticRounding.Element(stream, index));
}
