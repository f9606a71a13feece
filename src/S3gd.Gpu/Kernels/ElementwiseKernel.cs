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
}

/// <summary>
/// The fused elementwise step over many tensors in one launch, as PyTorch's multi_tensor_apply: each tensor is cut into
/// chunks of <see cref="Chunk"/> elements, one thread block each (the host's <see cref="ElementwiseChunks"/>); a thread
/// moves one group of <see cref="Lanes.Count"/> consecutive elements of every buffer (16-byte vectors where the buffers are
/// aligned), runs the rule's maths on each element (<see cref="ElementwiseStep"/>), and stores. One pass over memory.
/// Specialised by type: the accelerator's operations, the maths, the rule and the gradient's preparation, each buffer's
/// storage format and the parameter update.
/// </summary>
public static class ElementwiseKernel
{
    /// <summary>Threads per block.</summary>
    public const int Threads = 256;

    /// <summary>Elements per block: one group per thread.</summary>
    public const int Chunk = Threads * Lanes.Count;

    /// <summary>The kernel: the block's chunk of its tensor.</summary>
    public static void Step<TOps, M, TRule, TPrep, TParam, TGrad, TState0, TState1, TState2, TUpdate>(ArrayView<byte> memory, ElementwiseArgs args)
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
        if (args.FoundInf != 0 && DeviceMemory.At<float>(memory, args.FoundInf) != 0.0f) return;
        var chunk = Grid.IdxX;
        var t = DeviceMemory.At<int>(memory, args.ChunkTensors + (ulong)chunk * 4);
        var row = Row(memory, args.Rows + (ulong)t * (ulong)Interop.SizeOf<ElementwiseRow>());
        var n = row.Length;
        var at = (chunk - row.FirstChunk) * Chunk + (long)Group.IdxX * Lanes.Count;
        // Vector moves need 16-byte aligned bases (8 for fp8; 16 covers both); every group offset keeps the alignment.
        var aligned = ((row.Param | row.Grad | row.State0 | row.State1 | row.State2 | row.Compensation) & 15ul) == 0ul;
        var full = aligned && at + Lanes.Count <= n;

        default(TParam).Load<TOps>(memory, row.Param, 0, at, n, full, out var p);
        default(TGrad).Load<TOps>(memory, row.Grad, 0, at, n, full, out var g);
        default(TState0).Load<TOps>(memory, row.State0, row.Scales0, at, n, full, out var s0);
        default(TState1).Load<TOps>(memory, row.State1, row.Scales1, at, n, full, out var s1);
        default(TState2).Load<TOps>(memory, row.State2, row.Scales2, at, n, full, out var s2);
        Lanes c = default;
        if (default(TUpdate).HasCompensation) default(Bf16Format).Load<TOps>(memory, row.Compensation, 0, at, n, full, out c);

        var sc = new ElementwiseScalars<float, M>(args.Scalars);
        var stream = StochasticRounding.Stream(args.Scalars.Seed, args.Scalars.Step, (uint)t);
        Element<TOps, M, TRule, TPrep, TUpdate>(sc, ref p.E0, g.E0, ref s0.E0, ref s1.E0, ref s2.E0, ref c.E0, stream, at);
        Element<TOps, M, TRule, TPrep, TUpdate>(sc, ref p.E1, g.E1, ref s0.E1, ref s1.E1, ref s2.E1, ref c.E1, stream, at + 1);
        Element<TOps, M, TRule, TPrep, TUpdate>(sc, ref p.E2, g.E2, ref s0.E2, ref s1.E2, ref s2.E2, ref c.E2, stream, at + 2);
        Element<TOps, M, TRule, TPrep, TUpdate>(sc, ref p.E3, g.E3, ref s0.E3, ref s1.E3, ref s2.E3, ref c.E3, stream, at + 3);
        Element<TOps, M, TRule, TPrep, TUpdate>(sc, ref p.E4, g.E4, ref s0.E4, ref s1.E4, ref s2.E4, ref c.E4, stream, at + 4);
        Element<TOps, M, TRule, TPrep, TUpdate>(sc, ref p.E5, g.E5, ref s0.E5, ref s1.E5, ref s2.E5, ref c.E5, stream, at + 5);
        Element<TOps, M, TRule, TPrep, TUpdate>(sc, ref p.E6, g.E6, ref s0.E6, ref s1.E6, ref s2.E6, ref c.E6, stream, at + 6);
        Element<TOps, M, TRule, TPrep, TUpdate>(sc, ref p.E7, g.E7, ref s0.E7, ref s1.E7, ref s2.E7, ref c.E7, stream, at + 7);

        default(TParam).Store<TOps>(memory, row.Param, 0, at, n, full, p);
        if (default(TUpdate).HasCompensation) default(Bf16Format).Store<TOps>(memory, row.Compensation, 0, at, n, full, c);
        default(TState0).Store<TOps>(memory, row.State0, row.Scales0, at, n, full, s0);
        default(TState1).Store<TOps>(memory, row.State1, row.Scales1, at, n, full, s1);
        default(TState2).Store<TOps>(memory, row.State2, row.Scales2, at, n, full, s2);
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

    /// <summary>One element: the loaded values as the maths sees them, the step, the parameter update.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Element<TOps, M, TRule, TPrep, TUpdate>(
        in ElementwiseScalars<float, M> sc, ref float p, float g, ref float s0, ref float s1, ref float s2, ref float c, uint stream, long index)
        where TOps : struct, IKernelOps
        where M : struct, IMaths<float>
        where TRule : struct, IElementwiseRule
        where TPrep : struct, IGradientPrep
        where TUpdate : struct, IKernelParamUpdate
    {
        M m = default;
        var old = m.Load(p);
        var updated = old;
        s0 = m.Load(s0);
        s1 = m.Load(s1);
        s2 = m.Load(s2);
        ElementwiseStep.Element<float, M, TPrep, TRule>(sc, ref updated, m.Load(g), ref s0, ref s1, ref s2);
        p = default(TUpdate).Apply<TOps>(old, updated, ref c, stream, index);
    }
}
