namespace S3gd.Gpu.Structured;

/// <summary>
/// How a structured step cuts its tensors into work, walked alike by the kernels (<see cref="Kernels.StructuredKernels"/>)
/// and the CPU twin. A group is what one reduction covers (StableAdamW: a tensor; Adam-mini: a block); a segment is at
/// most <see cref="Chunk"/> consecutive elements of one group, one warp of each pass (<see cref="SegmentsPerBlock"/> to a
/// thread block). Lane l of a segment owns its runs of <see cref="Vec"/> consecutive elements starting at
/// (u*WarpSize + l)*Vec, u = 0 .. <see cref="LaneRuns"/> - 1. The reduction's float32 order is fixed by this layout
/// alone: a run's terms are added as a halving tree (elements past the segment's end count +0), the lane adds its runs'
/// sums in turn, the warp halves over the lanes; then a warp per group adds its segments' sums (lane j: segments j,
/// j + 32, ...) and halves over the lanes, so CPU and GPU agree bit for bit. Groups of several segments (split) come
/// first; groups of one segment (whole) take one fused kernel on the GPU.
/// </summary>
public sealed class StructuredLayout
{
    /// <summary>Threads per block (THREADS).</summary>
    public const int Threads = 256;

    /// <summary>Lanes of a warp (WARP): each segment and, in the finalize, each group gets one warp.</summary>
    public const int WarpSize = 32;

    /// <summary>Segments per thread block of the reduce and update kernels (WARPS).</summary>
    public const int SegmentsPerBlock = Threads / WarpSize;

    /// <summary>Consecutive elements of one lane's run (VEC): 16 bytes of bf16, two 16-byte vectors of fp32.</summary>
    public const int Vec = 8;

    /// <summary>Runs of <see cref="Vec"/> elements per lane of a whole segment (LANE_RUNS).</summary>
    public const int LaneRuns = 16;

    /// <summary>Most elements of a segment (CHUNK): 4096.</summary>
    public const int Chunk = WarpSize * Vec * LaneRuns;

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
        // Split groups (more than one segment) first, then whole groups (one segment each), each in tensor order.
        foreach (var split in new[] { true, false })
        {
            for (var t = 0; t < lengths.Count; t++)
            {
                var n = lengths[t];
                var block = groupLengths[t];
                if (n == 0 || IsWhole(block) == split) continue;
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
            if (split)
            {
                SplitSegments = segTensor.Count;
                SplitGroups = groupTensor.Count;
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

    /// <summary>Segments of split groups (groups longer than <see cref="Chunk"/>): segments 0 .. SplitSegments - 1.</summary>
    public int SplitSegments { get; }

    /// <summary>Split groups: groups 0 .. SplitGroups - 1; the rest are whole, one segment each.</summary>
    public int SplitGroups { get; }

    /// <summary>Whether a tensor's groups are whole (one segment each): its group length is at most <see cref="Chunk"/>.</summary>
    public static bool IsWhole(long groupLength) => groupLength <= Chunk;

    /// <summary>The number of segments.</summary>
    public int Segments => SegmentTensor.Length;

    /// <summary>The number of groups.</summary>
    public int Groups => GroupTensor.Length;
}
