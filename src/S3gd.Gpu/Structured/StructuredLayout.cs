namespace S3gd.Gpu.Structured;

/// <summary>
/// How a structured step cuts its tensors into work, mirroring <c>structured.cu</c>. A group is what one reduction covers
/// (StableAdamW: a tensor; Adam-mini: a block); a segment is at most <see cref="Chunk"/> consecutive elements of one group,
/// one thread block of each pass. The reduction's float32 order is fixed by this layout alone: thread k of a segment sums
/// elements k, k + Threads, ... in turn, the block adds the threads' sums as a halving tree, and a warp per group adds its
/// segments' sums (lane j: segments j, j + 32, ...) then halves over the lanes, so CPU and GPU agree bit for bit.
/// </summary>
public sealed class StructuredLayout
{
    /// <summary>Threads per block (THREADS).</summary>
    public const int Threads = 256;

    /// <summary>Elements per thread of a segment (PER_THREAD).</summary>
    public const int PerThread = 16;

    /// <summary>Most elements of a segment (CHUNK).</summary>
    public const int Chunk = Threads * PerThread;

    /// <summary>Lanes of a warp: the finalize kernel gives each group one warp.</summary>
    public const int WarpSize = 32;

    /// <summary>Cuts tensors of the given lengths into groups of the given lengths (each divides its tensor) and segments.</summary>
    public StructuredLayout(IReadOnlyList<long> lengths, IReadOnlyList<long> groupLengths)
    {
        var segTensor = new List<int>();
        var segGroup = new List<int>();
        var segStart = new List<long>();
        var segCount = new List<int>();
        var groupTensor = new List<int>();
        var groupLocal = new List<long>();
        var groupFirst = new List<int>();
        var groupSegments = new List<int>();
        for (var t = 0; t < lengths.Count; t++)
        {
            var n = lengths[t];
            var block = groupLengths[t];
            if (n == 0) continue;
            for (long b = 0; b < n / block; b++)
            {
                groupTensor.Add(t);
                groupLocal.Add(b);
                groupFirst.Add(segTensor.Count);
                var count = 0;
                for (var at = b * block; at < (b + 1) * block; at += Chunk)
                {
                    segTensor.Add(t);
                    segGroup.Add(groupTensor.Count - 1);
                    segStart.Add(at);
                    segCount.Add((int)Math.Min(Chunk, (b + 1) * block - at));
                    count++;
                }
                groupSegments.Add(count);
            }
        }
        SegmentTensor = [.. segTensor];
        SegmentGroup = [.. segGroup];
        SegmentStart = [.. segStart];
        SegmentCount = [.. segCount];
        GroupTensor = [.. groupTensor];
        GroupLocal = [.. groupLocal];
        GroupFirstSegment = [.. groupFirst];
        GroupSegments = [.. groupSegments];
    }

    /// <summary>Per segment: its tensor.</summary>
    public int[] SegmentTensor { get; }

    /// <summary>Per segment: its group.</summary>
    public int[] SegmentGroup { get; }

    /// <summary>Per segment: its first element within the tensor.</summary>
    public long[] SegmentStart { get; }

    /// <summary>Per segment: its elements (1 to <see cref="Chunk"/>).</summary>
    public int[] SegmentCount { get; }

    /// <summary>Per group: its tensor.</summary>
    public int[] GroupTensor { get; }

    /// <summary>Per group: its index among its tensor's groups (Adam-mini: the vmean element).</summary>
    public long[] GroupLocal { get; }

    /// <summary>Per group: its first segment.</summary>
    public int[] GroupFirstSegment { get; }

    /// <summary>Per group: its number of segments.</summary>
    public int[] GroupSegments { get; }

    /// <summary>The number of segments.</summary>
    public int Segments => SegmentTensor.Length;

    /// <summary>The number of groups.</summary>
    public int Groups => GroupTensor.Length;
}
