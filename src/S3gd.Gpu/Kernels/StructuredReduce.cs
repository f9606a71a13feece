using System.Runtime.CompilerServices;
using ILGPU;
using S3gd.Gpu.Maths;
using S3gd.Gpu.Structured;

namespace S3gd.Gpu.Kernels;

/// <summary>A run of the reduction: its elements' gradient and (StableAdamW) second moment.</summary>
public struct ReduceRun
{
    /// <summary>The gradient.</summary>
    public Lanes G;
    /// <summary>The second moment (zeros where the rule keeps none per element).</summary>
    public Lanes V;
    /// <summary>The run's first element within the tensor.</summary>
    public long At;
}

/// <summary>
/// A lane's share of its segment's sum of terms: per run the terms as a halving tree (elements past the segment's end
/// +0), added to the lane's sum in run order (<see cref="StructuredLayout"/> fixes the order).
/// </summary>
/// <typeparam name="TOps">The accelerator's operations.</typeparam>
/// <typeparam name="M">The maths.</typeparam>
/// <typeparam name="TRule">The rule.</typeparam>
/// <typeparam name="TGrad">The gradient's format.</typeparam>
/// <typeparam name="TSecond">The per-element second moment's format (<see cref="NoFormat"/> where the rule keeps none).</typeparam>
public struct ReducePass<TOps, M, TRule, TGrad, TSecond> : IRunPass<ReduceRun>
    where TOps : struct, IKernelOps
    where M : struct, IMaths<float>
    where TRule : struct, IStructuredRule
    where TGrad : struct, IKernelFormat
    where TSecond : struct, IKernelFormat
{
    private readonly StructuredTermScalars<float, M> k;
    private readonly ulong grad, second;
    private readonly long start, end;
    private readonly int lane;
    private readonly bool aligned;

    /// <summary>Lane <paramref name="lane"/>'s pass over the segment of <paramref name="count"/> elements from <paramref name="start"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public ReducePass(in StructuredScalars sc, in StructuredRow row, long start, long count, int lane)
    {
        k = new StructuredTermScalars<float, M>(sc);
        grad = row.Grad;
        second = default(TRule).SecondPerElement ? row.Second : 0ul;
        this.start = start;
        end = start + count;
        this.lane = lane;
        // Vector moves need 16-byte aligned bases and a segment starting on a whole run; every run offset keeps it.
        aligned = ((grad | second) & 15ul) == 0ul && KernelIndex.Rem(start, Lanes.Count) == 0;
        Sum = 0.0f;
    }

    /// <summary>The lane's sum so far.</summary>
    public float Sum { get; private set; }

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Load(ArrayView<byte> memory, int u, out ReduceRun run)
    {
        run.At = start + StructuredWarp.RunAt(u, lane);
        var full = aligned && run.At + Lanes.Count <= end;
        default(TGrad).Load<TOps>(memory, grad, 0, run.At, end, full, out run.G);
        default(TSecond).Load<TOps>(memory, second, 0, run.At, end, full, out run.V);
    }

    /// <summary>
    /// Loads the lane's run <paramref name="u"/> of a segment of whole runs: as vectors where it starts inside the segment
    /// (then it lies inside, aligned), zeros past its end.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public readonly void LoadWhole(ArrayView<byte> memory, int u, out ReduceRun run)
    {
        run.At = start + StructuredWarp.RunAt(u, lane);
        run.G = default;
        run.V = default;
        if (run.At >= end) return;
        default(TGrad).Load<TOps>(memory, grad, 0, run.At, end, true, out run.G);
        default(TSecond).Load<TOps>(memory, second, 0, run.At, end, true, out run.V);
    }

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Finish(ArrayView<byte> memory, ref ReduceRun run)
    {
        if (run.At < end) Sum = default(M).Add(Sum, Tree(run.G, run.V, run.At));
    }

    /// <summary>
    /// The run's terms (gradient <paramref name="g"/>, second moment <paramref name="v"/>, first element <paramref name="at"/>)
    /// added as the halving tree: x[e] + x[e+4], then x[e] + x[e+2], then x[0] + x[1].
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public readonly float Tree(in Lanes g, in Lanes v, long at)
    {
        M m = default;
        var x0 = m.Add(Term(g.E0, v.E0, at), Term(g.E4, v.E4, at + 4));
        var x1 = m.Add(Term(g.E1, v.E1, at + 1), Term(g.E5, v.E5, at + 5));
        var x2 = m.Add(Term(g.E2, v.E2, at + 2), Term(g.E6, v.E6, at + 6));
        var x3 = m.Add(Term(g.E3, v.E3, at + 3), Term(g.E7, v.E7, at + 7));
        return m.Add(m.Add(x0, x2), m.Add(x1, x3));
    }

    /// <summary>Element <paramref name="i"/>'s term, +0 past the segment's end.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private readonly float Term(float g, float v, long i) => i < end ? default(TRule).Term(k, g, v) : 0.0f;
}
