using System.Runtime.CompilerServices;
using ILGPU;
using ILGPU.Runtime.Cuda;
using S3gd.Gpu.Kernels;

namespace S3gd.Gpu.Cuda;

/// <summary>
/// The kernels' accelerator operations as PTX instructions (ILGPU's <see cref="CudaAsm"/>): the bf16 and fp8 pair
/// conversions (round to nearest even, satfinite; bf16 sm_80+, fp8 sm_89+), vote.sync and redux.sync (sm_80+). Only in
/// kernels compiled for CUDA; <see cref="IlgpuCpu.ManagedOps"/> computes the same bits elsewhere.
/// </summary>
public readonly struct CudaOps : IKernelOps
{
    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public uint EncodeBf16Pair(float first, float second)
    {
        // cvt.bf16x2's first operand goes to the upper half.
        CudaAsm.Emit("cvt.rn.bf16x2.f32 %0, %1, %2;", out uint pair, second, first);
        return pair;
    }

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public float Multiply(float a, float b) => default(CudaMaths).Mul(a, b);

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public float RoundBf16(float x)
    {
        // One instruction: x's bf16 code into the upper half, 0.0's (0x0000) into the lower, which is the float32 of the bf16.
        CudaAsm.Emit("cvt.rn.bf16x2.f32 %0, %1, %2;", out uint bits, x, 0.0f);
        return Interop.IntAsFloat(bits);
    }

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public uint EncodeE4M3Pair(float first, float second)
    {
        // cvt's first operand goes to the upper byte.
        CudaAsm.Emit("cvt.rn.satfinite.e4m3x2.f32 %0, %1, %2;", out ushort pair, second, first);
        return pair;
    }

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public uint EncodeE5M2Pair(float first, float second)
    {
        CudaAsm.Emit("cvt.rn.satfinite.e5m2x2.f32 %0, %1, %2;", out ushort pair, second, first);
        return pair;
    }

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void DecodeE4M3Pair(uint codes, out float first, out float second)
    {
        // Exact through half precision: every fp8 value is a normal half.
        CudaAsm.Emit("cvt.rn.f16x2.e4m3x2 %0, %1;", out uint halves, (ushort)codes);
        first = HalfToFloat((ushort)halves);
        second = HalfToFloat((ushort)(halves >> 16));
    }

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void DecodeE5M2Pair(uint codes, out float first, out float second)
    {
        CudaAsm.Emit("cvt.rn.f16x2.e5m2x2 %0, %1;", out uint halves, (ushort)codes);
        first = HalfToFloat((ushort)halves);
        second = HalfToFloat((ushort)(halves >> 16));
    }

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public uint Ballot(bool predicate)
    {
        CudaAsm.Emit("{ .reg .pred p; setp.ne.u32 p, %1, 0; vote.sync.ballot.b32 %0, p, 0xffffffff; }", out uint bits, predicate ? 1u : 0u);
        return bits;
    }

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public uint WarpMax(uint value)
    {
        CudaAsm.Emit("redux.sync.max.u32 %0, %1, 0xffffffff;", out uint largest, value);
        return largest;
    }

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public uint HalfWarpMax(uint value)
    {
        // Two reductions over the whole warp, of the low half's values and of the high half's (the other half's as 0, the
        // least uint); a member mask per half had ptxas loop over the masks, the code around the reduction with it.
        CudaAsm.Emit(
            "{ .reg .pred lo; .reg .b32 a, b; setp.lt.u32 lo, %2, %3; selp.b32 a, %1, 0, lo; selp.b32 b, 0, %1, lo; " +
            "redux.sync.max.u32 a, a, 0xffffffff; redux.sync.max.u32 b, b, 0xffffffff; selp.b32 %0, a, b, lo; }",
            out uint largest, value, (uint)Warp.LaneIdx, (uint)IKernelOps.HalfWarpSize);
        return largest;
    }

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Prefetch(ulong address) => CudaAsm.Emit("prefetch.global.L2 [%0];", address);

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public float MaxNumber(float a, float b) => default(CudaMaths).Max(a, b);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float HalfToFloat(ushort bits)
    {
        CudaAsm.Emit("cvt.f32.f16 %0, %1;", out float x, bits);
        return x;
    }
}
