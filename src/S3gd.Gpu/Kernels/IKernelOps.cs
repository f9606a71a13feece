namespace S3gd.Gpu.Kernels;

/// <summary>
/// The operations a kernel needs that differ between accelerators: the storage formats' conversions and the warp's votes
/// and reductions. <c>Cuda.CudaOps</c> issues the hardware instructions (PTX through ILGPU's CudaAsm); <c>IlgpuCpu.ManagedOps</c>
/// computes the same bits in managed code (<see cref="SoftwareConvert"/>, shuffles), for ILGPU's CPU accelerator. A kernel
/// takes the ops as a struct type parameter, so it never contains an instruction its accelerator cannot run.
/// </summary>
public interface IKernelOps
{
    /// <summary>Lanes of half a warp: the groups of <see cref="HalfWarpMax"/>.</summary>
    const int HalfWarpSize = 16;

    /// <summary>Two float32 values to bf16 codes, round to nearest even: <paramref name="first"/> in the low half.</summary>
    uint EncodeBf16Pair(float first, float second);

    /// <summary>a*b rounded to float32, never contracted into a fused multiply-add (a block scale's product).</summary>
    float Multiply(float a, float b);

    /// <summary>x rounded to the nearest bf16 value, as float32.</summary>
    float RoundBf16(float x);

    /// <summary>Two float32 values to fp8 e4m3fn codes (satfinite): <paramref name="first"/> in the low byte.</summary>
    uint EncodeE4M3Pair(float first, float second);

    /// <summary>Two float32 values to fp8 e5m2 codes (satfinite): <paramref name="first"/> in the low byte.</summary>
    uint EncodeE5M2Pair(float first, float second);

    /// <summary>Two fp8 e4m3fn codes (the low byte first) to float32.</summary>
    void DecodeE4M3Pair(uint codes, out float first, out float second);

    /// <summary>Two fp8 e5m2 codes (the low byte first) to float32.</summary>
    void DecodeE5M2Pair(uint codes, out float first, out float second);

    /// <summary>The warp's vote: bit l set where lane l's <paramref name="predicate"/> holds (every lane of the warp calls it).</summary>
    uint Ballot(bool predicate);

    /// <summary>The largest <paramref name="value"/> over the warp's lanes, in every lane (every lane calls it).</summary>
    uint WarpMax(uint value);

    /// <summary>The largest <paramref name="value"/> over the lanes of the lane's half of the warp (0-15 or 16-31), in each of them (every lane calls it).</summary>
    uint HalfWarpMax(uint value);

    /// <summary>Asks for the cache line at device <paramref name="address"/> (into L2 on CUDA) before a load needs it; no effect on any result.</summary>
    void Prefetch(ulong address);

    /// <summary>The larger of two floats, a NaN dropped for the other operand (IEEE 754 maximumNumber; NaN only when both are).</summary>
    float MaxNumber(float a, float b);
}
