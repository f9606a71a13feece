using System.Runtime.InteropServices;
using S3gd.Gpu.Structured;
using S3gd.Spec.Formats;

namespace S3gd.Gpu.Cpu;

/// <summary>
/// One segment of an fp8 first moment with bf16 fallback (<see cref="MomentFallback"/>), as the structured kernels'
/// warp handles it: decoded whole when made (the segment's slot read before any block may take it), the new values
/// set by the update, then <see cref="Store"/> encodes each block with the spec's <c>FallbackFp8</c>, in element order,
/// the first block needing the fallback taking the slot.
/// </summary>
internal sealed class CpuMomentFp8
{
    private readonly CpuStructuredTensor tensor;
    private readonly long scaleBase, slotBase;
    private readonly int count;

    /// <summary>
    /// Decodes the segment of <paramref name="count"/> elements from <paramref name="start"/> (a multiple of the segment
    /// size within its group) into <paramref name="values"/> (at least <paramref name="count"/> long, the caller's scratch).
    /// </summary>
    public CpuMomentFp8(CpuStructuredTensor t, long start, int count, float[] values)
    {
        tensor = t;
        this.count = count;
        // The segment starts a run of whole blocks in its group and its slot.
        scaleBase = MomentFallback.WordOf(start, t.BlockLength);
        slotBase = MomentFallback.SlotOf(start, t.BlockLength);
        Values = values;
        var words = Words;
        var pool = Pool;
        for (var j = 0; j < count; j++)
        {
            var word = words[(int)(scaleBase + j / MomentFallback.BlockSize)];
            var code = t.Moment[(int)(start + j)];
            Values[j] = word == MomentFallback.SlotWord
                ? BitConverter.UInt32BitsToSingle((uint)pool[(int)(slotBase + j % MomentFallback.BlockSize)] << 16)
                : word == MomentFallback.ZerosWord ? 0.0f : CpuConvert.DecodeE4M3[code] * word;
        }
        Start = start;
    }

    /// <summary>The segment's first element within its tensor.</summary>
    private long Start { get; }

    /// <summary>The segment's first moment (its first <c>count</c> elements, the caller's scratch): decoded, then set to the new values by the update.</summary>
    private float[] Values { get; }

    private Span<float> Words => MemoryMarshal.Cast<byte, float>(tensor.MomentScales.AsSpan());

    private Span<ushort> Pool => MemoryMarshal.Cast<byte, ushort>(tensor.MomentPool.AsSpan());

    /// <summary>Encodes the new values block by block; the blocks that fell back and those of them that overflowed.</summary>
    public (uint Fallbacks, uint Overflows) Store()
    {
        var slotTaken = false;
        var (fallbacks, overflows) = (0u, 0u);
        for (var b = 0; b * MomentFallback.BlockSize < count; b++)
        {
            var from = b * MomentFallback.BlockSize;
            var values = Values.AsSpan(from, Math.Min(MomentFallback.BlockSize, count - from)).ToArray();
            var codes = tensor.Moment.AsSpan((int)(Start + from), values.Length);
            var block = FallbackFp8.encode(StorageFormat.Fp8E4M3, values);
            float word;
            if (block is FallbackBlock.Scaled scaled)
            {
                scaled.Codes.CopyTo(codes);
                word = scaled.Scale;
            }
            else if (block.IsZeros || !slotTaken)
            {
                fallbacks++;
                codes.Clear();
                word = MomentFallback.ZerosWord;
                if (block is FallbackBlock.Wide wide)
                {
                    // The slot's elements past a short block hold bf16 +0, as the kernel's lanes past the end store.
                    var slot = Pool.Slice((int)slotBase, MomentFallback.BlockSize);
                    slot.Clear();
                    wide.Codes.CopyTo(slot);
                    slotTaken = true;
                    word = MomentFallback.SlotWord;
                }
            }
            else
            {
                fallbacks++;
                overflows++;
                var (plain, scale) = FallbackFp8.scaled(StorageFormat.Fp8E4M3, values).ToValueTuple();
                plain.CopyTo(codes);
                word = scale;
            }
            Words[(int)(scaleBase + b)] = word;
        }
        return (fallbacks, overflows);
    }
}
