using ILGPU;
using S3gd.Gpu.Maths;
using S3gd.Gpu.Structured;

namespace S3gd.Gpu.Kernels;

public static partial class StructuredKernels
{
    /// <summary>
    /// Whole segments longer than this, four runs of a lane, take <see cref="WholeBlock"/>. Shorter
    /// ones take <see cref="Whole"/>: on the H100 its one warp per segment ran GPT-2's 768-element rows faster than four
    /// warps holding their runs in registers (the Adam-mini GPT-2 case at 0.820 of the copy against 0.774).
    /// </summary>
    public const int WholeBlockMinCount = 4 * StructuredLayout.WarpSize * StructuredLayout.Vec;

    /// <summary>
    /// Whole segments of at most this many elements (two runs of each of six warps' lanes) take <see cref="WholeBlock"/>
    /// with <see cref="SixWarps"/>, longer ones with <see cref="EightWarps"/>. GPT-2's 3072-element rows (mlp.c_fc) filled
    /// 12 of an eight-warp block's 16 runs: at the same registers, an SM held three such blocks, 9216 elements, where four
    /// six-warp blocks hold 12288, as three eight-warp blocks of the 64M case's 4096-element rows do (on the H100 the
    /// kernel moved 2.74 TB/s on those rows against 2.07; the Adam-mini fp8 GPT-2 step 0.90 of the copy against 0.845).
    /// </summary>
    public const int SixWarpMaxCount = 2 * SixWarps.Warps * StructuredLayout.WarpSize * StructuredLayout.Vec;

    /// <summary>
    /// A long whole group (one segment of more than <see cref="WholeBlockMinCount"/> elements) in one thread block of
    /// <typeparamref name="TWarps"/> warps, each element read once (<see cref="Whole"/> reads the gradient twice, the second
    /// time from a cache that other warps' reads have mostly evicted at 64M parameters): warp w of W loads the lane's runs w
    /// and w + W of every buffer (the segment's at most 2W runs) into registers and
    /// writes their terms' halving trees to shared memory; warp 0 adds each lane's trees in run order (as
    /// <see cref="Whole"/>'s lane does: the same float32 sum), halves over the lanes and makes the group's scalars; then
    /// every warp updates its runs from its registers. An fp8 moment's runs are all computed and encoded first, so that its
    /// slot goes to the segment's first block in element order that needs it (the warps' blocks gathered in shared memory).
    /// </summary>
    public static void WholeBlock<TOps, M, TRule, TParam, TGrad, TMoment, TSecond, TUpdate, TDecay, TTelemetry, TWarps>(ArrayView<byte> memory, StructuredArgs args)
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
        where TWarps : struct, IBlockWarps
    {
        const int warpSize = StructuredLayout.WarpSize;
        var trees = SharedMemory.Allocate<float>(StructuredLayout.LaneRuns * warpSize);
        var scalars = SharedMemory.Allocate<float>(2);
        var claims = SharedMemory.Allocate<uint>(StructuredLayout.SegmentsPerBlock);
        var s = StructuredTable.Segment(memory, args.Entries, Grid.IdxX);
        var row = StructuredTable.Row(memory, args.Rows, s.Tensor);
        var warp = Group.IdxX / warpSize;
        var lane = Warp.LaneIdx;
        var mean = Group.IdxX == 0 ? ReadMean<TRule>(memory, row, s.Local) : 0.0f;
        var reduce = new ReducePass<TOps, M, TRule, TGrad, TSecond>(args.Scalars, row, s.Start, s.Count, lane);
        // The group's scalars are not known yet: the loads do not read them, SetGroup sets them before the maths.
        var update = new UpdatePass<TOps, M, TRule, TParam, TGrad, TMoment, TSecond, TUpdate, TDecay, TTelemetry>(
            memory, args.Scalars, row, s, lane, 0.0f, 0.0f);
        var u0 = warp;
        var u1 = warp + default(TWarps).Count;
        update.Load(memory, u0, out var a);
        update.Load(memory, u1, out var b);
        trees[u0 * warpSize + lane] = reduce.Tree(a.G, a.V, a.At);
        trees[u1 * warpSize + lane] = reduce.Tree(b.G, b.V, b.At);
        Group.Barrier();
        if (warp == 0)
        {
            // As Whole: the finalize's 0 + sum.
            var sum = default(M).Add(0.0f, TreesSum<M>(trees, s.Count, lane));
            if (lane == 0)
            {
                GroupScalars<M, TRule>(memory, args.Scalars, row, s.Local, sum, mean, out var first, out var second);
                scalars[0] = first;
                scalars[1] = second;
            }
        }
        Group.Barrier();
        update.SetGroup(args.Scalars, row, scalars[0], scalars[1]);
        if (default(TMoment).WarpWide)
        {
            // The fp8 moment's slot goes to the segment's first block that needs it: each warp's blocks that do, gathered
            // before any run is stored.
            var needs = update.Compute(ref a) | update.Compute(ref b);
            if (lane == 0) claims[warp] = needs;
            Group.Barrier();
            var all = 0u;
            for (var w = 0; w < default(TWarps).Count; w++) all |= claims[w];
            update.Claim(all);
            update.Store(memory, ref a);
            update.Store(memory, ref b);
        }
        else
        {
            update.Finish(memory, ref a);
            update.Finish(memory, ref b);
        }
        update.Report(memory, args.Telemetry, s.Tensor);
    }
}

/// <summary>The warps of a <see cref="StructuredKernels.WholeBlock"/> thread block, each holding two runs of its lanes.</summary>
public interface IBlockWarps
{
    /// <summary>Warps a block.</summary>
    int Count { get; }
}

/// <summary>Eight warps (<see cref="StructuredLayout.Threads"/> threads): segments of up to <see cref="StructuredLayout.Chunk"/> elements.</summary>
public readonly struct EightWarps : IBlockWarps
{
    /// <inheritdoc />
    public int Count => StructuredLayout.SegmentsPerBlock;
}

/// <summary>Six warps: segments of up to <see cref="StructuredKernels.SixWarpMaxCount"/> elements.</summary>
public readonly struct SixWarps : IBlockWarps
{
    /// <summary>Warps a block, as a constant.</summary>
    public const int Warps = 6;

    /// <inheritdoc />
    public int Count => Warps;
}
