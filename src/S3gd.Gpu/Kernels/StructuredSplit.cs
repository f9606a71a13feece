using System.Runtime.CompilerServices;
using ILGPU;
using S3gd.Gpu.Maths;
using S3gd.Gpu.Structured;

namespace S3gd.Gpu.Kernels;

public static partial class StructuredKernels
{
    /// <summary>Partial sums per lane whose loads the finalize issues together (four groups of <see cref="Lanes.Count"/>).</summary>
    public const int FinalizeBatch = 4 * Lanes.Count;

    /// <summary>Partial sums a finalize block stages in shared memory at a time: a batch per thread (32 KiB).</summary>
    public const int FinalizeTile = StructuredLayout.Threads * FinalizeBatch;

    /// <summary>
    /// The register budget <see cref="Reduce"/> launches with: five blocks an SM (48 registers a thread; the compiler took
    /// 54). On the H100, StableAdamW with bf16 parameters, Kahan and bf16 moments took 0.533 ms at 64M against 0.548-0.550
    /// ms without a budget or with four blocks' 64 registers (six blocks: 0.527; tools/device/README.md).
    /// </summary>
    public const int ReduceBlocksPerSm = 5;

    /// <summary>Blocks of <see cref="UpdateFlat"/> per segment, a run per thread: two.</summary>
    public const int FlatBlocksPerSegment = StructuredLayout.Chunk / (StructuredLayout.Threads * StructuredLayout.Vec);

    /// <summary>
    /// The first pass of split groups, a block per segment: warp w loads the lane's runs w and w + 8 (as
    /// <see cref="WholeBlock"/>) and writes their terms' halving trees to shared memory; warp 0 adds each lane's trees in run
    /// order and halves over the lanes (<see cref="TreesSum"/>), the segment's sum as a warp of its own would add it, into
    /// the partial sums. Every load of the segment is in flight at once; segments of whole runs only
    /// (<see cref="WholeGroups"/>) carry no element-by-element loads.
    /// </summary>
    public static void Reduce<TOps, M, TRule, TGrad, TSecond, TShape>(ArrayView<byte> memory, StructuredArgs args)
        where TOps : struct, IKernelOps
        where M : struct, IMaths<float>
        where TRule : struct, IStructuredRule
        where TGrad : struct, IKernelFormat
        where TSecond : struct, IKernelFormat
        where TShape : struct, IGroupShape
    {
        const int warpSize = StructuredLayout.WarpSize;
        var trees = SharedMemory.Allocate<float>(StructuredLayout.LaneRuns * warpSize);
        var segment = Grid.IdxX;
        var s = StructuredTable.Segment(memory, args.Entries, segment);
        var row = StructuredTable.Row(memory, args.Rows, s.Tensor);
        var warp = Group.IdxX / warpSize;
        var lane = Warp.LaneIdx;
        var pass = new ReducePass<TOps, M, TRule, TGrad, TSecond>(args.Scalars, row, s.Start, s.Count, lane);
        var u0 = warp;
        var u1 = warp + StructuredLayout.SegmentsPerBlock;
        ReduceRun a, b;
        if (default(TShape).Tails)
        {
            pass.Load(memory, u0, out a);
            pass.Load(memory, u1, out b);
        }
        else
        {
            pass.LoadWhole(memory, u0, out a);
            pass.LoadWhole(memory, u1, out b);
        }
        trees[u0 * warpSize + lane] = pass.Tree(a.G, a.V, a.At);
        trees[u1 * warpSize + lane] = pass.Tree(b.G, b.V, b.At);
        Group.Barrier();
        if (warp != 0) return;
        var sum = TreesSum<M>(trees, s.Count, lane);
        if (lane == 0) DeviceMemory.At<float>(memory, args.Partials + (ulong)segment * sizeof(float)) = sum;
    }

    /// <summary>
    /// The second pass of split groups, a block per group: lane j of warp 0 adds segments j, j + 32, ... in order, the lanes
    /// halve by shuffles, lane 0 makes the group's two scalars. The block stages the partial sums in shared memory a tile
    /// at a time, a batch per thread in flight (a group of thousands of segments is a few round trips, not one per batch).
    /// </summary>
    public static void Finalize<M, TRule>(ArrayView<byte> memory, StructuredArgs args)
        where M : struct, IMaths<float>
        where TRule : struct, IStructuredRule
    {
        const int warpSize = StructuredLayout.WarpSize;
        const int threads = StructuredLayout.Threads;
        var tile = SharedMemory.Allocate<float>(FinalizeTile);
        var q = StructuredTable.Group(memory, args.Entries, Grid.IdxX);
        var partials = args.Partials + (ulong)q.FirstSegment * sizeof(float);
        var count = q.Segments;
        var thread = Group.IdxX;
        var lane = Warp.LaneIdx;
        var sum = 0.0f;
        for (long first = 0; first < count; first += FinalizeTile)
        {
            // Thread t stages the tile's sums t, t + 256, ... (0 past the group's end).
            var at = first + thread;
            LoadPartials(memory, partials, at, threads, count, out var a);
            LoadPartials(memory, partials, at + Lanes.Count * threads, threads, count, out var b);
            LoadPartials(memory, partials, at + 2 * Lanes.Count * threads, threads, count, out var c);
            LoadPartials(memory, partials, at + 3 * Lanes.Count * threads, threads, count, out var d);
            WriteTile(tile, thread, threads, a);
            WriteTile(tile, thread + Lanes.Count * threads, threads, b);
            WriteTile(tile, thread + 2 * Lanes.Count * threads, threads, c);
            WriteTile(tile, thread + 3 * Lanes.Count * threads, threads, d);
            Group.Barrier();
            if (thread < warpSize)
            {
                // Lane j's sums of the tile, j + 32k, a batch of reads from shared memory at a time.
                for (var j = lane; j < FinalizeTile; j += FinalizeBatch * warpSize)
                {
                    ReadTile(tile, j, out var e);
                    ReadTile(tile, j + Lanes.Count * warpSize, out var f);
                    ReadTile(tile, j + 2 * Lanes.Count * warpSize, out var g);
                    ReadTile(tile, j + 3 * Lanes.Count * warpSize, out var h);
                    sum = AddPartials<M>(sum, e, first + j, count);
                    sum = AddPartials<M>(sum, f, first + j + Lanes.Count * warpSize, count);
                    sum = AddPartials<M>(sum, g, first + j + 2 * Lanes.Count * warpSize, count);
                    sum = AddPartials<M>(sum, h, first + j + 3 * Lanes.Count * warpSize, count);
                }
            }
            Group.Barrier();
        }
        if (thread >= warpSize) return;
        sum = StructuredWarp.Sum<M>(sum);
        if (lane != 0) return;
        var row = StructuredTable.Row(memory, args.Rows, q.Tensor);
        GroupScalars<M, TRule>(memory, args.Scalars, row, q.Local, sum, ReadMean<TRule>(memory, row, q.Local), out var firstScalar, out var second);
        DeviceMemory.At<float>(memory, args.GroupOut + (ulong)Grid.IdxX * 2 * sizeof(float)) = firstScalar;
        DeviceMemory.At<float>(memory, args.GroupOut + ((ulong)Grid.IdxX * 2 + 1) * sizeof(float)) = second;
    }

    /// <summary>
    /// The third pass of split groups with a plain first moment, whose update is elementwise once its group's scalars are
    /// known: a thread per run (<see cref="FlatBlocksPerSegment"/> blocks per segment, warp w of block h the runs
    /// 8h + w), no loop, so a thread holds only its run (the elementwise kernel's shape); segments of whole runs only
    /// (<see cref="WholeGroups"/>) carry no element-by-element loads.
    /// </summary>
    public static void UpdateFlat<TOps, M, TRule, TParam, TGrad, TMoment, TSecond, TUpdate, TDecay, TTelemetry, TShape>(ArrayView<byte> memory, StructuredArgs args)
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
        where TShape : struct, IGroupShape
    {
        var s = StructuredTable.Segment(memory, args.Entries, Grid.IdxX / FlatBlocksPerSegment);
        var u = KernelIndex.Rem(Grid.IdxX, FlatBlocksPerSegment) * StructuredLayout.SegmentsPerBlock + Group.IdxX / StructuredLayout.WarpSize;
        var row = StructuredTable.Row(memory, args.Rows, s.Tensor);
        var scalars = args.GroupOut + (ulong)s.Group * 2 * sizeof(float);
        var pass = new UpdatePass<TOps, M, TRule, TParam, TGrad, TMoment, TSecond, TUpdate, TDecay, TTelemetry>(
            memory, args.Scalars, row, s, Warp.LaneIdx, DeviceMemory.At<float>(memory, scalars), DeviceMemory.At<float>(memory, scalars + sizeof(float)));
        if (default(TShape).Tails)
        {
            pass.Load(memory, u, out var run);
            pass.Finish(memory, ref run);
        }
        else if (pass.Inside(u))
        {
            // Whole runs: inside the segment, aligned; a run past its end has nothing to do.
            pass.LoadWhole(memory, u, out var run);
            pass.Finish(memory, ref run);
        }
        pass.Report(memory, args.Telemetry, s.Tensor);
    }

    /// <summary>
    /// A segment's sum from its runs' trees in shared memory (run u of lane l at u*32 + l), in lane 0 of the warp that
    /// calls it: lane l adds its runs' trees in run order (those inside the segment of <paramref name="count"/> elements),
    /// then the warp halves over the lanes.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float TreesSum<M>(ArrayView<float> trees, long count, int lane) where M : struct, IMaths<float>
    {
        M m = default;
        var sum = 0.0f;
        for (var u = 0; u < StructuredLayout.LaneRuns; u++)
            if (StructuredWarp.RunAt(u, lane) < count) sum = m.Add(sum, trees[u * StructuredLayout.WarpSize + lane]);
        return StructuredWarp.Sum<M>(sum);
    }

    /// <summary>The group's partial sums i, i + stride, ..., i + 7 stride, 0 past its end (<paramref name="count"/> sums).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void LoadPartials(ArrayView<byte> memory, ulong partials, long i, long stride, long count, out Lanes x)
    {
        x.E0 = Partial(memory, partials, i, count);
        x.E1 = Partial(memory, partials, i + stride, count);
        x.E2 = Partial(memory, partials, i + 2 * stride, count);
        x.E3 = Partial(memory, partials, i + 3 * stride, count);
        x.E4 = Partial(memory, partials, i + 4 * stride, count);
        x.E5 = Partial(memory, partials, i + 5 * stride, count);
        x.E6 = Partial(memory, partials, i + 6 * stride, count);
        x.E7 = Partial(memory, partials, i + 7 * stride, count);
    }

    /// <summary>Writes <paramref name="x"/> to tile entries j, j + stride, ..., j + 7 stride.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void WriteTile(ArrayView<float> tile, int j, int stride, in Lanes x)
    {
        tile[j] = x.E0;
        tile[j + stride] = x.E1;
        tile[j + 2 * stride] = x.E2;
        tile[j + 3 * stride] = x.E3;
        tile[j + 4 * stride] = x.E4;
        tile[j + 5 * stride] = x.E5;
        tile[j + 6 * stride] = x.E6;
        tile[j + 7 * stride] = x.E7;
    }

    /// <summary>Tile entries j, j + 32, ..., j + 7*32 (a lane's eight consecutive sums of the finalize).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void ReadTile(ArrayView<float> tile, int j, out Lanes x)
    {
        const int warpSize = StructuredLayout.WarpSize;
        x.E0 = tile[j];
        x.E1 = tile[j + warpSize];
        x.E2 = tile[j + 2 * warpSize];
        x.E3 = tile[j + 3 * warpSize];
        x.E4 = tile[j + 4 * warpSize];
        x.E5 = tile[j + 5 * warpSize];
        x.E6 = tile[j + 6 * warpSize];
        x.E7 = tile[j + 7 * warpSize];
    }

    /// <summary>Adds the group's sums i, i + 32, ..., i + 7*32 (held in <paramref name="x"/>; those before its end) to <paramref name="sum"/> in order.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float AddPartials<M>(float sum, in Lanes x, long i, long count) where M : struct, IMaths<float>
    {
        const int warpSize = StructuredLayout.WarpSize;
        sum = AddPartial<M>(sum, x.E0, i, count);
        sum = AddPartial<M>(sum, x.E1, i + warpSize, count);
        sum = AddPartial<M>(sum, x.E2, i + 2 * warpSize, count);
        sum = AddPartial<M>(sum, x.E3, i + 3 * warpSize, count);
        sum = AddPartial<M>(sum, x.E4, i + 4 * warpSize, count);
        sum = AddPartial<M>(sum, x.E5, i + 5 * warpSize, count);
        sum = AddPartial<M>(sum, x.E6, i + 6 * warpSize, count);
        return AddPartial<M>(sum, x.E7, i + 7 * warpSize, count);
    }

    /// <summary>Partial sum <paramref name="i"/> of the group's, 0 past its end.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float Partial(ArrayView<byte> memory, ulong partials, long i, long count) =>
        i < count ? DeviceMemory.At<float>(memory, partials + (ulong)i * sizeof(float)) : 0.0f;

    /// <summary>sum + x where partial sum <paramref name="i"/> is the group's (a skipped sum leaves -0 as it is).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float AddPartial<M>(float sum, float x, long i, long count) where M : struct, IMaths<float> =>
        i < count ? default(M).Add(sum, x) : sum;
}
