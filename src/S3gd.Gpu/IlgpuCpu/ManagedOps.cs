using System.Runtime.CompilerServices;
using ILGPU;
using S3gd.Gpu.Kernels;

namespace S3gd.Gpu.IlgpuCpu;

/// <summary>
/// The kernels' accelerator operations in managed code, for ILGPU's CPU accelerator: the conversions of
/// <see cref="SoftwareConvert"/> (the same bits as the GPU's instructions) and the warp's vote and maximum as shuffle
/// reductions (the same results as vote.sync and redux.sync).
/// </summary>
public readonly struct ManagedOps : IKernelOps
{
    /// <summary>Lanes of a warp.</summary>
    private const int WarpSize = 32;

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public uint EncodeBf16Pair(float first, float second) =>
        SoftwareConvert.EncodeBf16(first) | (uint)SoftwareConvert.EncodeBf16(second) << 16;

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public float Multiply(float a, float b) => a * b;

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public float RoundBf16(float x) => SoftwareConvert.RoundBf16(x);

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public uint EncodeE4M3Pair(float first, float second) =>
        SoftwareConvert.EncodeE4M3(first) | (uint)SoftwareConvert.EncodeE4M3(second) << 8;

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public uint EncodeE5M2Pair(float first, float second) =>
        SoftwareConvert.EncodeE5M2(first) | (uint)SoftwareConvert.EncodeE5M2(second) << 8;

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void DecodeE4M3Pair(uint codes, out float first, out float second)
    {
        first = SoftwareConvert.DecodeE4M3(codes & 0xFFu);
        second = SoftwareConvert.DecodeE4M3((codes >> 8) & 0xFFu);
    }

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void DecodeE5M2Pair(uint codes, out float first, out float second)
    {
        first = SoftwareConvert.DecodeE5M2(codes & 0xFFu);
        second = SoftwareConvert.DecodeE5M2((codes >> 8) & 0xFFu);
    }

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public uint Ballot(bool predicate)
    {
        var bits = predicate ? 1u << Warp.LaneIdx : 0u;
        for (var lane = WarpSize / 2; lane > 0; lane /= 2) bits |= Warp.ShuffleXor(bits, lane);
        return bits;
    }

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public uint WarpMax(uint value) => LanesMax(value, WarpSize);

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public uint HalfWarpMax(uint value) => LanesMax(value, IKernelOps.HalfWarpSize);

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Prefetch(ulong address)
    {
        // Nothing to ask for: the CPU accelerator's loads are the host's.
    }

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public float MaxNumber(float a, float b) => default(Cpu.ScalarMaths).Max(a, b);

    /// <summary>The largest <paramref name="value"/> over the aligned group of <paramref name="lanes"/> lanes (a power of two) holding the lane.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static uint LanesMax(uint value, int lanes)
    {
        for (var lane = lanes / 2; lane > 0; lane /= 2)
        {
            var other = Warp.ShuffleXor(value, lane);
            value = other > value ? other : value;
        }
        return value;
    }
}
