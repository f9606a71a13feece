using System.Runtime.CompilerServices;

namespace S3gd.Gpu.Structured;

/// <summary>
/// Where Adam-mini's fp8 first moment keeps what its blocks need beside the codes (the values are the spec's
/// <c>FallbackFp8</c>): one float32 word per block of <see cref="BlockSize"/> elements, the blocks cut afresh in each
/// Adam-mini group (the last one shorter), holding the fp8 scale (a power of two), or <see cref="ZerosWord"/> for a
/// block of zeros, or <see cref="SlotWord"/> for a block kept in bf16 in its segment's slot; and one slot of <see cref="BlockSize"/> bf16
/// per segment (<see cref="StructuredLayout.Chunk"/> elements of a group), which the first block of the segment (in
/// element order) that needs the fallback takes. A later one in the same step finds the slot taken: it keeps the plain
/// block-scaled encoding (its smallest elements flush to zero) and is counted as overflowed. The slot costs 256 bytes per
/// segment: 1/16 byte per element in groups of 4096 and more, 1/3 in rows of 768.
/// </summary>
/// <param name="Scales">The block words (float32), <see cref="ScaleCount"/> of them.</param>
/// <param name="Pool">The segments' slots (bf16), <see cref="PoolCount"/> elements.</param>
public sealed record MomentFallback(DeviceBuffer Scales, DeviceBuffer Pool)
{
    /// <summary>Elements per block (SCALE_BLOCK): the spec's <c>FallbackFp8.BlockSize</c>, 128.</summary>
    public const int BlockSize = S3gd.Spec.Formats.FallbackFp8.BlockSize;

    /// <summary>The block word of a block of zeros (0.0f: no fp8 scale is zero).</summary>
    public const float ZerosWord = 0.0f;

    /// <summary>The block word of a block kept in bf16 in its segment's slot (-1.0f: no fp8 scale is negative).</summary>
    public const float SlotWord = -1.0f;

    /// <summary>Block words of a tensor of <paramref name="length"/> elements in Adam-mini groups of <paramref name="groupLength"/>.</summary>
    public static long ScaleCount(long length, long groupLength) => length == 0 ? 0 : length / groupLength * Ceil(groupLength, BlockSize);

    /// <summary>Slot elements of such a tensor: <see cref="BlockSize"/> per segment.</summary>
    public static long PoolCount(long length, long groupLength) => length == 0 ? 0 : length / groupLength * Ceil(groupLength, StructuredLayout.Chunk) * BlockSize;

    /// <summary>The block word of element <paramref name="i"/> of a tensor in Adam-mini groups of <paramref name="groupLength"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static long WordOf(long i, long groupLength) => WordOf(i / groupLength, i % groupLength, groupLength);

    /// <summary>The block word of element <paramref name="offset"/> of group <paramref name="local"/> of a tensor in Adam-mini groups of <paramref name="groupLength"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static long WordOf(long local, long offset, long groupLength) => local * Ceil(groupLength, BlockSize) + offset / BlockSize;

    /// <summary>Where element <paramref name="i"/>'s value lies in its segment's slot, when its block is kept there.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static long SlotOf(long i, long groupLength) => SlotOf(i / groupLength, i % groupLength, groupLength);

    /// <summary>Where element <paramref name="offset"/> of group <paramref name="local"/> lies in its segment's slot, when its block is kept there.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static long SlotOf(long local, long offset, long groupLength) =>
        (local * Ceil(groupLength, StructuredLayout.Chunk) + offset / StructuredLayout.Chunk) * BlockSize + Kernels.KernelIndex.Rem(offset, BlockSize);

    /// <summary>
    /// The first moment's values from its downloaded fp8 <paramref name="codes"/>, block <paramref name="words"/> and slot
    /// <paramref name="pool"/> (bf16), in Adam-mini groups of <paramref name="groupLength"/>: the spec's decoding of each block.
    /// </summary>
    public static double[] Decode(ReadOnlySpan<byte> codes, ReadOnlySpan<float> words, ReadOnlySpan<ushort> pool, long groupLength)
    {
        var values = new double[codes.Length];
        for (var i = 0; i < values.Length; i++)
        {
            var w = words[(int)WordOf(i, groupLength)];
            values[i] = w == SlotWord ? S3gd.Spec.Formats.Bf16.decode32(pool[(int)SlotOf(i, groupLength)])
                : w == ZerosWord ? 0.0
                : (float)S3gd.Spec.Formats.StorageFormatModule.decode(S3gd.Spec.Formats.StorageFormat.Fp8E4M3, codes[i]) * w;
        }
        return values;
    }

    /// <summary>Both buffers, for disposal.</summary>
    public IEnumerable<DeviceBuffer> Buffers => [Scales, Pool];

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static long Ceil(long a, long b) => (a + b - 1) / b;
}
