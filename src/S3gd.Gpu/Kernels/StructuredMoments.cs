using System.Runtime.CompilerServices;
using ILGPU;
using S3gd.Gpu.Structured;

namespace S3gd.Gpu.Kernels;

/// <summary>What a lane keeps of its segment's fp8 first moment between runs (<see cref="Fp8FallbackMoment"/>; other moments leave it empty).</summary>
public struct MomentSegment
{
    /// <summary>Address of the segment's first block word.</summary>
    public ulong Words;
    /// <summary>Address of the segment's bf16 slot.</summary>
    public ulong Slot;
    /// <summary>The lane's eight slot values as the segment started, before any block could take the slot.</summary>
    public Lanes Old;
    /// <summary>The block of the segment that takes the slot this step, as the bit of its index in the segment (0: none yet).</summary>
    public uint Owner;
    /// <summary>The lane's blocks that fell back (zeros or bf16).</summary>
    public uint Fallbacks;
    /// <summary>Of those, the blocks that found the slot taken.</summary>
    public uint Overflows;

    /// <summary>
    /// Gives the slot to the first of the blocks in <paramref name="needs"/> (bits by index in the segment) unless a block
    /// has it: called with each run's blocks in element order (a warp's runs), or once with all of them (a block's).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Claim(uint needs) => Owner = Owner != 0u ? Owner : needs & (0u - needs);
}

/// <summary>A lane's run of an fp8 first moment encoded, before the slot's owner is known (<see cref="IStructuredMoment.Encode"/>).</summary>
public struct MomentCodes
{
    /// <summary>The eight codes, a byte each from the lowest.</summary>
    public Words2 Codes;
    /// <summary>The block's power-of-two scale.</summary>
    public float Scale;
    /// <summary>Whether the lane's block is all zeros.</summary>
    public bool Zeros;
    /// <summary>Whether the lane's block needs the fallback (its scale cannot represent it).</summary>
    public bool Wide;
}

/// <summary>
/// The first moment's storage in the structured update: loads and stores of a lane's run of <see cref="Lanes.Count"/>
/// elements, with what the lane keeps of its segment (<see cref="MomentSegment"/>).
/// </summary>
public interface IStructuredMoment
{
    /// <summary>
    /// Whether the warp kernel <see cref="StructuredKernels.Whole"/> asks for the update's buffers before its reduction
    /// (a tuning choice, measured on the H100 on GPT-2's shapes, tools/device/README.md: the fp8 moment's update, whose
    /// encode leaves its loads' latency exposed, gains 2%; the plain moments' update runs near the copy's rate and loses 6%
    /// to the extra requests).
    /// </summary>
    bool Prefetches { get; }

    /// <summary>Whether every lane of the warp stores every run, its segment's end passed or not (the store's reductions and votes span the warp).</summary>
    bool WarpWide { get; }

    /// <summary>Starts lane <paramref name="lane"/>'s share of segment <paramref name="segment"/> of a tensor.</summary>
    void Begin<TOps>(ArrayView<byte> memory, in StructuredRow row, in StructuredSegment segment, int lane, out MomentSegment s) where TOps : struct, IKernelOps;

    /// <summary>Loads the run at element <paramref name="at"/> (<paramref name="rel"/> into the segment) of the moment at <paramref name="address"/>.</summary>
    void Load<TOps>(ArrayView<byte> memory, in MomentSegment s, ulong address, long at, long rel, long end, bool full, out Lanes m)
        where TOps : struct, IKernelOps;

    /// <summary>Asks for the run at element <paramref name="at"/> (<paramref name="rel"/> into segment <paramref name="segment"/>) of the moment at <paramref name="address"/> before its load.</summary>
    void Prefetch<TOps>(in StructuredRow row, in StructuredSegment segment, ulong address, long at, long rel) where TOps : struct, IKernelOps;

    /// <summary>
    /// Encodes the run's new values (the segment runs from <paramref name="start"/> to <paramref name="end"/>); gives the
    /// blocks of the run that need the segment's slot, as bits by their index in the segment (the same in every lane).
    /// </summary>
    uint Encode<TOps>(long rel, long start, long end, int lane, in Lanes m, out MomentCodes c) where TOps : struct, IKernelOps;

    /// <summary>Stores the encoded run, the slot's owner claimed (<see cref="MomentSegment.Claim"/>).</summary>
    void Store<TOps>(ArrayView<byte> memory, ref MomentSegment s, ulong address, long at, long rel, long start, long end, bool full, int lane, in Lanes m, in MomentCodes c)
        where TOps : struct, IKernelOps;
}

/// <summary>A first moment in a plain storage format (fp32 or bf16).</summary>
/// <typeparam name="TFormat">The format.</typeparam>
public readonly struct PlainMoment<TFormat> : IStructuredMoment
    where TFormat : struct, IKernelFormat
{
    /// <inheritdoc />
    public bool Prefetches => false;

    /// <inheritdoc />
    public bool WarpWide => false;

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Begin<TOps>(ArrayView<byte> memory, in StructuredRow row, in StructuredSegment segment, int lane, out MomentSegment s) where TOps : struct, IKernelOps =>
        s = default;

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Load<TOps>(ArrayView<byte> memory, in MomentSegment s, ulong address, long at, long rel, long end, bool full, out Lanes m)
        where TOps : struct, IKernelOps =>
        default(TFormat).Load<TOps>(memory, address, 0, at, end, full, out m);

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Prefetch<TOps>(in StructuredRow row, in StructuredSegment segment, ulong address, long at, long rel) where TOps : struct, IKernelOps =>
        StructuredKernels.PrefetchRun<TOps>(address, at, default(TFormat).Bytes, rel == 0);

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public uint Encode<TOps>(long rel, long start, long end, int lane, in Lanes m, out MomentCodes c) where TOps : struct, IKernelOps
    {
        c = default;
        return 0u;
    }

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Store<TOps>(ArrayView<byte> memory, ref MomentSegment s, ulong address, long at, long rel, long start, long end, bool full, int lane, in Lanes m, in MomentCodes c)
        where TOps : struct, IKernelOps =>
        default(TFormat).Store<TOps>(memory, address, 0, at, end, full, m);
}

/// <summary>
/// Adam-mini's fp8 e4m3 first moment with bf16 fallback (<see cref="MomentFallback"/>, the spec's FallbackFp8): per block
/// of <see cref="MomentFallback.BlockSize"/> elements a word (its power-of-two scale, <see cref="E8M0Scale"/>'s as the
/// elementwise fp8 blocks', <see cref="MomentFallback.ZerosWord"/> or <see cref="MomentFallback.SlotWord"/>), per segment
/// one bf16 slot, taken by the segment's first block in element order that the fp8 scale cannot represent; a later one
/// keeps the plain scaled codes and counts as overflowed. A run of a lane is half a block: lanes 0-15 of the warp hold
/// one block of the warp's runs, lanes 16-31 the next, so a block's amax is a half warp's maximum and its flags are votes. The
/// quotient by the scale is the product by its exact inverse (the same float32 value, rounded once); the decoded
/// products and those feed only the maths' own operations or the fp8 conversion, so none is contracted.
/// </summary>
public readonly struct Fp8FallbackMoment : IStructuredMoment
{
    /// <summary>Lanes of a warp whose runs make one block.</summary>
    private const int HalfWarp = MomentFallback.BlockSize / Lanes.Count;

    /// <summary>The votes of the low half warp's lanes.</summary>
    private const uint LowLanes = (1u << HalfWarp) - 1u;

    /// <inheritdoc />
    public bool Prefetches => true;

    /// <inheritdoc />
    public bool WarpWide => true;

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Begin<TOps>(ArrayView<byte> memory, in StructuredRow row, in StructuredSegment segment, int lane, out MomentSegment s) where TOps : struct, IKernelOps
    {
        // The segment starts a run of whole blocks in its group and its slot (a multiple of the segment size in the group);
        // the table's group and offset spare the kernel a 64-bit division.
        s.Words = row.MomentWords + (ulong)MomentFallback.WordOf(segment.Local, segment.Offset, row.GroupLength) * sizeof(float);
        s.Slot = row.MomentSlots + (ulong)MomentFallback.SlotOf(segment.Local, segment.Offset, row.GroupLength) * sizeof(ushort);
        default(Bf16Format).Load<TOps>(memory, s.Slot, 0, SlotAt(lane), MomentFallback.BlockSize, true, out s.Old);
        s.Owner = 0u;
        s.Fallbacks = 0u;
        s.Overflows = 0u;
    }

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Load<TOps>(ArrayView<byte> memory, in MomentSegment s, ulong address, long at, long rel, long end, bool full, out Lanes m)
        where TOps : struct, IKernelOps
    {
        var codes = Fp8Format<E4M3>.LoadCodes(memory, address + (ulong)at, at, end, full);
        var word = at < end ? DeviceMemory.At<float>(memory, s.Words + (ulong)(rel / MomentFallback.BlockSize) * sizeof(float)) : MomentFallback.ZerosWord;
        Fp8Format<E4M3>.Decode<TOps>(codes, out var x);
        // Decided once per run (a run lies in one block), then a select or two per element, no branch.
        var slot = word == MomentFallback.SlotWord;
        var scaled = word != MomentFallback.ZerosWord;
        // Elements of the run inside the segment, as 32-bit (the comparisons per element are then one instruction each).
        var n = (int)Math.Max(Math.Min(end - at, Lanes.Count), 0L);
        m.E0 = Value(x.E0, s.Old.E0, word, slot, scaled, n > 0);
        m.E1 = Value(x.E1, s.Old.E1, word, slot, scaled, n > 1);
        m.E2 = Value(x.E2, s.Old.E2, word, slot, scaled, n > 2);
        m.E3 = Value(x.E3, s.Old.E3, word, slot, scaled, n > 3);
        m.E4 = Value(x.E4, s.Old.E4, word, slot, scaled, n > 4);
        m.E5 = Value(x.E5, s.Old.E5, word, slot, scaled, n > 5);
        m.E6 = Value(x.E6, s.Old.E6, word, slot, scaled, n > 6);
        m.E7 = Value(x.E7, s.Old.E7, word, slot, scaled, n > 7);
    }

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Prefetch<TOps>(in StructuredRow row, in StructuredSegment segment, ulong address, long at, long rel) where TOps : struct, IKernelOps
    {
        StructuredKernels.PrefetchRun<TOps>(address, at, sizeof(byte), rel == 0);
        // The segment's block words (at most 8 for a warp kernel's segment) from its first lane.
        if (rel == 0) default(TOps).Prefetch(row.MomentWords + (ulong)MomentFallback.WordOf(segment.Local, segment.Offset, row.GroupLength) * sizeof(float));
    }

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public uint Encode<TOps>(long rel, long start, long end, int lane, in Lanes m, out MomentCodes c) where TOps : struct, IKernelOps
    {
        TOps ops = default;
        // The half's amax: the maximumNumber of the |m| (NaN left out, as fmaxf leaves it out; +0 when all are NaN) as
        // float bits, which order as unsigned integers, so one maximum over the half warp gives it.
        var amax = ops.MaxNumber(
            ops.MaxNumber(ops.MaxNumber(ops.MaxNumber(Math.Abs(m.E0), Math.Abs(m.E1)), ops.MaxNumber(Math.Abs(m.E2), Math.Abs(m.E3))),
                ops.MaxNumber(ops.MaxNumber(Math.Abs(m.E4), Math.Abs(m.E5)), ops.MaxNumber(Math.Abs(m.E6), Math.Abs(m.E7)))),
            0.0f);
        var lowHalf = lane < HalfWarp;
        var e = E8M0Scale.Of(ops.HalfWarpMax(Interop.FloatAsInt(amax)), default(E4M3).Max);
        var inv = E8M0Scale.Inverse(e);
        Lanes q;
        q.E0 = m.E0 * inv; q.E1 = m.E1 * inv; q.E2 = m.E2 * inv; q.E3 = m.E3 * inv;
        q.E4 = m.E4 * inv; q.E5 = m.E5 * inv; q.E6 = m.E6 * inv; q.E7 = m.E7 * inv;
        var w = Fp8Format<E4M3>.Encode<TOps>(q);
        // Non-short-circuit | and & throughout the flags: no branch per element.
        var nonzero = m.E0 != 0.0f | m.E1 != 0.0f | m.E2 != 0.0f | m.E3 != 0.0f | m.E4 != 0.0f | m.E5 != 0.0f | m.E6 != 0.0f | m.E7 != 0.0f;
        var flushed = Flushed(m.E0, q.E0) | Flushed(m.E1, q.E1) | Flushed(m.E2, q.E2) | Flushed(m.E3, q.E3)
            | Flushed(m.E4, q.E4) | Flushed(m.E5, q.E5) | Flushed(m.E6, q.E6) | Flushed(m.E7, q.E7);
        // Votes of the warp's lanes, read for this lane's half.
        var halfLanes = lowHalf ? LowLanes : ~LowLanes;
        c.Codes = w;
        c.Scale = E8M0Scale.Scale(e);
        c.Zeros = (ops.Ballot(nonzero) & halfLanes) == 0u;
        // An infinite amax (E8M0's NaN scale) or a flushed element; no quotient saturates.
        c.Wide = !c.Zeros & (e == E8M0Scale.NaN | (ops.Ballot(flushed) & halfLanes) != 0u);
        // The run's two blocks (the low half's first) at their indices in the segment; a block exists when its first
        // element is in the segment.
        var needs = ops.Ballot(c.Wide & Valid(rel, start, end));
        return ((needs & 1u) | ((needs >> (HalfWarp - 1)) & 2u)) << (int)(rel / MomentFallback.BlockSize - (lowHalf ? 0 : 1));
    }

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Store<TOps>(ArrayView<byte> memory, ref MomentSegment s, ulong address, long at, long rel, long start, long end, bool full, int lane, in Lanes m, in MomentCodes c)
        where TOps : struct, IKernelOps
    {
        var block = rel / MomentFallback.BlockSize;
        var mine = ((s.Owner >> (int)block) & 1u) != 0u;
        // A block of zeros or one taking the slot stores zero codes.
        var takes = c.Wide & mine;
        var dropped = c.Zeros | takes;
        var w = c.Codes;
        w.X = dropped ? 0u : w.X;
        w.Y = dropped ? 0u : w.Y;
        var word = c.Zeros ? MomentFallback.ZerosWord : takes ? MomentFallback.SlotWord : c.Scale;
        // The whole slot is written, elements past a short block as bf16 +0 (their m is 0).
        if (takes) default(Bf16Format).Store<TOps>(memory, s.Slot, 0, SlotAt(lane), MomentFallback.BlockSize, true, m);
        Fp8Format<E4M3>.StoreCodes(memory, address + (ulong)at, at, end, full, w);
        if (Valid(rel, start, end) & KernelIndex.Rem(lane, HalfWarp) == 0)
        {
            DeviceMemory.At<float>(memory, s.Words + (ulong)block * sizeof(float)) = word;
            if (c.Zeros | c.Wide) s.Fallbacks++;
            if (c.Wide & !mine) s.Overflows++;
        }
    }

    /// <summary>Whether the lane's block (at <paramref name="rel"/> into the segment) exists: its first element is in the segment.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool Valid(long rel, long start, long end) => start + rel / MomentFallback.BlockSize * MomentFallback.BlockSize < end;

    /// <summary>The first of a lane's elements in its block and slot.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static long SlotAt(int lane) => KernelIndex.Rem(lane, HalfWarp) * Lanes.Count;

    /// <summary>
    /// One element as its block <paramref name="word"/> says: past the end +0, the slot's value (<paramref name="slot"/>),
    /// +0 for zeros (not <paramref name="scaled"/>), or the code's value times the scale. Non-short-circuit operators
    /// and flat selects: no branch.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float Value(float decoded, float old, float word, bool slot, bool scaled, bool inside)
    {
        // Past the end and for zeros the product is +0 * word = +0 (word is positive or 0 there).
        var v = inside & scaled ? decoded : 0.0f;
        var kept = inside ? old : 0.0f;
        return slot ? kept : v * word;
    }

    /// <summary>
    /// Whether a non-zero, non-NaN value <paramref name="x"/>'s code is ±0: its quotient <paramref name="q"/> by the
    /// scale rounds to zero in e4m3 (a NaN quotient, of a NaN scale, does not). Two ordered comparisons, no code bits.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool Flushed(float x, float q) => Math.Abs(x) > 0.0f & Math.Abs(q) <= E4M3.LargestFlushed;
}
