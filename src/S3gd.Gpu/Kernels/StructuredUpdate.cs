using System.Runtime.CompilerServices;
using ILGPU;
using S3gd.Gpu.Maths;
using S3gd.Gpu.Structured;

namespace S3gd.Gpu.Kernels;

/// <summary>A run of the update: its elements' parameter, gradient, moments and compensation, and where it lies.</summary>
public struct UpdateRun
{
    /// <summary>The parameter.</summary>
    public Lanes P;
    /// <summary>The gradient.</summary>
    public Lanes G;
    /// <summary>The first moment.</summary>
    public Lanes M;
    /// <summary>The per-element second moment (zeros where the rule keeps none per element).</summary>
    public Lanes V;
    /// <summary>The bf16 Kahan compensation (zeros without one).</summary>
    public Lanes C;
    /// <summary>The first moment's new values encoded (an fp8 moment's; empty for the others).</summary>
    public MomentCodes Codes;
    /// <summary>The run's first element within the tensor.</summary>
    public long At;
    /// <summary>The run's first element within its segment.</summary>
    public long Rel;
    /// <summary>Whether the run lies inside the segment at aligned addresses (vector moves).</summary>
    public bool Full;
}

/// <summary>
/// A lane's share of its segment's update with its group's two scalars: per element the rule's update
/// (<see cref="IStructuredRule.Update{T, M}"/>), the parameter update (Kahan or not), the telemetry's counts.
/// </summary>
/// <typeparam name="TOps">The accelerator's operations.</typeparam>
/// <typeparam name="M">The maths.</typeparam>
/// <typeparam name="TRule">The rule.</typeparam>
/// <typeparam name="TParam">The parameter's format.</typeparam>
/// <typeparam name="TGrad">The gradient's format.</typeparam>
/// <typeparam name="TMoment">The first moment's storage.</typeparam>
/// <typeparam name="TSecond">The per-element second moment's format (<see cref="NoFormat"/> where the rule keeps none).</typeparam>
/// <typeparam name="TUpdate">The parameter update (<see cref="NearestUpdate"/> or <see cref="KahanUpdate"/>).</typeparam>
/// <typeparam name="TDecay">Whether the configuration has weight decay.</typeparam>
/// <typeparam name="TTelemetry">Whether the step counts telemetry.</typeparam>
public struct UpdatePass<TOps, M, TRule, TParam, TGrad, TMoment, TSecond, TUpdate, TDecay, TTelemetry> : IRunPass<UpdateRun>
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
    private StructuredUpdateScalars<float, M> k;
    private readonly ulong param, grad, moment, second, compensation;
    private readonly long start, end;
    private readonly int lane;
    private readonly bool aligned;
    private MomentSegment segment;
    private float largest;
    private uint nonFinite;

    /// <summary>
    /// Lane <paramref name="lane"/>'s pass over segment <paramref name="s"/> of the tensor of <paramref name="row"/>, whose
    /// group's scalars are <paramref name="first"/> and <paramref name="second"/>.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public UpdatePass(ArrayView<byte> memory, in StructuredScalars sc, in StructuredRow row, in StructuredSegment s, int lane, float first, float second)
    {
        k = default;
        SetGroup(sc, row, first, second);
        param = row.Param;
        grad = row.Grad;
        moment = row.Moment;
        this.second = default(TRule).SecondPerElement ? row.Second : 0ul;
        compensation = default(TUpdate).HasCompensation ? row.Compensation : 0ul;
        start = s.Start;
        end = s.Start + s.Count;
        this.lane = lane;
        // Vector moves need 16-byte aligned bases and a segment starting on a whole run; every run offset keeps it.
        aligned = row.Aligned(default(TRule).SecondPerElement) && KernelIndex.Rem(start, Lanes.Count) == 0;
        default(TMoment).Begin<TOps>(memory, row, s, lane, out segment);
        largest = 0.0f;
        nonFinite = 0u;
    }

    /// <summary>Takes the group's scalars <paramref name="first"/> and <paramref name="second"/> (the loads never read them; the maths do).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void SetGroup(in StructuredScalars sc, in StructuredRow row, float first, float second)
    {
        TRule rule = default;
        k = rule.UpdateScalars<float, M>(sc, default(TDecay).IsOn, row.Decays != 0, first, second);
    }

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Load(ArrayView<byte> memory, int u, out UpdateRun run)
    {
        var rel = StructuredWarp.RunAt(u, lane);
        var at = start + rel;
        LoadRun(memory, at, rel, aligned && at + Lanes.Count <= end, out run);
    }

    /// <summary>
    /// Loads the lane's run <paramref name="u"/>, which lies inside the segment at aligned addresses (a segment of whole
    /// runs): vector loads only.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void LoadWhole(ArrayView<byte> memory, int u, out UpdateRun run)
    {
        var rel = StructuredWarp.RunAt(u, lane);
        LoadRun(memory, start + rel, rel, true, out run);
    }

    /// <summary>Whether the lane's run <paramref name="u"/> starts inside the segment.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public readonly bool Inside(int u) => start + StructuredWarp.RunAt(u, lane) < end;

    /// <summary>Loads every buffer's run at element <paramref name="at"/>, as vectors or element by element as <paramref name="full"/> says.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private readonly void LoadRun(ArrayView<byte> memory, long at, long rel, bool full, out UpdateRun run)
    {
        run.At = at;
        run.Rel = rel;
        run.Full = full;
        default(TParam).Load<TOps>(memory, param, 0, at, end, full, out run.P);
        default(TGrad).Load<TOps>(memory, grad, 0, at, end, full, out run.G);
        default(TMoment).Load<TOps>(memory, segment, moment, at, rel, end, full, out run.M);
        default(TSecond).Load<TOps>(memory, second, 0, at, end, full, out run.V);
        run.C = default;
        run.Codes = default;
        if (default(TUpdate).HasCompensation) default(Bf16Format).Load<TOps>(memory, compensation, 0, at, end, full, out run.C);
    }

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Finish(ArrayView<byte> memory, ref UpdateRun run)
    {
        segment.Claim(Compute(ref run));
        Store(memory, ref run);
    }

    /// <summary>Gives the slot to the first of the segment's blocks in <paramref name="needs"/> (a block kernel's runs, all computed).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Claim(uint needs) => segment.Claim(needs);

    /// <summary>
    /// A loaded run's maths and its first moment's encoding; gives the run's blocks that need the moment's slot (bits by
    /// index in the segment).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public uint Compute(ref UpdateRun run)
    {
        if (Past(run)) return 0u;
        var at = run.At;
        Element(ref run.P.E0, run.G.E0, ref run.M.E0, ref run.V.E0, ref run.C.E0, at < end);
        Element(ref run.P.E1, run.G.E1, ref run.M.E1, ref run.V.E1, ref run.C.E1, at + 1 < end);
        Element(ref run.P.E2, run.G.E2, ref run.M.E2, ref run.V.E2, ref run.C.E2, at + 2 < end);
        Element(ref run.P.E3, run.G.E3, ref run.M.E3, ref run.V.E3, ref run.C.E3, at + 3 < end);
        Element(ref run.P.E4, run.G.E4, ref run.M.E4, ref run.V.E4, ref run.C.E4, at + 4 < end);
        Element(ref run.P.E5, run.G.E5, ref run.M.E5, ref run.V.E5, ref run.C.E5, at + 5 < end);
        Element(ref run.P.E6, run.G.E6, ref run.M.E6, ref run.V.E6, ref run.C.E6, at + 6 < end);
        Element(ref run.P.E7, run.G.E7, ref run.M.E7, ref run.V.E7, ref run.C.E7, at + 7 < end);
        return default(TMoment).Encode<TOps>(run.Rel, start, end, lane, run.M, out run.Codes);
    }

    /// <summary>Stores a computed run (the moment's slot claimed).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Store(ArrayView<byte> memory, ref UpdateRun run)
    {
        if (Past(run)) return;
        var at = run.At;
        default(TParam).Store<TOps>(memory, param, 0, at, end, run.Full, run.P);
        default(TMoment).Store<TOps>(memory, ref segment, moment, at, run.Rel, start, end, run.Full, lane, run.M, run.Codes);
        default(TSecond).Store<TOps>(memory, second, 0, at, end, run.Full, run.V);
        if (default(TUpdate).HasCompensation) default(Bf16Format).Store<TOps>(memory, compensation, 0, at, end, run.Full, run.C);
    }

    /// <summary>Whether a run has nothing to compute or store: past the end, unless the moment's store needs every lane of the warp.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private readonly bool Past(in UpdateRun run) => run.At >= end && !default(TMoment).WarpWide;

    /// <summary>
    /// Adds the warp's counts to tensor <paramref name="tensor"/>'s telemetry counters at <paramref name="telemetry"/>: the
    /// lanes' counts gathered first, one atomic per counter and warp (every lane of the warp calls it).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public readonly void Report(ArrayView<byte> memory, ulong telemetry, long tensor)
    {
        if (!default(TTelemetry).IsOn) return;
        // largest is a maximum of magnitudes from +0 (the maths' Max drops NaN): its bits order as unsigned integers.
        var top = default(TOps).WarpMax(Interop.FloatAsInt(largest));
        var bad = StructuredWarp.Total(nonFinite);
        var fallbacks = StructuredWarp.Total(segment.Fallbacks);
        var overflows = StructuredWarp.Total(segment.Overflows);
        if (Warp.LaneIdx != 0) return;
        var counters = telemetry + (ulong)(tensor * StructuredTelemetry.Words) * sizeof(uint);
        if (top != 0u) Atomic.Max(ref Counter(memory, counters, StructuredTelemetry.MaxAbsUpdateWord), top);
        if (bad != 0u) Atomic.Add(ref Counter(memory, counters, StructuredTelemetry.NonFiniteWord), bad);
        if (fallbacks != 0u) Atomic.Add(ref Counter(memory, counters, StructuredTelemetry.FallbacksWord), fallbacks);
        if (overflows != 0u) Atomic.Add(ref Counter(memory, counters, StructuredTelemetry.OverflowsWord), overflows);
    }

    /// <summary>One element: the rule's update, the telemetry's counts (elements inside the segment only), the parameter update.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void Element(ref float p, float g, ref float m, ref float v, ref float c, bool inside)
    {
        var old = p;
        default(TRule).Update(k, ref p, g, ref m, ref v);
        if (default(TTelemetry).IsOn && inside)
        {
            // p is the maths' fused multiply-add, so p - old is a plain subtraction, never contracted.
            largest = default(M).Max(largest, Math.Abs(p - old));
            if (!(Math.Abs(g) <= float.MaxValue)) nonFinite++;
        }
        p = default(TUpdate).Apply<TOps>(old, p, ref c, 0u, 0);
    }

    /// <summary>Counter <paramref name="word"/> of a tensor's counters.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ref uint Counter(ArrayView<byte> memory, ulong counters, int word) =>
        ref DeviceMemory.At<uint>(memory, counters + (ulong)word * sizeof(uint));
}
