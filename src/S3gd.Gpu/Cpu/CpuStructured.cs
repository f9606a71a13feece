using System.Runtime.InteropServices;
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
/// The CPU twin of <c>Cuda/Kernels/structured.cu</c>: the same float32 operations in the same order, the sums included
/// (<see cref="StructuredLayout"/> fixes their order), so results are equal bit for bit (NaN payloads aside). Parallel over
/// segments and groups, each computed as the kernel's warp computes it. A group of one segment, which the GPU reduces,
/// finalizes and updates in one warp (structured_whole), gives the same values: its finalize's sum is 0 + the segment's.
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
        var partials = new float[layout.Segments];
        Parallel.For(0, layout.Segments, s => partials[s] = Reduce(config, sc, layout, tensors, s));
        var groupOut = new float[2 * layout.Groups];
        Parallel.For(0, layout.Groups, q => Finalize(config, sc, layout, tensors, partials, groupOut, q));
        var locks = tensors.Select(_ => new Lock()).ToArray();
        Parallel.For(0, layout.Segments, s => Update(config, sc, layout, tensors, groupOut, s, telemetry, locks));
    }

    /// <summary>
    /// structured_reduce of one segment: per lane, each run's terms as a halving tree (past the end +0) added to the lane's
    /// running sum in run order, then the warp's shuffle-down halving.
    /// </summary>
    private static float Reduce(StructuredConfig c, in StructuredScalars sc, StructuredLayout layout, IReadOnlyList<CpuStructuredTensor> tensors, int s)
    {
        var t = tensors[layout.SegmentTensor[s]];
        var start = layout.SegmentStart[s];
        var count = layout.SegmentCount[s];
        Span<float> lanes = stackalloc float[StructuredLayout.WarpSize];
        Span<float> x = stackalloc float[StructuredLayout.Vec];
        lanes.Clear();
        var stable = c.Rule == StructuredRule.StableAdamW;
        for (var lane = 0; lane < StructuredLayout.WarpSize; lane++)
            for (var u = 0; u < StructuredLayout.LaneRuns; u++)
            {
                var at = (u * StructuredLayout.WarpSize + lane) * StructuredLayout.Vec;
                if (at >= count) break;
                for (var e = 0; e < StructuredLayout.Vec; e++)
                {
                    var j = at + e;
                    if (j >= count) { x[e] = 0.0f; continue; }
                    var g = Load(c.Grad, t.Grad, start + j);
                    if (stable)
                    {
                        var gg = g * g;
                        var vn = MathF.FusedMultiplyAdd(sc.Beta2, Load(c.SecondMoment, t.SecondMoment, start + j), sc.OneMinusBeta2 * gg);
                        x[e] = gg / float.MaxNumber(vn, sc.EpsSquared);
                    }
                    else x[e] = g * g;
                }
                for (var half = StructuredLayout.Vec / 2; half > 0; half /= 2)
                    for (var e = 0; e < half; e++) x[e] = x[e] + x[e + half];
                lanes[lane] = lanes[lane] + x[0];
            }
        return HalveLanes(lanes);
    }

    /// <summary>The warp's shuffle-down halving (offsets 16, 8, ..., 1): lane 0's sum.</summary>
    private static float HalveLanes(Span<float> lanes)
    {
        for (var offset = StructuredLayout.WarpSize / 2; offset > 0; offset /= 2)
            for (var lane = 0; lane < offset; lane++) lanes[lane] = lanes[lane] + lanes[lane + offset];
        return lanes[0];
    }

    /// <summary>structured_finalize of one group: lane sums of its segments, the shuffle-down halving, the group's scalars.</summary>
    private static void Finalize(
        StructuredConfig c, in StructuredScalars sc, StructuredLayout layout, IReadOnlyList<CpuStructuredTensor> tensors, float[] partials, float[] groupOut, int q)
    {
        Span<float> lanes = stackalloc float[StructuredLayout.WarpSize];
        lanes.Clear();
        var first = layout.GroupFirstSegment[q];
        var count = layout.GroupSegments[q];
        for (var lane = 0; lane < StructuredLayout.WarpSize; lane++)
            for (var j = lane; j < count; j += StructuredLayout.WarpSize) lanes[lane] = lanes[lane] + partials[first + j];
        var sum = HalveLanes(lanes);
        var t = tensors[layout.GroupTensor[q]];
        if (c.Rule == StructuredRule.StableAdamW)
        {
            var rms = MathF.Sqrt(sum / (float)t.Length);
            var lrT = sc.Lr / float.MaxNumber(1.0f, rms);
            groupOut[2 * q] = lrT;
            groupOut[2 * q + 1] = MathF.FusedMultiplyAdd(-lrT, sc.WeightDecay, 1.0f);
        }
        else
        {
            var vmean = MemoryMarshal.Cast<byte, float>(t.SecondMoment.AsSpan());
            var local = (int)layout.GroupLocal[q];
            var mean = sum / (float)t.BlockLength;
            var vm = MathF.FusedMultiplyAdd(sc.Beta2, vmean[local], sc.OneMinusBeta2 * mean);
            vmean[local] = vm;
            groupOut[2 * q] = MathF.FusedMultiplyAdd(MathF.Sqrt(vm), sc.InvSqrtBc2, sc.Eps);
            groupOut[2 * q + 1] = 0.0f;
        }
    }

    /// <summary>structured_update of one segment.</summary>
    private static void Update(
        StructuredConfig c, in StructuredScalars sc, StructuredLayout layout, IReadOnlyList<CpuStructuredTensor> tensors, float[] groupOut, int s,
        uint[]? telemetry, Lock[] locks)
    {
        var index = layout.SegmentTensor[s];
        var t = tensors[index];
        var group = layout.SegmentGroup[s];
        var start = layout.SegmentStart[s];
        var count = layout.SegmentCount[s];
        var stable = c.Rule == StructuredRule.StableAdamW;
        var largest = 0.0f;
        var nonfinite = 0u;
        // An fp8 first moment is decoded for the whole segment first (its slot is read before any block may take it)
        // and encoded block by block at the end, as the kernel's warp does.
        var fp8 = c.MomentIsFp8 ? new CpuMomentFp8(t, start, count) : null;
        for (var j = 0; j < count; j++)
        {
            var i = start + j;
            var p = Load(c.Param, t.Param, i);
            var g = Load(c.Grad, t.Grad, i);
            var m = fp8 is null ? Load(c.Moment, t.Moment, i) : fp8.Values[j];
            var old = p;
            if (stable)
            {
                var lrT = groupOut[2 * group];
                var v = Load(c.SecondMoment, t.SecondMoment, i);
                if (c.WeightDecay) p = p * groupOut[2 * group + 1];
                m = MathF.FusedMultiplyAdd(sc.Beta1, m, sc.OneMinusBeta1 * g);
                v = MathF.FusedMultiplyAdd(sc.Beta2, v, sc.OneMinusBeta2 * (g * g));
                p = MathF.FusedMultiplyAdd(-lrT, m / (MathF.Sqrt(v) + sc.Eps), p);
                Store(c.SecondMoment, t.SecondMoment, i, v);
            }
            else
            {
                if (c.WeightDecay && t.Decays) p = p * sc.Decay;
                m = MathF.FusedMultiplyAdd(sc.Beta1, m, sc.OneMinusBeta1 * g);
                p = MathF.FusedMultiplyAdd(-sc.StepSize, m / groupOut[2 * group], p);
            }
            if (telemetry is not null)
            {
                largest = float.MaxNumber(largest, MathF.Abs(p - old));
                if (!(MathF.Abs(g) <= FloatMax)) nonfinite++;
            }
            if (c.HasCompensation)
            {
                var comp = Load(StorageFormat.Bf16, t.Compensation!, i);
                var updated = p;
                p = old;
                comp += updated - old;
                var prev = p;
                p = RoundBf16(p + comp);
                comp += prev - p;
                Store(StorageFormat.Bf16, t.Compensation!, i, comp);
            }
            Store(c.Param, t.Param, i, p);
            if (fp8 is null) Store(c.Moment, t.Moment, i, m);
            else fp8.Values[j] = m;
        }
        var (fallbacks, overflows) = fp8?.Store() ?? (0u, 0u);
        if (telemetry is null || (largest == 0.0f && nonfinite == 0u && fallbacks == 0u)) return;
        const int words = StructuredTelemetry.Words;
        lock (locks[index])
        {
            if (largest > 0.0f) telemetry[words * index] = Math.Max(telemetry[words * index], BitConverter.SingleToUInt32Bits(largest));
            telemetry[words * index + 1] += nonfinite;
            telemetry[words * index + 2] += fallbacks;
            telemetry[words * index + 3] += overflows;
        }
    }

    private static float RoundBf16(float x) => BitConverter.UInt32BitsToSingle((uint)CpuConvert.EncodeBf16(x) << 16);

    private static float Load(StorageFormat f, byte[] data, long i) =>
        f.IsFp32
            ? MemoryMarshal.Cast<byte, float>(data.AsSpan())[(int)i]
            : BitConverter.UInt32BitsToSingle((uint)MemoryMarshal.Cast<byte, ushort>(data.AsSpan())[(int)i] << 16);

    private static void Store(StorageFormat f, byte[] data, long i, float x)
    {
        if (f.IsFp32) MemoryMarshal.Cast<byte, float>(data.AsSpan())[(int)i] = x;
        else MemoryMarshal.Cast<byte, ushort>(data.AsSpan())[(int)i] = CpuConvert.EncodeBf16(x);
    }
}
