using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using S3gd.Gpu.Maths;

namespace S3gd.Gpu.Cpu;

/// <summary>
/// Block-scaled fp8 codes (e4m3fn where <typeparamref name="TE4M3"/> is on, else e5m2): each vector decoded times its
/// block's scale (lanes never straddle a block); the stepped values go to the float32 scratch, and the piece's whole
/// blocks are encoded from it with their new scales once its vectors are stepped (<see cref="EncodeBlocks"/>).
/// </summary>
internal readonly struct ScaledLane<TE4M3> : ICpuLane
    where TE4M3 : struct, IFlag
{
    /// <inheritdoc />
    public static bool Kept => true;

    /// <inheritdoc />
    public static int Size => sizeof(byte);

    /// <inheritdoc />
    public static bool HoldsBf16 => false;

    /// <inheritdoc />
    public static bool Scaled => true;

    /// <inheritdoc />
    /// <remarks>
    /// A NaN code keeps its own NaN where the scale is NaN too (a block holding an infinity), as the spans' decode
    /// (<see cref="CpuConvert.DecodeFp8(bool, ReadOnlySpan{byte}, float, Span{float})"/>, the value the multiply's first operand) gives it: the select makes that
    /// independent of the order in which the compiler puts the multiply's operands.
    /// </remarks>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static TV Load<TV>(in CpuLaneBuffer b, int i) where TV : struct
    {
        var scale = Kernels.E8M0Scale.Scale(Unsafe.Add(ref b.Scales, i / Elementwise.ElementwiseLayout.ScaleBlock));
        if (CpuLanes.IsWide<TV>())
        {
            var w = CpuConvert.LoadFp8x16(default(TE4M3).IsOn, ref Unsafe.Add(ref b.Codes, i));
            return CpuLanes.From<TV>(Vector512.ConditionalSelect(Vector512.Equals(w, w), w * Vector512.Create(scale), w));
        }
        var n = CpuConvert.LoadFp8x8(default(TE4M3).IsOn, ref Unsafe.Add(ref b.Codes, i));
        return CpuLanes.From<TV>(Vector256.ConditionalSelect(Vector256.Equals(n, n), n * Vector256.Create(scale), n));
    }

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Store<TV>(in CpuLaneBuffer b, int i, TV x) where TV : struct => CpuLanes.Keep(b, i, x);

    /// <inheritdoc />
    /// <remarks>The spans' block-scaled encode (<see cref="CpuConvert.EncodeFp8Scaled(bool, ReadOnlySpan{float}, int, Span{byte}, Span{byte})"/>), which the piece's last block, cut short, takes too.</remarks>
    public static void EncodeBlocks(in CpuLaneBuffer b, int count) =>
        CpuConvert.EncodeFp8Scaled(default(TE4M3).IsOn, MemoryMarshal.CreateReadOnlySpan(ref b.Values, count), Elementwise.ElementwiseLayout.ScaleBlock,
            MemoryMarshal.CreateSpan(ref b.Scales, count / Elementwise.ElementwiseLayout.ScaleBlock), MemoryMarshal.CreateSpan(ref b.Codes, count));
}
