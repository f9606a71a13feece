using System.Runtime.CompilerServices;
using ILGPU;
using S3gd.Gpu.Maths;

namespace S3gd.Gpu.Kernels;

/// <summary>
/// The elementwise parts of Muon's step (torch.optim.Muon, PyTorch 2.11) and of OAdamW's projection around the
/// Newton–Schulz matrix products (<see cref="KernelBackend.BatchedGemm"/>). Each launch covers one group of same-shape
/// matrices: Grid.IdxY is the matrix, Grid.IdxX strides over its elements. The group's work matrices (bf16 for Muon; float32
/// or bf16 for OAdamW, <see cref="INsWork"/>) lie one after another in the parameter's own row-major layout (the transpose of a tall matrix is left to the GEMMs' operand flags,
/// so no kernel moves elements). The momentum and the update are the CPU twin's float32 operations (<c>Cpu.CpuMuon</c>),
/// bit for bit: every product is an explicit <see cref="IMaths{T}.Mul"/>, so none is contracted into a fused multiply-add.
/// </summary>
public static class MuonKernels
{
    /// <summary>Threads per block.</summary>
    public const int Threads = 256;

    /// <summary>Lanes of a warp.</summary>
    private const int WarpSize = 32;

    /// <summary>Warps per block.</summary>
    private const int Warps = Threads / WarpSize;

    /// <summary>
    /// buf &lt;- lerp(buf, g, 1 - momentum); X &lt;- bf16(the update), as torch's <c>update.bfloat16()</c>; the matrix's sum of
    /// squares += the squares of the bf16 values (torch's norm of bf16 X accumulates in float32).
    /// </summary>
    public static void Momentum<TOps, M, TUpdate>(ArrayView<byte> memory, MuonMomentumArgs args)
        where TOps : struct, IKernelOps
        where M : struct, IMaths<float>
        where TUpdate : struct, IMuonUpdate
    {
        var matrix = Grid.IdxY;
        var grad = DeviceMemory.Word(memory, args.Grads, matrix);
        var buffer = DeviceMemory.Word(memory, args.Buffers, matrix);
        var x = Matrix<NsBf16>(args.X, matrix, args.Length);
        var n = args.Length;
        var aligned = Aligned(grad | buffer | x);
        var squares = 0.0f;
        for (var i = FirstGroup; i < n; i += GroupStride)
        {
            var full = aligned && i + Lanes.Count <= n;
            default(Fp32Format).Load<TOps>(memory, grad, 0, i, n, full, out var g);
            default(Fp32Format).Load<TOps>(memory, buffer, 0, i, n, full, out var b);
            Lanes u;
            u.E0 = Stepped<M, TUpdate>(ref b.E0, g.E0, args);
            u.E1 = Stepped<M, TUpdate>(ref b.E1, g.E1, args);
            u.E2 = Stepped<M, TUpdate>(ref b.E2, g.E2, args);
            u.E3 = Stepped<M, TUpdate>(ref b.E3, g.E3, args);
            u.E4 = Stepped<M, TUpdate>(ref b.E4, g.E4, args);
            u.E5 = Stepped<M, TUpdate>(ref b.E5, g.E5, args);
            u.E6 = Stepped<M, TUpdate>(ref b.E6, g.E6, args);
            u.E7 = Stepped<M, TUpdate>(ref b.E7, g.E7, args);
            default(Fp32Format).Store<TOps>(memory, buffer, 0, i, n, full, b);
            default(Bf16Format).Store<TOps>(memory, x, 0, i, n, full, u);
            // Elements past the end are 0 throughout: their squares add +0.
            squares = AddSquares<TOps, M>(squares, u);
        }
        AddBlockSum<M>(memory, squares, args.Squares + (ulong)matrix * sizeof(float));
    }

    /// <summary>
    /// X &lt;- X / the denominator of the norm sqrt(sum of squares), each rounded as the work matrices hold it (bf16: as
    /// torch's norm of a bf16 X; float32: as is).
    /// </summary>
    public static void Normalise<TOps, M, TDenominator, TWork>(ArrayView<byte> memory, MuonNormaliseArgs args)
        where TOps : struct, IKernelOps
        where M : struct, IMaths<float>
        where TDenominator : struct, INormDenominator
        where TWork : struct, INsWork
    {
        M m = default;
        TWork work = default;
        var matrix = Grid.IdxY;
        var norm = work.Round<TOps>(m.Root(DeviceMemory.At<float>(memory, args.Squares + (ulong)matrix * sizeof(float))));
        var denominator = default(TDenominator).Of<TOps, M, TWork>(norm, args.Eps);
        var x = Matrix<TWork>(args.X, matrix, args.Length);
        var n = args.Length;
        var aligned = Aligned(x);
        for (var i = FirstGroup; i < n; i += GroupStride)
        {
            var full = aligned && i + Lanes.Count <= n;
            work.Load<TOps>(memory, x, i, n, full, out var v);
            v.E0 = m.Div(v.E0, denominator); v.E1 = m.Div(v.E1, denominator); v.E2 = m.Div(v.E2, denominator); v.E3 = m.Div(v.E3, denominator);
            v.E4 = m.Div(v.E4, denominator); v.E5 = m.Div(v.E5, denominator); v.E6 = m.Div(v.E6, denominator); v.E7 = m.Div(v.E7, denominator);
            work.Store<TOps>(memory, x, i, n, full, v);
        }
    }

    /// <summary>p &lt;- p * decay; p &lt;- p - lr' * X: torch's <c>p.mul_(1 - lr*wd)</c> and <c>p.add_(X, alpha=-lr')</c>, each rounded.</summary>
    public static void Update<TOps, M>(ArrayView<byte> memory, MuonUpdateArgs args)
        where TOps : struct, IKernelOps
        where M : struct, IMaths<float>
    {
        var matrix = Grid.IdxY;
        var param = DeviceMemory.Word(memory, args.Params, matrix);
        var x = Matrix<NsBf16>(args.X, matrix, args.Length);
        var n = args.Length;
        var aligned = Aligned(param | x);
        for (var i = FirstGroup; i < n; i += GroupStride)
        {
            var full = aligned && i + Lanes.Count <= n;
            default(Fp32Format).Load<TOps>(memory, param, 0, i, n, full, out var p);
            default(Bf16Format).Load<TOps>(memory, x, 0, i, n, full, out var v);
            p.E0 = Updated<M>(p.E0, v.E0, args); p.E1 = Updated<M>(p.E1, v.E1, args);
            p.E2 = Updated<M>(p.E2, v.E2, args); p.E3 = Updated<M>(p.E3, v.E3, args);
            p.E4 = Updated<M>(p.E4, v.E4, args); p.E5 = Updated<M>(p.E5, v.E5, args);
            p.E6 = Updated<M>(p.E6, v.E6, args); p.E7 = Updated<M>(p.E7, v.E7, args);
            default(Fp32Format).Store<TOps>(memory, param, 0, i, n, full, p);
        }
    }

    /// <summary>One element's momentum: buf &lt;- lerp(buf, g, 1 - momentum); returns the update (before its bf16 rounding).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float Stepped<M, TUpdate>(ref float buffer, float g, in MuonMomentumArgs args)
        where M : struct, IMaths<float>
        where TUpdate : struct, IMuonUpdate
    {
        buffer = MuonMaths.Lerp<M>(buffer, g, args.ToGrad);
        return default(TUpdate).Of<M>(g, buffer, args.Momentum);
    }

    /// <summary>One parameter's update: p * decay - lr' * x, each operation rounded.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float Updated<M>(float p, float x, in MuonUpdateArgs args) where M : struct, IMaths<float>
    {
        M m = default;
        return m.Add(m.Mul(p, args.Decay), m.Neg(m.Mul(args.AdjustedLr, x)));
    }

    /// <summary>A running float32 sum plus the squares of a group's values rounded to bf16 (as stored), in element order.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float AddSquares<TOps, M>(float sum, in Lanes u)
        where TOps : struct, IKernelOps
        where M : struct, IMaths<float>
    {
        M m = default;
        TOps ops = default;
        sum = m.Add(sum, Square<M>(ops.RoundBf16(u.E0))); sum = m.Add(sum, Square<M>(ops.RoundBf16(u.E1)));
        sum = m.Add(sum, Square<M>(ops.RoundBf16(u.E2))); sum = m.Add(sum, Square<M>(ops.RoundBf16(u.E3)));
        sum = m.Add(sum, Square<M>(ops.RoundBf16(u.E4))); sum = m.Add(sum, Square<M>(ops.RoundBf16(u.E5)));
        sum = m.Add(sum, Square<M>(ops.RoundBf16(u.E6))); sum = m.Add(sum, Square<M>(ops.RoundBf16(u.E7)));
        return sum;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float Square<M>(float v) where M : struct, IMaths<float> => default(M).Mul(v, v);

    /// <summary>
    /// OAdamW's projection input: X &lt;- g as the work matrices hold it (bf16 rounded to nearest even, or float32); the
    /// matrix's sum of squares += the squares of the values held.
    /// </summary>
    public static void Load<TOps, M, TWork>(ArrayView<byte> memory, NsLoadArgs args)
        where TOps : struct, IKernelOps
        where M : struct, IMaths<float>
        where TWork : struct, INsWork
    {
        M m = default;
        var matrix = Grid.IdxY;
        var grad = DeviceMemory.Word(memory, args.Grads, matrix);
        var x = Matrix<TWork>(args.X, matrix, args.Length);
        var squares = 0.0f;
        for (var i = First; i < args.Length; i += Stride)
        {
            var v = default(TWork).Write<TOps>(memory, x, i, DeviceMemory.At<float>(memory, grad + (ulong)i * sizeof(float)));
            squares = m.Add(squares, m.Mul(v, v));
        }
        AddBlockSum<M>(memory, squares, args.Squares + (ulong)matrix * sizeof(float));
    }

    /// <summary>OAdamW's projection output: out &lt;- scale * X in float32.</summary>
    public static void Store<M, TWork>(ArrayView<byte> memory, NsStoreArgs args)
        where M : struct, IMaths<float>
        where TWork : struct, INsWork
    {
        var matrix = Grid.IdxY;
        var output = DeviceMemory.Word(memory, args.Outputs, matrix);
        var x = Matrix<TWork>(args.X, matrix, args.Length);
        for (var i = First; i < args.Length; i += Stride)
            DeviceMemory.At<float>(memory, output + (ulong)i * sizeof(float)) = default(M).Mul(args.Scale, default(TWork).Read(memory, x, i));
    }

    /// <summary>Sets float32 values to +0 (the sums of squares before a step).</summary>
    public static void Zero(ArrayView<byte> memory, ZeroArgs args)
    {
        for (var i = First; i < args.Length; i += Stride) DeviceMemory.At<float>(memory, args.Values + (ulong)i * sizeof(float)) = 0.0f;
    }

    /// <summary>This thread's first element of a grid-stride loop over one matrix.</summary>
    private static long First => (long)Grid.IdxX * Group.DimX + Group.IdxX;

    /// <summary>The grid-stride loop's step.</summary>
    private static long Stride => (long)Grid.DimX * Group.DimX;

    /// <summary>This thread's first group of <see cref="Lanes.Count"/> elements' first element, in a grid-stride loop over groups.</summary>
    private static long FirstGroup => First * Lanes.Count;

    /// <summary>The group loop's step in elements.</summary>
    private static long GroupStride => Stride * Lanes.Count;

    /// <summary>Whether addresses (or'd together) allow 16-byte vector moves.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool Aligned(ulong addresses) => (addresses & 15ul) == 0ul;

    /// <summary>The address of work matrix <paramref name="matrix"/> of elements TWork.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ulong Matrix<TWork>(ulong work, int matrix, long length) where TWork : struct, INsWork =>
        work + (ulong)matrix * (ulong)length * (ulong)default(TWork).Size;

    /// <summary>
    /// Adds the block's sum of <paramref name="value"/> to the float32 at <paramref name="total"/>: each warp's sum by
    /// shuffles, the warps' sums by the first warp, one atomic add per block. Every thread of the block calls it.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void AddBlockSum<M>(ArrayView<byte> memory, float value, ulong total) where M : struct, IMaths<float>
    {
        var partial = SharedMemory.Allocate<float>(Warps);
        var lane = Group.IdxX % WarpSize;
        var warp = Group.IdxX / WarpSize;
        value = WarpSum<M>(value);
        if (lane == 0) partial[warp] = value;
        Group.Barrier();
        if (warp != 0) return;
        value = WarpSum<M>(lane < Warps ? partial[lane] : 0.0f);
        if (lane == 0) Atomic.Add(ref DeviceMemory.At<float>(memory, total), value);
    }

    /// <summary>The sum of <paramref name="value"/> over the warp, in every lane (a butterfly of shuffles).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float WarpSum<M>(float value) where M : struct, IMaths<float>
    {
        for (var offset = WarpSize / 2; offset > 0; offset /= 2) value = default(M).Add(value, Warp.ShuffleXor(value, offset));
        return value;
    }
}
