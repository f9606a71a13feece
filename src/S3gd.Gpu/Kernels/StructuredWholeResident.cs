using System.Runtime.CompilerServices;
using ILGPU;
using S3gd.Gpu.Maths;
using S3gd.Gpu.Structured;

namespace S3gd.Gpu.Kernels;

/// <summary>
/// The whole groups' kernels that read each element once, holding a segment's runs in registers from the loads to the
/// stores (<see cref="Whole"/> reads the gradient twice, the second time from a cache that other warps' reads have
/// mostly evicted at 64M parameters): <see cref="WholeWarp"/> for short segments, <see cref="WholeBlock"/> for long ones.
/// Both add a lane's halving trees in run order as <see cref="Whole"/>'s lane does, so every sum is the same float32 value.
/// </summary>
public static partial class StructuredKernels
{
    /// <summary>Runs of a lane that <see cref="WholeWarp"/> holds: segments of at most 4 * 32 * 8 = 1024 elements.</summary>
    public const int WholeWarpRuns = 4;

    /// <summary>The most elements of a segment <see cref="WholeWarp"/> takes.</summary>
    public const int WholeWarpMaxCount = WholeWarpRuns * StructuredLayout.WarpSize * StructuredLayout.Vec;

    /// <summary>
    /// A short whole group (at most <see cref="WholeWarpMaxCount"/> elements) in one warp: the lane loads its four runs of
    /// every buffer (lane 0 the group's stored mean too), sums their terms, and after the warp's sum and the group's scalars
    /// updates them from its registers, in run order (the fp8 moment's blocks too).
    /// </summary>
    public static void WholeWarp<TOps, M, TRule, TParam, TGrad, TMoment, TSecond, TUpdate, TDecay, TTelemetry>(ArrayView<byte> memory, StructuredArgs args)
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
    {
        var segment = WarpEntry();
        // Whole warps leave together: the shuffles below stay within full warps.
        if (segment >= args.Count) return;
        var s = StructuredTable.Segment(memory, args.Entries, segment);
        var row = StructuredTable.Row(memory, args.Rows, s.Tensor);
        var lane = Warp.LaneIdx;
        var local = s.Start / row.GroupLength;
        var mean = lane == 0 ? ReadMean<TRule>(memory, row, local) : 0.0f;
        var reduce = new ReducePass<TOps, M, TRule, TGrad, TSecond>(args.Scalars, row, s.Start, s.Count, lane);
        // The group's scalars are not known yet: the loads do not read them, SetGroup sets them before the maths.
        var update = new UpdatePass<TOps, M, TRule, TParam, TGrad, TMoment, TSecond, TUpdate, TDecay, TTelemetry>(
            memory, args.Scalars, row, s.Start, s.Count, lane, 0.0f, 0.0f);
        update.Load(memory, 0, out var a);
        update.Load(memory, 1, out var b);
        update.Load(memory, 2, out var c);
        update.Load(memory, 3, out var d);
        var sum = AddTree<TOps, M, TRule, TGrad, TSecond>(reduce, 0.0f, a, s);
        sum = AddTree<TOps, M, TRule, TGrad, TSecond>(reduce, sum, b, s);
        sum = AddTree<TOps, M, TRule, TGrad, TSecond>(reduce, sum, c, s);
        sum = AddTree<TOps, M, TRule, TGrad, TSecond>(reduce, sum, d, s);
        // As Whole: the finalize's 0 + sum.
        sum = default(M).Add(0.0f, StructuredWarp.Sum<M>(sum));
        var first = 0.0f;
        var second = 0.0f;
        if (lane == 0) GroupScalars<M, TRule>(memory, args.Scalars, row, local, sum, mean, out first, out second);
        update.SetGroup(args.Scalars, row, Warp.Shuffle(first, 0), Warp.Shuffle(second, 0));
        update.Finish(memory, ref a);
        update.Finish(memory, ref b);
        update.Finish(memory, ref c);
        update.Finish(memory, ref d);
        update.Report(memory, args.Telemetry, s.Tensor);
    }

    /// <summary>
    /// A long whole group (more than <see cref="WholeWarpMaxCount"/> elements, a plain first moment) in one thread block:
    /// warp w loads the lane's runs w and w + 8 of every buffer (<see cref="StructuredLayout.LaneRuns"/> is twice
    /// <see cref="StructuredLayout.SegmentsPerBlock"/>) and writes their terms' halving trees to shared memory; warp 0 adds
    /// each lane's trees in run order, halves over the lanes and makes the group's scalars; then every warp updates its
    /// runs from its registers. Not for the fp8 moment: its slot goes to the segment's first block in element order,
    /// which needs the runs in one warp.
    /// </summary>
    public static void WholeBlock<TOps, M, TRule, TParam, TGrad, TMoment, TSecond, TUpdate, TDecay, TTelemetry>(ArrayView<byte> memory, StructuredArgs args)
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
    {
        const int warpSize = StructuredLayout.WarpSize;
        var trees = SharedMemory.Allocate<float>(StructuredLayout.LaneRuns * warpSize);
        var scalars = SharedMemory.Allocate<float>(2);
        var s = StructuredTable.Segment(memory, args.Entries, Grid.IdxX);
        var row = StructuredTable.Row(memory, args.Rows, s.Tensor);
        var warp = Group.IdxX / warpSize;
        var lane = Warp.LaneIdx;
        var local = s.Start / row.GroupLength;
        var mean = Group.IdxX == 0 ? ReadMean<TRule>(memory, row, local) : 0.0f;
        var reduce = new ReducePass<TOps, M, TRule, TGrad, TSecond>(args.Scalars, row, s.Start, s.Count, lane);
        var update = new UpdatePass<TOps, M, TRule, TParam, TGrad, TMoment, TSecond, TUpdate, TDecay, TTelemetry>(
            memory, args.Scalars, row, s.Start, s.Count, lane, 0.0f, 0.0f);
        var u0 = warp;
        var u1 = warp + StructuredLayout.SegmentsPerBlock;
        update.Load(memory, u0, out var a);
        update.Load(memory, u1, out var b);
        trees[u0 * warpSize + lane] = reduce.Tree(a.G, a.V, a.At);
        trees[u1 * warpSize + lane] = reduce.Tree(b.G, b.V, b.At);
        Group.Barrier();
        if (warp == 0)
        {
            M m = default;
            var sum = 0.0f;
            for (var u = 0; u < StructuredLayout.LaneRuns; u++)
                if (StructuredWarp.RunAt(u, lane) < s.Count) sum = m.Add(sum, trees[u * warpSize + lane]);
            sum = m.Add(0.0f, StructuredWarp.Sum<M>(sum));
            if (lane == 0)
            {
                GroupScalars<M, TRule>(memory, args.Scalars, row, local, sum, mean, out var first, out var second);
                scalars[0] = first;
                scalars[1] = second;
            }
        }
        Group.Barrier();
        update.SetGroup(args.Scalars, row, scalars[0], scalars[1]);
        update.Finish(memory, ref a);
        update.Finish(memory, ref b);
        update.Report(memory, args.Telemetry, s.Tensor);
    }

    /// <summary><paramref name="sum"/> plus the run's halving tree where the run starts inside the segment (the lane's order of <see cref="ReducePass{TOps, M, TRule, TGrad, TSecond}"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float AddTree<TOps, M, TRule, TGrad, TSecond>(in ReducePass<TOps, M, TRule, TGrad, TSecond> reduce, float sum, in UpdateRun run, in StructuredSegment s)
        where TOps : struct, IKernelOps
        where M : struct, IMaths<float>
        where TRule : struct, IStructuredRule
        where TGrad : struct, IKernelFormat
        where TSecond : struct, IKernelFormat =>
        run.Rel < s.Count ? default(M).Add(sum, reduce.Tree(run.G, run.V, run.At)) : sum;
}
