using System.Runtime.CompilerServices;
using ILGPU;
using S3gd.Gpu.Maths;
using S3gd.Gpu.Structured;

namespace S3gd.Gpu.Kernels;

/// <summary>
/// How <see cref="StructuredKernels.WholeResident"/> shares a thread block of <see cref="StructuredLayout.SegmentsPerBlock"/>
/// warps among whole segments: each segment gets <see cref="Warps"/> warps, and warp w of a segment holds the lane's runs
/// u = w + k*Warps, k &lt; <see cref="Runs"/> (one or two), in registers.
/// </summary>
public interface IWholeShape
{
    /// <summary>Warps per segment (dividing the block's).</summary>
    int Warps { get; }

    /// <summary>Runs per lane of each warp: 1 or 2.</summary>
    int Runs { get; }
}

/// <summary>One segment of up to <see cref="StructuredLayout.Chunk"/> elements per block: eight warps of two runs.</summary>
public readonly struct EightWarpsTwoRuns : IWholeShape
{
    /// <inheritdoc />
    public int Warps => 8;

    /// <inheritdoc />
    public int Runs => 2;
}

/// <summary>Two segments of up to 1024 elements per block: four warps of one run each.</summary>
public readonly struct FourWarpsOneRun : IWholeShape
{
    /// <inheritdoc />
    public int Warps => 4;

    /// <inheritdoc />
    public int Runs => 1;
}

public static partial class StructuredKernels
{
    /// <summary>The most elements of a segment that <see cref="FourWarpsOneRun"/> holds: 4 runs of 32 lanes of 8 elements.</summary>
    public const int FourWarpsMaxCount = 4 * StructuredLayout.WarpSize * StructuredLayout.Vec;

    /// <summary>
    /// Whole groups of a plain first moment, each element read once (<see cref="Whole"/> reads the gradient twice, the
    /// second time from a cache that other warps' reads have mostly evicted at 64M parameters): the segment's warps
    /// (<typeparamref name="TShape"/>) load their runs of every buffer into registers and write their terms' halving trees
    /// to shared memory; the segment's first warp adds each lane's trees in run order (as <see cref="Whole"/>'s lane
    /// does: the same float32 sum), halves over the lanes and makes the group's scalars; then every warp updates its runs
    /// from its registers. Not for the fp8 moment: its slot goes to the segment's first block in element order, which
    /// needs the runs in one warp.
    /// </summary>
    public static void WholeResident<TOps, M, TRule, TParam, TGrad, TMoment, TSecond, TUpdate, TDecay, TTelemetry, TShape>(ArrayView<byte> memory, StructuredArgs args)
        where TOps : struct, IKernelOps
        where M : struct, IMaths<float>
        where TRule : struct, IStructuredRule
        where TParam : struct, IKernelFormat
        where TGrad : struct, IKernelFormat
        where TMoment : struct, IStructuredMoment
        where TSecond : struct, IKernelFormat
        where TUpdate : struct, IKernelParamUpdate
        where TDecay : struct, IFlag
        where TTelemetry : struct, IFlag
        where TShape : struct, IWholeShape
    {
        const int warpSize = StructuredLayout.WarpSize;
        const int warps = StructuredLayout.SegmentsPerBlock;
        TShape shape = default;
        // Per warp of the block, its runs' trees (two at most); per segment of the block, its two scalars.
        var trees = SharedMemory.Allocate<float>(2 * warps * warpSize);
        var scalars = SharedMemory.Allocate<float>(2 * warps);
        var warp = Group.IdxX / warpSize;
        var lane = Warp.LaneIdx;
        var mine = warp / shape.Warps;
        var w = warp % shape.Warps;
        var entry = (long)Grid.IdxX * (warps / shape.Warps) + mine;
        // A block's last segments may be past the launch's: their warps load nothing but keep to the barriers.
        var inside = entry < args.Count;
        var s = inside ? StructuredTable.Segment(memory, args.Entries, entry) : default;
        var row = inside ? StructuredTable.Row(memory, args.Rows, s.Tensor) : default;
        var local = inside ? s.Start / row.GroupLength : 0L;
        var mean = inside && w == 0 && lane == 0 ? ReadMean<TRule>(memory, row, local) : 0.0f;
        var reduce = new ReducePass<TOps, M, TRule, TGrad, TSecond>(args.Scalars, row, s.Start, s.Count, lane);
        // The group's scalars are not known yet: the loads do not read them, SetGroup sets them before the maths.
        var update = new UpdatePass<TOps, M, TRule, TParam, TGrad, TMoment, TSecond, TUpdate, TDecay, TTelemetry>(
            memory, args.Scalars, row, s.Start, s.Count, lane, 0.0f, 0.0f);
        var first = mine * shape.Warps * shape.Runs;
        update.Load(memory, w, out var a);
        var b = default(UpdateRun);
        if (shape.Runs == 2) update.Load(memory, w + shape.Warps, out b);
        trees[(first + w) * warpSize + lane] = reduce.Tree(a.G, a.V, a.At);
        if (shape.Runs == 2) trees[(first + w + shape.Warps) * warpSize + lane] = reduce.Tree(b.G, b.V, b.At);
        Group.Barrier();
        if (inside && w == 0)
        {
            M m = default;
            var sum = 0.0f;
            for (var u = 0; u < shape.Warps * shape.Runs; u++)
                if (StructuredWarp.RunAt(u, lane) < s.Count) sum = m.Add(sum, trees[(first + u) * warpSize + lane]);
            // As Whole: the finalize's 0 + sum.
            sum = m.Add(0.0f, StructuredWarp.Sum<M>(sum));
            if (lane == 0)
            {
                GroupScalars<M, TRule>(memory, args.Scalars, row, local, sum, mean, out var lr, out var other);
                scalars[2 * mine] = lr;
                scalars[2 * mine + 1] = other;
            }
        }
        Group.Barrier();
        if (!inside) return;
        update.SetGroup(args.Scalars, row, scalars[2 * mine], scalars[2 * mine + 1]);
        update.Finish(memory, ref a);
        if (shape.Runs == 2) update.Finish(memory, ref b);
        update.Report(memory, args.Telemetry, s.Tensor);
    }
}
