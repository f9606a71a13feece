using System.Runtime.CompilerServices;
using ILGPU;
using S3gd.Gpu.Maths;
using S3gd.Gpu.Structured;

namespace S3gd.Gpu.Kernels;

/// <summary>
/// The structured steps (StableAdamW, Adam-mini: an update that needs a reduction first) over many tensors, queued with no
/// host round trip. <see cref="StructuredLayout"/> cuts the work: groups of several segments (split) take three launches,
/// <see cref="Reduce"/> (a warp per segment: the sum of its terms into the partial sums), <see cref="Finalize"/> (a warp
/// per group: its segments' sums added, its two scalars) and <see cref="Update"/> (a warp per segment again); groups of
/// one segment (whole) take one, the three in one with the same float32 values: <see cref="Whole"/>, or for long segments
/// of a plain first moment <see cref="WholeBlock"/>, which holds the runs in registers. A lane of a
/// segment's warp owns runs of <see cref="StructuredLayout.Vec"/> consecutive elements (<see cref="StructuredWarp.RunAt"/>),
/// moved as 16-byte vectors where the buffers and the segment are aligned, several runs in flight
/// (<see cref="IRunsInFlight"/>). Every sum's float32 order is fixed by the layout alone, so the CPU twin
/// (<c>Cpu.CpuStructured</c>) gives the same bits. Specialised by type: the accelerator's operations, the maths, the
/// rule, each buffer's format, the parameter update, weight decay, telemetry and the runs in flight.
/// </summary>
public static partial class StructuredKernels
{
    /// <summary>Partial sums per lane whose loads the finalize issues together (four groups of <see cref="Lanes.Count"/>).</summary>
    public const int FinalizeBatch = 4 * Lanes.Count;

    /// <summary>The first pass of split groups: each segment's sum of terms into the partial sums.</summary>
    public static void Reduce<TOps, M, TRule, TGrad, TSecond, TRuns>(ArrayView<byte> memory, StructuredArgs args)
        where TOps : struct, IKernelOps
        where M : struct, IMaths<float>
        where TRule : struct, IStructuredRule
        where TGrad : struct, IKernelFormat
        where TSecond : struct, IKernelFormat
        where TRuns : struct, IRunsInFlight
    {
        var segment = WarpEntry();
        // Whole warps leave together: the shuffles below stay within full warps.
        if (segment >= args.Count) return;
        var s = StructuredTable.Segment(memory, args.Entries, segment);
        var row = StructuredTable.Row(memory, args.Rows, s.Tensor);
        var sum = ReduceSegment<TOps, M, TRule, TGrad, TSecond, TRuns>(memory, args.Scalars, row, s);
        if (Warp.LaneIdx == 0) DeviceMemory.At<float>(memory, args.Partials + (ulong)segment * sizeof(float)) = sum;
    }

    /// <summary>
    /// The second pass of split groups, a warp per group: lane j adds segments j, j + 32, ... in order, the lanes halve by
    /// shuffles, lane 0 makes the group's two scalars.
    /// </summary>
    public static void Finalize<M, TRule>(ArrayView<byte> memory, StructuredArgs args)
        where M : struct, IMaths<float>
        where TRule : struct, IStructuredRule
    {
        var group = WarpEntry();
        if (group >= args.Count) return;
        var lane = Warp.LaneIdx;
        var q = StructuredTable.Group(memory, args.Entries, group);
        var partials = args.Partials + (ulong)q.FirstSegment * sizeof(float);
        var count = q.Segments;
        var sum = 0.0f;
        // The lane's segments in order, loaded a batch at a time (a group of thousands of segments is a few round trips).
        for (long j = lane; j < count; j += FinalizeBatch * StructuredLayout.WarpSize)
        {
            LoadPartials(memory, partials, j, count, 0, out var a);
            LoadPartials(memory, partials, j, count, 1, out var b);
            LoadPartials(memory, partials, j, count, 2, out var c);
            LoadPartials(memory, partials, j, count, 3, out var d);
            sum = AddPartials<M>(sum, a, j, count, 0);
            sum = AddPartials<M>(sum, b, j, count, 1);
            sum = AddPartials<M>(sum, c, j, count, 2);
            sum = AddPartials<M>(sum, d, j, count, 3);
        }
        sum = StructuredWarp.Sum<M>(sum);
        if (lane != 0) return;
        var row = StructuredTable.Row(memory, args.Rows, q.Tensor);
        GroupScalars<M, TRule>(memory, args.Scalars, row, q.Local, sum, ReadMean<TRule>(memory, row, q.Local), out var first, out var second);
        DeviceMemory.At<float>(memory, args.GroupOut + (ulong)group * 2 * sizeof(float)) = first;
        DeviceMemory.At<float>(memory, args.GroupOut + ((ulong)group * 2 + 1) * sizeof(float)) = second;
    }

    /// <summary>The third pass of split groups: each segment's update with its group's scalars.</summary>
    public static void Update<TOps, M, TRule, TParam, TGrad, TMoment, TSecond, TUpdate, TDecay, TTelemetry, TRuns>(ArrayView<byte> memory, StructuredArgs args)
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
        where TRuns : struct, IRunsInFlight
    {
        var segment = WarpEntry();
        if (segment >= args.Count) return;
        var s = StructuredTable.Segment(memory, args.Entries, segment);
        var row = StructuredTable.Row(memory, args.Rows, s.Tensor);
        var scalars = args.GroupOut + (ulong)s.Group * 2 * sizeof(float);
        var first = DeviceMemory.At<float>(memory, scalars);
        var second = DeviceMemory.At<float>(memory, scalars + sizeof(float));
        UpdateSegment<TOps, M, TRule, TParam, TGrad, TMoment, TSecond, TUpdate, TDecay, TTelemetry, TRuns>(memory, args, row, s, first, second);
    }

    /// <summary>
    /// A whole group (one segment) in one warp: its sum as <see cref="Reduce"/>'s, its scalars as <see cref="Finalize"/>'s
    /// (whose lane 0 adds the one partial sum to 0, and the other lanes' zeros to that: the same float32 value, written out
    /// here as 0 + sum), then <see cref="Update"/>'s update; the gradient (and StableAdamW's v) is read twice, the second
    /// time from the cache.
    /// </summary>
    public static void Whole<TOps, M, TRule, TParam, TGrad, TMoment, TSecond, TUpdate, TDecay, TTelemetry, TRuns>(ArrayView<byte> memory, StructuredArgs args)
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
        where TRuns : struct, IRunsInFlight
    {
        var segment = WarpEntry();
        if (segment >= args.Count) return;
        var s = StructuredTable.Segment(memory, args.Entries, segment);
        var row = StructuredTable.Row(memory, args.Rows, s.Tensor);
        // The group's index in its tensor (Adam-mini's vmean element): its start over the group length; its mean read first.
        var local = s.Start / row.GroupLength;
        var mean = Warp.LaneIdx == 0 ? ReadMean<TRule>(memory, row, local) : 0.0f;
        var sum = default(M).Add(0.0f, ReduceSegment<TOps, M, TRule, TGrad, TSecond, TRuns>(memory, args.Scalars, row, s));
        var first = 0.0f;
        var second = 0.0f;
        if (Warp.LaneIdx == 0) GroupScalars<M, TRule>(memory, args.Scalars, row, local, sum, mean, out first, out second);
        first = Warp.Shuffle(first, 0);
        second = Warp.Shuffle(second, 0);
        UpdateSegment<TOps, M, TRule, TParam, TGrad, TMoment, TSecond, TUpdate, TDecay, TTelemetry, TRuns>(memory, args, row, s, first, second);
    }

    /// <summary>The launch's entry (segment or group) of this thread's warp.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static long WarpEntry() => (long)Grid.IdxX * StructuredLayout.SegmentsPerBlock + Group.IdxX / StructuredLayout.WarpSize;

    /// <summary>The segment's sum of terms in lane 0 (the other lanes hold partial sums).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float ReduceSegment<TOps, M, TRule, TGrad, TSecond, TRuns>(
        ArrayView<byte> memory, in StructuredScalars sc, in StructuredRow row, in StructuredSegment s)
        where TOps : struct, IKernelOps
        where M : struct, IMaths<float>
        where TRule : struct, IStructuredRule
        where TGrad : struct, IKernelFormat
        where TSecond : struct, IKernelFormat
        where TRuns : struct, IRunsInFlight
    {
        var pass = new ReducePass<TOps, M, TRule, TGrad, TSecond>(sc, row, s.Start, s.Count, Warp.LaneIdx);
        // The loop bound is the same for the whole warp.
        for (var u0 = 0; StructuredWarp.RunAt(u0, 0) < s.Count; u0 += default(TRuns).Count)
            default(TRuns).Turn<ReducePass<TOps, M, TRule, TGrad, TSecond>, ReduceRun>(memory, ref pass, u0);
        return StructuredWarp.Sum<M>(pass.Sum);
    }

    /// <summary>The segment's update with its group's two scalars, and its telemetry.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void UpdateSegment<TOps, M, TRule, TParam, TGrad, TMoment, TSecond, TUpdate, TDecay, TTelemetry, TRuns>(
        ArrayView<byte> memory, in StructuredArgs args, in StructuredRow row, in StructuredSegment s, float first, float second)
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
        where TRuns : struct, IRunsInFlight
    {
        var pass = new UpdatePass<TOps, M, TRule, TParam, TGrad, TMoment, TSecond, TUpdate, TDecay, TTelemetry>(
            memory, args.Scalars, row, s.Start, s.Count, Warp.LaneIdx, first, second);
        for (var u0 = 0; StructuredWarp.RunAt(u0, 0) < s.Count; u0 += default(TRuns).Count)
            default(TRuns).Turn<UpdatePass<TOps, M, TRule, TParam, TGrad, TMoment, TSecond, TUpdate, TDecay, TTelemetry>, UpdateRun>(memory, ref pass, u0);
        pass.Report(memory, args.Telemetry, s.Tensor);
    }

    /// <summary>Group <paramref name="local"/>'s stored mean (Adam-mini's vmean element; 0 where the rule keeps its second moment per element).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float ReadMean<TRule>(ArrayView<byte> memory, in StructuredRow row, long local) where TRule : struct, IStructuredRule =>
        default(TRule).SecondPerElement ? 0.0f : DeviceMemory.At<float>(memory, row.Second + (ulong)local * sizeof(float));

    /// <summary>A group's two scalars from its sum and its stored <paramref name="mean"/> (lane 0 only); Adam-mini's new vmean element <paramref name="local"/> is stored.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void GroupScalars<M, TRule>(
        ArrayView<byte> memory, in StructuredScalars sc, in StructuredRow row, long local, float sum, float mean, out float first, out float second)
        where M : struct, IMaths<float>
        where TRule : struct, IStructuredRule
    {
        TRule rule = default;
        rule.Group<M>(sc, sum, row.GroupLength, ref mean, out first, out second);
        if (!rule.SecondPerElement) DeviceMemory.At<float>(memory, row.Second + (ulong)local * sizeof(float)) = mean;
    }

    /// <summary>Batch <paramref name="k"/>'s eight partial sums of lane segment <paramref name="j"/>: segments j + (8k + e)*32, 0 past the group's end.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void LoadPartials(ArrayView<byte> memory, ulong partials, long j, long count, int k, out Lanes x)
    {
        var i = j + (long)k * Lanes.Count * StructuredLayout.WarpSize;
        x.E0 = Partial(memory, partials, i, count);
        x.E1 = Partial(memory, partials, i + StructuredLayout.WarpSize, count);
        x.E2 = Partial(memory, partials, i + 2 * StructuredLayout.WarpSize, count);
        x.E3 = Partial(memory, partials, i + 3 * StructuredLayout.WarpSize, count);
        x.E4 = Partial(memory, partials, i + 4 * StructuredLayout.WarpSize, count);
        x.E5 = Partial(memory, partials, i + 5 * StructuredLayout.WarpSize, count);
        x.E6 = Partial(memory, partials, i + 6 * StructuredLayout.WarpSize, count);
        x.E7 = Partial(memory, partials, i + 7 * StructuredLayout.WarpSize, count);
    }

    /// <summary>Adds batch <paramref name="k"/>'s partial sums (those before the group's end) to <paramref name="sum"/> in order.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float AddPartials<M>(float sum, in Lanes x, long j, long count, int k) where M : struct, IMaths<float>
    {
        var i = j + (long)k * Lanes.Count * StructuredLayout.WarpSize;
        sum = AddPartial<M>(sum, x.E0, i, count);
        sum = AddPartial<M>(sum, x.E1, i + StructuredLayout.WarpSize, count);
        sum = AddPartial<M>(sum, x.E2, i + 2 * StructuredLayout.WarpSize, count);
        sum = AddPartial<M>(sum, x.E3, i + 3 * StructuredLayout.WarpSize, count);
        sum = AddPartial<M>(sum, x.E4, i + 4 * StructuredLayout.WarpSize, count);
        sum = AddPartial<M>(sum, x.E5, i + 5 * StructuredLayout.WarpSize, count);
        sum = AddPartial<M>(sum, x.E6, i + 6 * StructuredLayout.WarpSize, count);
        return AddPartial<M>(sum, x.E7, i + 7 * StructuredLayout.WarpSize, count);
    }

    /// <summary>Partial sum <paramref name="i"/> of the group's, 0 past its end.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float Partial(ArrayView<byte> memory, ulong partials, long i, long count) =>
        i < count ? DeviceMemory.At<float>(memory, partials + (ulong)i * sizeof(float)) : 0.0f;

    /// <summary>sum + x where partial sum <paramref name="i"/> is the group's.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float AddPartial<M>(float sum, float x, long i, long count) where M : struct, IMaths<float> =>
        i < count ? default(M).Add(sum, x) : sum;
}
