using System.Runtime.CompilerServices;
using ILGPU;
using S3gd.Gpu.Maths;
using S3gd.Gpu.Structured;

namespace S3gd.Gpu.Kernels;

/// <summary>
/// The structured steps (StableAdamW, Adam-mini: an update that needs a reduction first) over many tensors, queued with no
/// host round trip. <see cref="StructuredLayout"/> cuts the work: groups of several segments (split) take three launches,
/// <see cref="Reduce"/> (a block per segment: the sum of its terms into the partial sums), <see cref="Finalize"/> (a block
/// per group: its segments' sums added, its two scalars) and the update, <see cref="UpdateFlat"/> (a thread per run) or,
/// for an fp8 first moment, <see cref="Update"/> (a warp per segment); groups of one segment (whole) take one, the three in
/// one with the same float32 values: <see cref="Whole"/>, or for long segments
/// <see cref="WholeBlock"/>, which holds the runs in registers in blocks of six or eight warps (<see cref="IBlockWarps"/>). Lane l of a segment's warp owns runs of
/// <see cref="StructuredLayout.Vec"/> consecutive elements (<see cref="StructuredWarp.RunAt"/>); the block kernels give a
/// run to a warp of their own but add the terms in the same order. Runs move as 16-byte vectors where the buffers and
/// the segment are aligned; a warp kernel's lane keeps several in flight (<see cref="IRunsInFlight"/>). Every sum's
/// float32 order is fixed by the layout alone, so the CPU twin (<c>Cpu.CpuStructured</c>) gives the same bits.
/// Specialised by type: the accelerator's operations, the maths, the rule, each buffer's format, the parameter update,
/// weight decay, telemetry and the runs in flight (or the block's warps).
/// </summary>
public static partial class StructuredKernels
{
    /// <summary>
    /// The third pass of split groups with an fp8 first moment, a warp per segment: each segment's update with its group's
    /// scalars (the moment's slot goes to the segment's first block in element order, which needs the runs in one warp).
    /// </summary>
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
    /// time from the cache. Where the moment <see cref="IStructuredMoment.Prefetches"/>, the update's other buffers are
    /// asked for first, so they arrive while the reduction waits for the gradient.
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
        PrefetchUpdate<TOps, TRule, TParam, TMoment, TSecond, TUpdate>(row, s);
        // The group's mean (Adam-mini's vmean element) read first.
        var mean = Warp.LaneIdx == 0 ? ReadMean<TRule>(memory, row, s.Local) : 0.0f;
        // The reduction holds only its terms' buffers, before the update's state is live: four runs in flight whatever
        // the update's, so a 768-element row's gradient comes in one round trip, not three (the sum's order is the same).
        var sum = default(M).Add(0.0f, ReduceSegment<TOps, M, TRule, TGrad, TSecond, FourRuns>(memory, args.Scalars, row, s));
        var first = 0.0f;
        var second = 0.0f;
        if (Warp.LaneIdx == 0) GroupScalars<M, TRule>(memory, args.Scalars, row, s.Local, sum, mean, out first, out second);
        first = Warp.Shuffle(first, 0);
        second = Warp.Shuffle(second, 0);
        UpdateSegment<TOps, M, TRule, TParam, TGrad, TMoment, TSecond, TUpdate, TDecay, TTelemetry, TRuns>(memory, args, row, s, first, second);
    }

    /// <summary>The launch's entry (segment or group) of this thread's warp.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static long WarpEntry() => (long)Grid.IdxX * StructuredLayout.SegmentsPerBlock + Group.IdxX / StructuredLayout.WarpSize;

    /// <summary>
    /// Asks for the lane's runs of the update's buffers but the gradient (the reduction reads it) before the reduction, so
    /// the update's loads find them in L2 instead of waiting for memory, a round trip each (where the moment
    /// <see cref="IStructuredMoment.Prefetches"/>).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void PrefetchUpdate<TOps, TRule, TParam, TMoment, TSecond, TUpdate>(in StructuredRow row, in StructuredSegment s)
        where TOps : struct, IKernelOps
        where TRule : struct, IStructuredRule
        where TParam : struct, IKernelFormat
        where TMoment : struct, IStructuredMoment
        where TSecond : struct, IKernelFormat
        where TUpdate : struct, IKernelParamUpdate
    {
        if (!default(TMoment).Prefetches) return;
        for (var u = 0; StructuredWarp.RunAt(u, 0) < s.Count; u++)
        {
            var rel = StructuredWarp.RunAt(u, Warp.LaneIdx);
            if (rel >= s.Count) break;
            var at = s.Start + rel;
            PrefetchRun<TOps>(row.Param, at, default(TParam).Bytes, rel == 0);
            default(TMoment).Prefetch<TOps>(row, s, row.Moment, at, rel);
            if (default(TRule).SecondPerElement) PrefetchRun<TOps>(row.Second, at, default(TSecond).Bytes, rel == 0);
            if (default(TUpdate).HasCompensation) PrefetchRun<TOps>(row.Compensation, at, default(Bf16Format).Bytes, rel == 0);
        }
    }

    /// <summary>Bytes of a cache line, the unit a prefetch fetches.</summary>
    private const ulong CacheLine = 128;

    /// <summary>
    /// Asks for the lines of a run at element <paramref name="at"/> of a buffer of <paramref name="bytes"/>-byte elements:
    /// only where the run holds a line's first byte, or is the segment's <paramref name="first"/>, so each line once.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void PrefetchRun<TOps>(ulong buffer, long at, int bytes, bool first) where TOps : struct, IKernelOps
    {
        var a = buffer + (ulong)(at * bytes);
        if ((a & (CacheLine - 1)) < (ulong)(bytes * Lanes.Count) | first) default(TOps).Prefetch(a);
    }

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
            memory, args.Scalars, row, s, Warp.LaneIdx, first, second);
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
}
