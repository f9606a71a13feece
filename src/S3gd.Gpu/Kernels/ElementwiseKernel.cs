using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using ILGPU;
using S3gd.Gpu.Cpu;
using S3gd.Gpu.Elementwise;
using S3gd.Gpu.Maths;

namespace S3gd.Gpu.Kernels;

/// <summary>One tensor's row of an elementwise plan's device table: its buffers' addresses (0 where absent) and its chunks.</summary>
[StructLayout(LayoutKind.Sequential)]
public struct ElementwiseRow
{
    /// <summary>The parameter.</summary>
    public ulong Param;
    /// <summary>The gradient.</summary>
    public ulong Grad;
    /// <summary>State slot 0.</summary>
    public ulong State0;
    /// <summary>State slot 1.</summary>
    public ulong State1;
    /// <summary>State slot 2.</summary>
    public ulong State2;
    /// <summary>Slot 0's block scales.</summary>
    public ulong Scales0;
    /// <summary>Slot 1's block scales.</summary>
    public ulong Scales1;
    /// <summary>Slot 2's block scales.</summary>
    public ulong Scales2;
    /// <summary>The bf16 Kahan compensation.</summary>
    public ulong Compensation;
    /// <summary>Elements of the tensor.</summary>
    public long Length;
    /// <summary>The tensor's first chunk (thread block) of the launch.</summary>
    public long FirstChunk;

    /// <summary>Whether the element buffers' bases are 16-byte aligned, as vector moves need (8 for fp8; 16 covers both; every group offset keeps it).</summary>
    public readonly bool Aligned => ((Param | Grad | State0 | State1 | State2 | Compensation) & 15ul) == 0ul;

    /// <summary>Whether the tensor has only whole groups: its length a multiple of <see cref="Lanes.Count"/>, its buffers <see cref="Aligned"/> (<see cref="WholeGroups"/>).</summary>
    public readonly bool Whole => KernelIndex.Rem(Length, Lanes.Count) == 0 && Aligned;
}

/// <summary>The elementwise kernel's arguments besides the address space.</summary>
[StructLayout(LayoutKind.Sequential)]
public struct ElementwiseArgs
{
    /// <summary>Address of the rows (<see cref="ElementwiseRow"/> per tensor).</summary>
    public ulong Rows;
    /// <summary>Address of each chunk's tensor (int32 per chunk).</summary>
    public ulong ChunkTensors;
    /// <summary>Address of the found-inf flag (a float32; non-zero makes the step a no-op), or 0 when none is read.</summary>
    public ulong FoundInf;
    /// <summary>The step's scalars.</summary>
    public StepScalars Scalars;
    /// <summary>
    /// A plan of one tensor: its row, read from the launch's parameters instead of the device table (Length 0 in a plan of
    /// several), so no block waits on the two dependent table loads before its own. (ptxas 13.0 also gives the kernel fewer
    /// registers with it, for one tensor or several: the whole-groups S3GD fp8 kernel 32 against 40, AdamW bf16 48 against 56.)
    /// </summary>
    public ElementwiseRow Single;
}

/// <summary>How many groups of <see cref="Lanes.Count"/> elements each thread of the elementwise kernel moves.</summary>
public interface IUnroll
{
    /// <summary>Groups per thread (1, 2 or 4): all their loads are issued before any maths.</summary>
    int Groups { get; }
}

/// <summary>One group per thread.</summary>
public readonly struct Unroll1 : IUnroll
{
    /// <inheritdoc />
    public int Groups => 1;
}

/// <summary>Two groups per thread.</summary>
public readonly struct Unroll2 : IUnroll
{
    /// <inheritdoc />
    public int Groups => 2;
}

/// <summary>Four groups per thread.</summary>
public readonly struct Unroll4 : IUnroll
{
    /// <inheritdoc />
    public int Groups => 4;
}

/// <summary>Which groups an elementwise launch may hold, a type parameter of the kernel.</summary>
public interface IGroupShape
{
    /// <summary>
    /// Whether a group may be cut by its tensor's end or lie at an unaligned address (moved element by element); without
    /// such groups every group is whole or past its tensor's end, and the kernel carries no element-by-element loads,
    /// whose addresses and predicates would otherwise set its register count.
    /// </summary>
    bool Tails { get; }
}

/// <summary>Every tensor's buffers 16-byte aligned and its length a multiple of <see cref="Lanes.Count"/> (<see cref="ElementwiseRow.Whole"/>).</summary>
public readonly struct WholeGroups : IGroupShape
{
    /// <inheritdoc />
    public bool Tails => false;
}

/// <summary>Any tensors.</summary>
public readonly struct AnyGroups : IGroupShape
{
    /// <inheritdoc />
    public bool Tails => true;
}

/// <summary>
/// The fused elementwise step over many tensors in one launch, as PyTorch's multi_tensor_apply: each tensor is cut into
/// chunks, one thread block each (the host's <see cref="ElementwiseChunks"/>); a thread moves its <see cref="IUnroll"/>'s
/// groups of <see cref="Lanes.Count"/> consecutive elements of every buffer (16-byte vectors where the buffers are
/// aligned; group u of thread t at (u*Threads + t)*8 in the chunk), all loads first, then runs the rule's maths on each
/// element (<see cref="ElementwiseStep"/>), then stores. One pass over memory. Specialised by type: the accelerator's
/// operations, the maths, the rule and the gradient's preparation, each buffer's storage format, the parameter update,
/// the groups per thread and the groups' shape.
/// </summary>
public static class ElementwiseKernel
{
    /// <summary>Threads per block.</summary>
    public const int Threads = 256;

    /// <summary>Elements per block with <paramref name="groups"/> groups per thread: the chunk a tensor is cut into.</summary>
    public static int Chunk(int groups) => Threads * Lanes.Count * groups;

    /// <summary>The kernel: the block's chunk of its tensor.</summary>
    public static void Step<TOps, M, TRule, TPrep, TParam, TGrad, TState0, TState1, TState2, TUpdate, TUnroll, TShape>(ArrayView<byte> memory, ElementwiseArgs args)
        where TOps : struct, IKernelOps
        where M : struct, IMaths<float>
        where TRule : struct, IElementwiseRule
        where TPrep : struct, IGradientPrep
        where TParam : struct, IKernelFormat
        where TGrad : struct, IKernelFormat
        where TState0 : struct, IKernelFormat
        where TState1 : struct, IKernelFormat
        where TState2 : struct, IKernelFormat
        where TUpdate : struct, IKernelParamUpdate
        where TUnroll : struct, IUnroll
        where TShape : struct, IGroupShape
    {
        if (args.FoundInf != 0 && DeviceMemory.At<float>(memory, args.FoundInf) != 0.0f) return;
        var chunk = Grid.IdxX;
        var single = args.Single.Length != 0;
        var t = single ? 0 : DeviceMemory.At<int>(memory, args.ChunkTensors + (ulong)chunk * 4);
        var row = single ? args.Single : Row(memory, args.Rows + (ulong)t * (ulong)Interop.SizeOf<ElementwiseRow>());
        var groups = default(TUnroll).Groups;
        var first = (chunk - row.FirstChunk) * Chunk(groups) + (long)Group.IdxX * Lanes.Count;
        var aligned = row.Aligned;
        const long stride = Threads * Lanes.Count;

        Load<TOps, TParam, TGrad, TState0, TState1, TState2, TUpdate, TShape>(memory, row, first, aligned, out var a);
        var b = a;
        var c = a;
        var d = a;
        if (groups >= 2) Load<TOps, TParam, TGrad, TState0, TState1, TState2, TUpdate, TShape>(memory, row, first + stride, aligned, out b);
        if (groups >= 4)
        {
            Load<TOps, TParam, TGrad, TState0, TState1, TState2, TUpdate, TShape>(memory, row, first + 2 * stride, aligned, out c);
            Load<TOps, TParam, TGrad, TState0, TState1, TState2, TUpdate, TShape>(memory, row, first + 3 * stride, aligned, out d);
        }

        var sc = new ElementwiseScalars<float, M>(args.Scalars);
        var stream = StochasticRounding.Stream(args.Scalars.Seed, args.Scalars.Step, (uint)t);
        Compute<TOps, M, TRule, TPrep, TParam, TGrad, TState0, TState1, TState2, TUpdate>(sc, stream, ref a);
        if (groups >= 2) Compute<TOps, M, TRule, TPrep, TParam, TGrad, TState0, TState1, TState2, TUpdate>(sc, stream, ref b);
        if (groups >= 4)
        {
            Compute<TOps, M, TRule, TPrep, TParam, TGrad, TState0, TState1, TState2, TUpdate>(sc, stream, ref c);
            Compute<TOps, M, TRule, TPrep, TParam, TGrad, TState0, TState1, TState2, TUpdate>(sc, stream, ref d);
        }

        Store<TOps, TParam, TState0, TState1, TState2, TUpdate>(memory, row, a);
        if (groups >= 2) Store<TOps, TParam, TState0, TState1, TState2, TUpdate>(memory, row, b);
        if (groups >= 4)
        {
            Store<TOps, TParam, TState0, TState1, TState2, TUpdate>(memory, row, c);
            Store<TOps, TParam, TState0, TState1, TState2, TUpdate>(memory, row, d);
        }
    }

    /// <summary>One thread's group of every buffer as float32, where it lies and whether it moves as vectors.</summary>
    private struct Values
    {
        /// <summary>Parameter, gradient, the three state slots and the Kahan compensation.</summary>
        public Lanes P, G, S0, S1, S2, C;

        /// <summary>The group's first element in its tensor.</summary>
        public long At;

        /// <summary>The tensor's length.</summary>
        public long End;

        /// <summary>Whether the group is aligned and inside the tensor (moved as vectors).</summary>
        public bool Full;
    }

    /// <summary>Loads the group at element <paramref name="at"/> of every buffer.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Load<TOps, TParam, TGrad, TState0, TState1, TState2, TUpdate, TShape>(
        ArrayView<byte> memory, in ElementwiseRow row, long at, bool aligned, out Values x)
        where TOps : struct, IKernelOps
        where TParam : struct, IKernelFormat
        where TGrad : struct, IKernelFormat
        where TState0 : struct, IKernelFormat
        where TState1 : struct, IKernelFormat
        where TState2 : struct, IKernelFormat
        where TUpdate : struct, IKernelParamUpdate
        where TShape : struct, IGroupShape
    {
        var n = row.Length;
        var tails = default(TShape).Tails;
        var full = tails ? aligned && at + Lanes.Count <= n : at < n;
        x.At = at;
        x.End = n;
        x.Full = full;
        if (!tails)
        {
            // Whole groups: a group past the end reads as zeros (and stores nothing); the others load as vectors, with a
            // constant `full` that leaves the formats' element-by-element loads out of the kernel.
            if (!full)
            {
                x.P = default; x.G = default; x.S0 = default; x.S1 = default; x.S2 = default; x.C = default;
                return;
            }
            full = true;
        }
        default(TParam).Load<TOps>(memory, row.Param, 0, at, n, full, out x.P);
        default(TGrad).Load<TOps>(memory, row.Grad, 0, at, n, full, out x.G);
        default(TState0).Load<TOps>(memory, row.State0, row.Scales0, at, n, full, out x.S0);
        default(TState1).Load<TOps>(memory, row.State1, row.Scales1, at, n, full, out x.S1);
        default(TState2).Load<TOps>(memory, row.State2, row.Scales2, at, n, full, out x.S2);
        x.C = default;
        if (default(TUpdate).HasCompensation) default(Bf16Format).Load<TOps>(memory, row.Compensation, 0, at, n, full, out x.C);
    }

    /// <summary>The step of a group's eight elements.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Compute<TOps, M, TRule, TPrep, TParam, TGrad, TState0, TState1, TState2, TUpdate>(in ElementwiseScalars<float, M> sc, uint stream, ref Values x)
        where TOps : struct, IKernelOps
        where M : struct, IMaths<float>
        where TRule : struct, IElementwiseRule
        where TPrep : struct, IGradientPrep
        where TParam : struct, IKernelFormat
        where TGrad : struct, IKernelFormat
        where TState0 : struct, IKernelFormat
        where TState1 : struct, IKernelFormat
        where TState2 : struct, IKernelFormat
        where TUpdate : struct, IKernelParamUpdate
    {
        var at = x.At;
        Element<TOps, M, TRule, TPrep, TParam, TGrad, TState0, TState1, TState2, TUpdate>(sc, ref x.P.E0, x.G.E0, ref x.S0.E0, ref x.S1.E0, ref x.S2.E0, ref x.C.E0, stream, at);
        Element<TOps, M, TRule, TPrep, TParam, TGrad, TState0, TState1, TState2, TUpdate>(sc, ref x.P.E1, x.G.E1, ref x.S0.E1, ref x.S1.E1, ref x.S2.E1, ref x.C.E1, stream, at + 1);
        Element<TOps, M, TRule, TPrep, TParam, TGrad, TState0, TState1, TState2, TUpdate>(sc, ref x.P.E2, x.G.E2, ref x.S0.E2, ref x.S1.E2, ref x.S2.E2, ref x.C.E2, stream, at + 2);
        Element<TOps, M, TRule, TPrep, TParam, TGrad, TState0, TState1, TState2, TUpdate>(sc, ref x.P.E3, x.G.E3, ref x.S0.E3, ref x.S1.E3, ref x.S2.E3, ref x.C.E3, stream, at + 3);
        Element<TOps, M, TRule, TPrep, TParam, TGrad, TState0, TState1, TState2, TUpdate>(sc, ref x.P.E4, x.G.E4, ref x.S0.E4, ref x.S1.E4, ref x.S2.E4, ref x.C.E4, stream, at + 4);
        Element<TOps, M, TRule, TPrep, TParam, TGrad, TState0, TState1, TState2, TUpdate>(sc, ref x.P.E5, x.G.E5, ref x.S0.E5, ref x.S1.E5, ref x.S2.E5, ref x.C.E5, stream, at + 5);
        Element<TOps, M, TRule, TPrep, TParam, TGrad, TState0, TState1, TState2, TUpdate>(sc, ref x.P.E6, x.G.E6, ref x.S0.E6, ref x.S1.E6, ref x.S2.E6, ref x.C.E6, stream, at + 6);
        Element<TOps, M, TRule, TPrep, TParam, TGrad, TState0, TState1, TState2, TUpdate>(sc, ref x.P.E7, x.G.E7, ref x.S0.E7, ref x.S1.E7, ref x.S2.E7, ref x.C.E7, stream, at + 7);
    }

    /// <summary>Stores a group to every buffer the step writes.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store<TOps, TParam, TState0, TState1, TState2, TUpdate>(ArrayView<byte> memory, in ElementwiseRow row, in Values x)
        where TOps : struct, IKernelOps
        where TParam : struct, IKernelFormat
        where TState0 : struct, IKernelFormat
        where TState1 : struct, IKernelFormat
        where TState2 : struct, IKernelFormat
        where TUpdate : struct, IKernelParamUpdate
    {
        default(TParam).Store<TOps>(memory, row.Param, 0, x.At, x.End, x.Full, x.P);
        if (default(TUpdate).HasCompensation) default(Bf16Format).Store<TOps>(memory, row.Compensation, 0, x.At, x.End, x.Full, x.C);
        default(TState0).Store<TOps>(memory, row.State0, row.Scales0, x.At, x.End, x.Full, x.S0);
        default(TState1).Store<TOps>(memory, row.State1, row.Scales1, x.At, x.End, x.Full, x.S1);
        default(TState2).Store<TOps>(memory, row.State2, row.Scales2, x.At, x.End, x.Full, x.S2);
    }

    /// <summary>A tensor's row, word by word.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ElementwiseRow Row(ArrayView<byte> memory, ulong address) => new()
    {
        Param = DeviceMemory.Word(memory, address, 0),
        Grad = DeviceMemory.Word(memory, address, 1),
        State0 = DeviceMemory.Word(memory, address, 2),
        State1 = DeviceMemory.Word(memory, address, 3),
        State2 = DeviceMemory.Word(memory, address, 4),
        Scales0 = DeviceMemory.Word(memory, address, 5),
        Scales1 = DeviceMemory.Word(memory, address, 6),
        Scales2 = DeviceMemory.Word(memory, address, 7),
        Compensation = DeviceMemory.Word(memory, address, 8),
        Length = (long)DeviceMemory.Word(memory, address, 9),
        FirstChunk = (long)DeviceMemory.Word(memory, address, 10),
    };

    /// <summary>
    /// One element: the loaded values as the maths sees them (rounded to bf16 in bf16 maths unless their format holds only
    /// bf16 values), the step, the parameter update.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Element<TOps, M, TRule, TPrep, TParam, TGrad, TState0, TState1, TState2, TUpdate>(
        in ElementwiseScalars<float, M> sc, ref float p, float g, ref float s0, ref float s1, ref float s2, ref float c, uint stream, long index)
        where TOps : struct, IKernelOps
        where M : struct, IMaths<float>
        where TRule : struct, IElementwiseRule
        where TPrep : struct, IGradientPrep
        where TParam : struct, IKernelFormat
        where TGrad : struct, IKernelFormat
        where TState0 : struct, IKernelFormat
        where TState1 : struct, IKernelFormat
        where TState2 : struct, IKernelFormat
        where TUpdate : struct, IKernelParamUpdate
    {
        M m = default;
        var old = default(TParam).Bf16Exact ? p : m.Load(p);
        var updated = old;
        if (!default(TState0).Bf16Exact) s0 = m.Load(s0);
        if (!default(TState1).Bf16Exact) s1 = m.Load(s1);
        if (!default(TState2).Bf16Exact) s2 = m.Load(s2);
        ElementwiseStep.Element<float, M, TPrep, TRule>(sc, ref updated, default(TGrad).Bf16Exact ? g : m.Load(g), ref s0, ref s1, ref s2);
        p = default(TUpdate).Apply<TOps>(old, updated, ref c, stream, index);
    }
}
