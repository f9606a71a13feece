using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using ILGPU;
using S3gd.Gpu.Structured;

namespace S3gd.Gpu.Kernels;

/// <summary>One tensor's row of a structured plan's device table: its buffers' addresses (0 where absent) and its group length.</summary>
[StructLayout(LayoutKind.Sequential)]
public struct StructuredRow
{
    /// <summary>The parameter.</summary>
    public ulong Param;
    /// <summary>The gradient.</summary>
    public ulong Grad;
    /// <summary>The first moment's codes.</summary>
    public ulong Moment;
    /// <summary>The second moment: StableAdamW's exp_avg_sq, Adam-mini's vmean (one float32 per group).</summary>
    public ulong Second;
    /// <summary>The bf16 Kahan compensation.</summary>
    public ulong Compensation;
    /// <summary>Elements of a group: StableAdamW the tensor's length, Adam-mini its block length.</summary>
    public long GroupLength;
    /// <summary>1 where the tensor's parameters decay (Adam-mini's partition), else 0.</summary>
    public long Decays;
    /// <summary>An fp8 first moment's block words (float32, <see cref="MomentFallback"/>).</summary>
    public ulong MomentWords;
    /// <summary>An fp8 first moment's bf16 slots, one per segment.</summary>
    public ulong MomentSlots;

    /// <summary>
    /// Whether the element buffers' bases are 16-byte aligned, as the runs' vector moves need (the second moment counts
    /// where it is kept <paramref name="perElement"/>; an absent buffer's address is 0).
    /// </summary>
    public readonly bool Aligned(bool perElement) => ((Param | Grad | Moment | (perElement ? Second : 0ul) | Compensation) & 15ul) == 0ul;
}

/// <summary>One segment of a structured plan's device table (<see cref="StructuredLayout"/>).</summary>
[StructLayout(LayoutKind.Sequential)]
public struct StructuredSegment
{
    /// <summary>Its tensor.</summary>
    public long Tensor;
    /// <summary>Its group.</summary>
    public long Group;
    /// <summary>Its first element within the tensor.</summary>
    public long Start;
    /// <summary>Its elements (1 to <see cref="StructuredLayout.Chunk"/>).</summary>
    public long Count;
    /// <summary>Its group's index among its tensor's groups (Adam-mini: the vmean element), Start / the group length.</summary>
    public long Local;
    /// <summary>Its first element within its group, Start % the group length (a multiple of <see cref="StructuredLayout.Chunk"/>).</summary>
    public long Offset;
}

/// <summary>One group of a structured plan's device table (<see cref="StructuredLayout"/>).</summary>
[StructLayout(LayoutKind.Sequential)]
public struct StructuredGroup
{
    /// <summary>Its tensor.</summary>
    public long Tensor;
    /// <summary>Its index among its tensor's groups (Adam-mini: the vmean element).</summary>
    public long Local;
    /// <summary>Its first segment.</summary>
    public long FirstSegment;
    /// <summary>Its segments.</summary>
    public long Segments;
}

/// <summary>The arguments of every structured kernel besides the address space.</summary>
[StructLayout(LayoutKind.Sequential)]
public struct StructuredArgs
{
    /// <summary>Address of the rows (<see cref="StructuredRow"/> per tensor).</summary>
    public ulong Rows;
    /// <summary>Address of the launch's entries: its segments (<see cref="StructuredSegment"/>), or the finalize's groups (<see cref="StructuredGroup"/>).</summary>
    public ulong Entries;
    /// <summary>Address of the partial sums (a float32 per split segment).</summary>
    public ulong Partials;
    /// <summary>Address of the groups' scalars (two float32 per split group).</summary>
    public ulong GroupOut;
    /// <summary>Address of the telemetry counters (<see cref="StructuredTelemetry.Words"/> uint32 per tensor), or 0.</summary>
    public ulong Telemetry;
    /// <summary>The launch's entries: one warp each (Update, Whole) or a thread block each (Reduce, Finalize, WholeBlock; two in UpdateFlat).</summary>
    public int Count;
    /// <summary>The step's scalars.</summary>
    public StructuredScalars Scalars;
}

/// <summary>Reads a structured plan's device table word by word (its entries' sizes are not all powers of two).</summary>
public static class StructuredTable
{
    /// <summary>Tensor <paramref name="t"/>'s row.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static StructuredRow Row(ArrayView<byte> memory, ulong rows, long t)
    {
        var a = rows + (ulong)t * (ulong)Interop.SizeOf<StructuredRow>();
        return new()
        {
            Param = DeviceMemory.Word(memory, a, 0),
            Grad = DeviceMemory.Word(memory, a, 1),
            Moment = DeviceMemory.Word(memory, a, 2),
            Second = DeviceMemory.Word(memory, a, 3),
            Compensation = DeviceMemory.Word(memory, a, 4),
            GroupLength = (long)DeviceMemory.Word(memory, a, 5),
            Decays = (long)DeviceMemory.Word(memory, a, 6),
            MomentWords = DeviceMemory.Word(memory, a, 7),
            MomentSlots = DeviceMemory.Word(memory, a, 8),
        };
    }

    /// <summary>Segment <paramref name="s"/> of the segments at <paramref name="segments"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static StructuredSegment Segment(ArrayView<byte> memory, ulong segments, long s)
    {
        var a = segments + (ulong)s * (ulong)Interop.SizeOf<StructuredSegment>();
        return new()
        {
            Tensor = (long)DeviceMemory.Word(memory, a, 0),
            Group = (long)DeviceMemory.Word(memory, a, 1),
            Start = (long)DeviceMemory.Word(memory, a, 2),
            Count = (long)DeviceMemory.Word(memory, a, 3),
            Local = (long)DeviceMemory.Word(memory, a, 4),
            Offset = (long)DeviceMemory.Word(memory, a, 5),
        };
    }

    /// <summary>Group <paramref name="q"/> of the groups at <paramref name="groups"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static StructuredGroup Group(ArrayView<byte> memory, ulong groups, long q)
    {
        var a = groups + (ulong)q * (ulong)Interop.SizeOf<StructuredGroup>();
        return new()
        {
            Tensor = (long)DeviceMemory.Word(memory, a, 0),
            Local = (long)DeviceMemory.Word(memory, a, 1),
            FirstSegment = (long)DeviceMemory.Word(memory, a, 2),
            Segments = (long)DeviceMemory.Word(memory, a, 3),
        };
    }
}
