using System.Numerics;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using S3gd.Gpu.Structured;
using S3gd.Spec.Formats;

namespace S3gd.Gpu.Cpu;

/// <summary>One tensor of a CPU structured step: the raw bytes of its buffers, as the CPU backend holds them.</summary>
/// <param name="Param">The parameter codes (fp32 or bf16), updated in place.</param>
/// <param name="Grad">The gradient codes (fp32 or bf16).</param>
/// <param name="Moment">The first moment's codes, updated in place.</param>
/// <param name="SecondMoment">StableAdamW's exp_avg_sq or Adam-mini's fp32 vmean, updated in place.</param>
/// <param name="Length">Elements of the parameter.</param>
/// <param name="BlockLength">Adam-mini's block length (StableAdamW: the length).</param>
/// <param name="Decays">Whether weight decay applies to the tensor.</param>
/// <param name="Compensation">The bf16 Kahan compensation codes, or null.</param>
/// <param name="MomentScales">An fp8 first moment's block words (float32, <see cref="MomentFallback"/>), or null.</param>
/// <param name="MomentPool">An fp8 first moment's bf16 slots, one per segment, or null.</param>
public sealed record CpuStructuredTensor(
    byte[] Param, byte[] Grad, byte[] Moment, byte[] SecondMoment, long Length, long BlockLength, bool Decays, byte[]? Compensation,
    byte[]? MomentScales = null, byte[]? MomentPool = null);

/// <summary>
/// The CPU twin of <see cref="Kernels.StructuredKernels"/>: the same float32 operations in the same order (the rule's
/// maths is the kernels' own, <see cref="IStructuredRule"/>), the sums included (<see cref="StructuredLayout"/> fixes their
/// order), so results are equal bit for bit (NaN payloads aside). Parallel over segments and groups, each computed as the
/// kernel's warp computes it. A group of one segment, which the GPU reduces, finalizes and updates in one warp
/// (<see cref="Kernels.StructuredKernels.Whole"/>), gives the same values: its finalize's sum is 0 + the segment's.
/// Each segment's buffers are read into float32 (bf16 decoded into a per-thread scratch, float32 where it lies) and worked
/// on eight lanes at a time with the same float32 operations per element (the update is elementwise; the reduction keeps
/// its order: a whole run of <see cref="StructuredLayout.Vec"/> is one vector, its halving tree the vector's halves).
/// </summary>
public static class CpuStructured
{
    /// <summary>The largest finite float32 (FLOAT_MAX): |g| above it, or NaN, is not finite.</summary>
    private const float FloatMax = float.MaxValue;

    /// <summary>
    /// One step over every tensor; with <paramref name="telemetry"/> (<see cref="StructuredTelemetry.Words"/> per tensor:
    /// the largest |update|'s float bits, the count of non-finite gradients, fp8 fallbacks and overflows) the counters are
    /// raised as the kernel's atomics raise them.
    /// </summary>
    public static void Step(
        StructuredConfig config, StructuredScalars sc, StructuredLayout layout, IReadOnlyList<CpuStructuredTensor> tensors, uint[]? telemetry = null)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(layout);
        ArgumentNullException.ThrowIfNull(tensors);
        if (config.Rule == StructuredRule.StableAdamW) Step<StableAdamWStep>(config, sc, layout, tensors, telemetry);
        else Step<AdamMiniStep>(config, sc, layout, tensors, telemetry);
    }

    /// <summary>One step of the rule <typeparamref name="TRule"/>: the reduce, finalize and update passes.</summary>
    private static void Step<TRule>(
        StructuredConfig config, StructuredScalars sc, StructuredLayout layout, IReadOnlyList<CpuStructuredTensor> tensors, uint[]? telemetry)
        where TRule : struct, IStructuredRule
    {
        var partials = new float[layout.Segments];
        Parallel.For(0, layout.Segments, s => partials[s] = Reduce<TRule>(config, sc, layout, tensors, s, Scratch.Local));
        var groupOut = new float[2 * layout.Groups];
        Parallel.For(0, layout.Groups, q => Finalize<TRule>(sc, layout, tensors, partials, groupOut, q));
        var locks = tensors.Select(_ => new Lock()).ToArray();
        Parallel.For(0, layout.Segments, s => Update<TRule>(config, sc, layout, tensors, groupOut, s, telemetry, locks, Scratch.Local));
    }

    /// <summary>Per-thread float32 working copies of one segment of each buffer (kept by each thread between steps).</summary>
    private sealed class Scratch
    {
        [ThreadStatic] private static Scratch? local;

        /// <summary>This thread's scratch.</summary>
        public static Scratch Local => local ??= new Scratch();

        /// <summary>Each run's halving-tree sum, in memory order (run u*WarpSize + lane).</summary>
        public readonly float[] Runs = new float[StructuredLayout.LaneRuns * StructuredLayout.WarpSize];

        public readonly float[] P = new float[StructuredLayout.Chunk];
        public readonly float[] G = new float[StructuredLayout.Chunk];
        public readonly float[] M = new float[StructuredLayout.Chunk];
        public readonly float[] V = new float[StructuredLayout.Chunk];
        public readonly float[] Old = new float[StructuredLayout.Chunk];
        public readonly float[] C = new float[StructuredLayout.Chunk];
    }

    /// <summary>Whether a run of <see cref="StructuredLayout.Vec"/> elements is one Vector256 here.</summary>
    private static bool RunIsVector => Vector256.IsHardwareAccelerated && Vector256<float>.Count == StructuredLayout.Vec;

    /// <summary>
    /// The reduce kernel's work on one segment: per lane, each run's terms as a halving tree (past the end +0) added to the lane's
    /// running sum in run order, then the warp's shuffle-down halving.
    /// </summary>
    private static float Reduce<TRule>(
        StructuredConfig c, in StructuredScalars sc, StructuredLayout layout, IReadOnlyList<CpuStructuredTensor> tensors, int s, Scratch w)
        where TRule : struct, IStructuredRule
    {
        var t = tensors[layout.SegmentTensor[s]];
        var start = layout.SegmentStart[s];
        var count = layout.SegmentCount[s];
        TRule rule = default;
        var perElement = rule.SecondPerElement;
        var g = View(c.Grad, t.Grad, start, count, w.G);
        var v = perElement ? View(c.SecondMoment, t.SecondMoment, start, count, w.V) : default;
        Span<float> x = stackalloc float[StructuredLayout.Vec];
        var vectors = RunIsVector;
        var vk = new StructuredTermScalars<Vector256<float>, VectorMaths>(sc);
        var k = new StructuredTermScalars<float, ScalarMaths>(sc);
        // Each run's tree sum first, in memory order (the sums do not depend on one another), then each lane's in run order.
        var runs = w.Runs.AsSpan(0, (count + StructuredLayout.Vec - 1) / StructuredLayout.Vec);
        for (var r = 0; r < runs.Length; r++)
        {
            var at = r * StructuredLayout.Vec;
            if (vectors && at + StructuredLayout.Vec <= count)
            {
                var gv = Vector256.Create<float>(g.Slice(at, StructuredLayout.Vec));
                var vv = perElement ? Vector256.Create<float>(v.Slice(at, StructuredLayout.Vec)) : Vector256<float>.Zero;
                var terms = rule.Term(vk, gv, vv);
                // The halving tree: x[e] + x[e+4], then x[e] + x[e+2], then x[0] + x[1].
                var fours = terms.GetLower() + terms.GetUpper();
                runs[r] = (fours[0] + fours[2]) + (fours[1] + fours[3]);
                continue;
            }
            for (var e = 0; e < StructuredLayout.Vec; e++)
            {
                var j = at + e;
                x[e] = j >= count ? 0.0f : rule.Term(k, g[j], perElement ? v[j] : 0.0f);
            }
            for (var half = StructuredLayout.Vec / 2; half > 0; half /= 2)
                for (var e = 0; e < half; e++) x[e] = x[e] + x[e + half];
            runs[r] = x[0];
        }
        Span<float> lanes = stackalloc float[StructuredLayout.WarpSize];
        lanes.Clear();
        for (var lane = 0; lane < StructuredLayout.WarpSize; lane++)
            for (var r = lane; r < runs.Length; r += StructuredLayout.WarpSize) lanes[lane] = lanes[lane] + runs[r];
        return HalveLanes(lanes);
    }

    /// <summary>The warp's shuffle-down halving (offsets 16, 8, ..., 1): lane 0's sum.</summary>
    private static float HalveLanes(Span<float> lanes)
    {
        for (var offset = StructuredLayout.WarpSize / 2; offset > 0; offset /= 2)
            for (var lane = 0; lane < offset; lane++) lanes[lane] = lanes[lane] + lanes[lane + offset];
        return lanes[0];
    }

    /// <summary>The finalize kernel's work on one group: lane sums of its segments, the shuffle-down halving, the group's scalars.</summary>
    private static void Finalize<TRule>(
        in StructuredScalars sc, StructuredLayout layout, IReadOnlyList<CpuStructuredTensor> tensors, float[] partials, float[] groupOut, int q)
        where TRule : struct, IStructuredRule
    {
        Span<float> lanes = stackalloc float[StructuredLayout.WarpSize];
        lanes.Clear();
        var first = layout.GroupFirstSegment[q];
        var count = layout.GroupSegments[q];
        for (var lane = 0; lane < StructuredLayout.WarpSize; lane++)
            for (var j = lane; j < count; j += StructuredLayout.WarpSize) lanes[lane] = lanes[lane] + partials[first + j];
        var sum = HalveLanes(lanes);
        var t = tensors[layout.GroupTensor[q]];
        TRule rule = default;
        var vmean = MemoryMarshal.Cast<byte, float>(t.SecondMoment.AsSpan());
        var local = (int)layout.GroupLocal[q];
        // Adam-mini's vmean element of the group (StableAdamW keeps none: its group scalars do not read it).
        var mean = rule.SecondPerElement ? 0.0f : vmean[local];
        rule.Group<ScalarMaths>(sc, sum, t.BlockLength, ref mean, out groupOut[2 * q], out groupOut[2 * q + 1]);
        if (!rule.SecondPerElement) vmean[local] = mean;
    }

    /// <summary>The update kernel's work on one segment.</summary>
    private static void Update<TRule>(
        StructuredConfig c, in StructuredScalars sc, StructuredLayout layout, IReadOnlyList<CpuStructuredTensor> tensors, float[] groupOut, int s,
        uint[]? telemetry, Lock[] locks, Scratch w)
        where TRule : struct, IStructuredRule
    {
        var index = layout.SegmentTensor[s];
        var t = tensors[index];
        var group = layout.SegmentGroup[s];
        var start = layout.SegmentStart[s];
        var count = layout.SegmentCount[s];
        TRule rule = default;
        var perElement = rule.SecondPerElement;
        var p = View(c.Param, t.Param, start, count, w.P);
        var g = View(c.Grad, t.Grad, start, count, w.G);
        // An fp8 first moment is decoded for the whole segment first (its slot is read before any block may take it) and
        // encoded block by block at the end, as the kernel's warp does.
        var fp8 = c.MomentIsFp8 ? new CpuMomentFp8(t, start, count, w.M) : null;
        var m = fp8 is null ? View(c.Moment, t.Moment, start, count, w.M) : w.M.AsSpan(0, count);
        // Adam-mini has no per-element second moment: the scratch stands in, untouched by its arithmetic.
        var v = perElement ? View(c.SecondMoment, t.SecondMoment, start, count, w.V) : w.V.AsSpan(0, count);
        var old = w.Old.AsSpan(0, count);
        if (telemetry is not null || c.HasCompensation) p.CopyTo(old);
        var (first, second) = (groupOut[2 * group], groupOut[2 * group + 1]);
        var whole = RunIsVector ? count - count % Vector256<float>.Count : 0;
        if (whole > 0)
        {
            var k = rule.UpdateScalars<Vector256<float>, VectorMaths>(sc, c.WeightDecay, t.Decays, first, second);
            var vp = MemoryMarshal.Cast<float, Vector256<float>>(p[..whole]);
            var vg = MemoryMarshal.Cast<float, Vector256<float>>(g[..whole]);
            var vm = MemoryMarshal.Cast<float, Vector256<float>>(m[..whole]);
            var vv = MemoryMarshal.Cast<float, Vector256<float>>(v[..whole]);
            for (var i = 0; i < vp.Length; i++) rule.Update(k, ref vp[i], vg[i], ref vm[i], ref vv[i]);
        }
        {
            var k = rule.UpdateScalars<float, ScalarMaths>(sc, c.WeightDecay, t.Decays, first, second);
            for (var i = whole; i < count; i++) rule.Update(k, ref p[i], g[i], ref m[i], ref v[i]);
        }
        var (fallbacks, overflows) = fp8?.Store() ?? (0u, 0u);
        if (telemetry is not null)
        {
            const int words = StructuredTelemetry.Words;
            var largest = LargestChange(p, old);
            var nonfinite = NonFinite(g);
            if (largest != 0.0f || nonfinite != 0u || fallbacks != 0u)
                lock (locks[index])
                {
                    ref var max = ref telemetry[words * index + StructuredTelemetry.MaxAbsUpdateWord];
                    if (largest > 0.0f) max = Math.Max(max, BitConverter.SingleToUInt32Bits(largest));
                    telemetry[words * index + StructuredTelemetry.NonFiniteWord] += nonfinite;
                    telemetry[words * index + StructuredTelemetry.FallbacksWord] += fallbacks;
                    telemetry[words * index + StructuredTelemetry.OverflowsWord] += overflows;
                }
        }
        if (c.HasCompensation)
        {
            var comp = View(StorageFormat.Bf16, t.Compensation!, start, count, w.C);
            CpuKahan.Update(p, old, comp);
            Store(StorageFormat.Bf16, t.Compensation!, start, comp);
        }
        Store(c.Param, t.Param, start, p);
        if (fp8 is null) Store(c.Moment, t.Moment, start, m);
        if (perElement) Store(c.SecondMoment, t.SecondMoment, start, v);
    }

    /// <summary>The largest |p - old| (float.MaxNumber from 0, NaN ignored: the order of the comparisons does not matter).</summary>
    private static float LargestChange(ReadOnlySpan<float> p, ReadOnlySpan<float> old)
    {
        var largest = 0.0f;
        var i = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            var lanes = Vector256<float>.Zero;
            for (; i + Vector256<float>.Count <= p.Length; i += Vector256<float>.Count)
                lanes = Vector256.MaxNumber(lanes, Vector256.Abs(Vector256.Create(p.Slice(i, Vector256<float>.Count)) - Vector256.Create(old.Slice(i, Vector256<float>.Count))));
            for (var k = 0; k < Vector256<float>.Count; k++) largest = float.MaxNumber(largest, lanes[k]);
        }
        for (; i < p.Length; i++) largest = float.MaxNumber(largest, MathF.Abs(p[i] - old[i]));
        return largest;
    }

    /// <summary>How many gradients are not finite (|g| above FLOAT_MAX, or NaN).</summary>
    private static uint NonFinite(ReadOnlySpan<float> g)
    {
        var count = 0u;
        var i = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            var max = Vector256.Create(FloatMax);
            for (; i + Vector256<float>.Count <= g.Length; i += Vector256<float>.Count)
                count += (uint)BitOperations.PopCount(Vector256.ExtractMostSignificantBits(~Vector256.LessThanOrEqual(Vector256.Abs(Vector256.Create(g.Slice(i, Vector256<float>.Count))), max)));
        }
        for (; i < g.Length; i++)
            if (!(MathF.Abs(g[i]) <= FloatMax)) count++;
        return count;
    }

    /// <summary>
    /// Elements [start, start+count) of a buffer as float32: the buffer itself when it is float32 (updated in place), else
    /// its bf16 codes decoded into the scratch.
    /// </summary>
    private static Span<float> View(StorageFormat f, byte[] data, long start, int count, float[] scratch)
    {
        if (f.IsFp32) return MemoryMarshal.Cast<byte, float>(data.AsSpan()).Slice((int)start, count);
        var x = scratch.AsSpan(0, count);
        CpuConvert.DecodeBf16(MemoryMarshal.Cast<byte, ushort>(data.AsSpan()).Slice((int)start, count), x);
        return x;
    }

    /// <summary>Encodes x into elements [start, start+x.Length) of a bf16 buffer (a float32 one was updated in place).</summary>
    private static void Store(StorageFormat f, byte[] data, long start, Span<float> x)
    {
        if (!f.IsFp32) CpuConvert.EncodeBf16(x, MemoryMarshal.Cast<byte, ushort>(data.AsSpan()).Slice((int)start, x.Length));
    }
}
