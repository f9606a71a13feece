using ILGPU;
using S3gd.Gpu.Maths;

namespace S3gd.Gpu.Kernels;

/// <summary>
/// The forward and backward passes of the training example's multilayer perceptron (<c>Training.Mlp</c> sequences
/// them): a tiled matrix product with a bias, tanh or tanh-derivative epilogue, softmax cross-entropy per row, and column
/// sums (bias gradients, the batch loss). Float32 throughout, row-major. The CPU twin (<c>Cpu.CpuMlp</c>) does the same
/// float32 operations in the same order: every matrix product's sum runs over k ascending from 0 (each product rounded,
/// then added: an explicit <see cref="IMaths{T}.Mul"/>, never contracted) and every column sum uses the same 256-way
/// split and tree, so the two agree bit for bit except where <see cref="KernelMath"/>'s tanh, exp and log differ from
/// .NET's MathF (a few ulps each).
/// </summary>
public static class MlpKernels
{
    /// <summary>Output tile edge of <see cref="MatMul"/>: Tile x Tile outputs per block.</summary>
    public const int Tile = 16;

    /// <summary>Threads per block: one per output of a tile, one per row of softmax, one per partial sum of a column.</summary>
    public const int Threads = Tile * Tile;

    /// <summary>The float32 quiet NaN a row with an invalid label gets.</summary>
    public const uint QuietNaN = 0x7FC00000u;

    /// <summary>
    /// Terms of k per shared tile: each thread loads <see cref="KTile"/> / <see cref="Tile"/> elements of each operand
    /// between two barriers, a quarter of the barriers of square tiles (barriers are what the CPU accelerator pays most for).
    /// </summary>
    private const int KTile = 4 * Tile;

    /// <summary>A row of A's shared tile: one more than <see cref="KTile"/>, so that no two rows start in the same bank.</summary>
    private const int ARow = KTile + 1;

    /// <summary>A row of B's shared tile: one more than <see cref="Tile"/>, so that reading a column hits every bank once.</summary>
    private const int BRow = Tile + 1;

    /// <summary>Lanes of a warp.</summary>
    private const int WarpSize = 32;

    /// <summary>
    /// c[i, j] = the epilogue of the sum over k of a[i*ARow + k*AInner] * b[k*BInner + j*BCol]: the bias, the activation,
    /// then the derivative. Block x covers the output tile (x / tiles across, x % tiles across); thread t computes its
    /// output (t / Tile, t % Tile). Per <see cref="KTile"/> terms of k, the block loads A's Tile x KTile and B's KTile x
    /// Tile operand tiles into shared memory, then each thread adds its terms in order.
    /// </summary>
    public static void MatMul<M, TBias, TActivation, TDerivative>(ArrayView<byte> memory, MatMulArgs args)
        where M : struct, IMaths<float>
        where TBias : struct, IMatMulBias
        where TActivation : struct, IMatMulActivation
        where TDerivative : struct, IMatMulDerivative
    {
        M m = default;
        var aTile = SharedMemory.Allocate<float>(Tile * ARow);
        var bTile = SharedMemory.Allocate<float>(KTile * BRow);
        var tilesAcross = (args.N + Tile - 1) / Tile;
        var tx = Group.IdxX % Tile;
        var ty = Group.IdxX / Tile;
        var row = Grid.IdxX / tilesAcross * Tile + ty;
        var col = Grid.IdxX % tilesAcross * Tile + tx;
        var sum = 0.0f;
        for (var k0 = 0; k0 < args.K; k0 += KTile)
        {
            // Thread (ty, tx) loads A's (row, k0 + l + tx) and B's (k0 + l + ty, col) for l = 0, Tile, ...
            for (var l = 0; l < KTile; l += Tile)
            {
                int ka = k0 + l + tx, kb = k0 + l + ty;
                aTile[ty * ARow + l + tx] = row < args.M && ka < args.K ? Float(memory, args.A, (long)row * args.ARow + (long)ka * args.AInner) : 0.0f;
                bTile[(l + ty) * BRow + tx] = kb < args.K && col < args.N ? Float(memory, args.B, (long)kb * args.BInner + (long)col * args.BCol) : 0.0f;
            }
            Group.Barrier();
            // Past k the tiles hold zeros: sum + 0*0 is the sum, so it is exactly the k-term sum.
            for (var j = 0; j < KTile; j++) sum = m.Add(sum, m.Mul(aTile[ty * ARow + j], bTile[j * BRow + tx]));
            Group.Barrier();
        }
        if (row >= args.M || col >= args.N) return;
        var index = (long)row * args.N + col;
        var v = default(TBias).Apply<M>(memory, args.Bias, col, sum);
        v = default(TActivation).Apply<M>(v);
        v = default(TDerivative).Apply<M>(memory, args.TanhOutput, index, v);
        DeviceMemory.At<float>(memory, args.C + (ulong)index * sizeof(float)) = v;
    }

    /// <summary>
    /// Softmax cross-entropy of each row of logits against its label (a whole float32 in [0, classes); anything else
    /// gives NaN), one thread per row: stats[2r] = the row's loss, logsumexp - logit[label]; stats[2r+1] = 1 when the
    /// first largest logit is the label's, else 0; then the gradient, where <typeparamref name="TGradient"/> writes one.
    /// </summary>
    public static void SoftmaxCrossEntropy<M, TGradient>(ArrayView<byte> memory, SoftmaxArgs args)
        where M : struct, IMaths<float>
        where TGradient : struct, ISoftmaxGradient
    {
        M m = default;
        var r = Grid.IdxX * Threads + Group.IdxX;
        if (r >= args.Rows) return;
        var z = args.Logits + (ulong)r * (ulong)args.Classes * sizeof(float);
        var max = Float(memory, z, 0);
        var arg = 0;
        for (var j = 1; j < args.Classes; j++)
        {
            var zj = Float(memory, z, j);
            if (zj > max)
            {
                max = zj;
                arg = j;
            }
        }
        var sum = 0.0f;
        for (var j = 0; j < args.Classes; j++) sum = m.Add(sum, KernelMath.Exp<M>(m.Add(Float(memory, z, j), m.Neg(max))));
        var lf = Float(memory, args.Labels, r);
        var valid = lf >= 0.0f && lf < args.Classes && MathF.Floor(lf) == lf;
        var label = valid ? (int)lf : 0;
        var stats = args.Stats + (ulong)r * 2 * sizeof(float);
        DeviceMemory.At<float>(memory, stats) = valid
            ? m.Add(m.Add(KernelMath.Log<M>(sum), max), m.Neg(Float(memory, z, label)))
            : Interop.IntAsFloat(QuietNaN);
        DeviceMemory.At<float>(memory, stats + sizeof(float)) = valid && arg == label ? 1.0f : 0.0f;
        default(TGradient).Write<M>(memory, args, r, z, max, sum, label, valid);
    }

    /// <summary>
    /// sums[j] = the sum of column j of the values; block j sums column j: thread t adds rows t, t + Threads, ... in
    /// order, then the Threads partial sums are added pairwise in a tree (t += t + s for s = Threads/2, ..., 1), the
    /// levels within the first warp by shuffles (the same additions, without barriers).
    /// </summary>
    public static void ColumnSum<M>(ArrayView<byte> memory, ColumnSumArgs args) where M : struct, IMaths<float>
    {
        M m = default;
        var partial = SharedMemory.Allocate<float>(Threads);
        var j = Grid.IdxX;
        var t = Group.IdxX;
        var sum = 0.0f;
        for (var r = t; r < args.Rows; r += Threads) sum = m.Add(sum, Float(memory, args.Values, (long)r * args.Cols + j));
        partial[t] = sum;
        Group.Barrier();
        for (var s = Threads / 2; s > WarpSize; s /= 2)
        {
            if (t < s) partial[t] = m.Add(partial[t], partial[t + s]);
            Group.Barrier();
        }
        if (t >= WarpSize) return;
        sum = m.Add(partial[t], partial[t + WarpSize]);
        for (var s = WarpSize / 2; s > 0; s /= 2) sum = m.Add(sum, Warp.ShuffleDown(sum, s));
        if (t == 0) DeviceMemory.At<float>(memory, args.Sums + (ulong)j * sizeof(float)) = sum;
    }

    /// <summary>Element <paramref name="index"/> of the float32 values at <paramref name="address"/>.</summary>
    private static float Float(ArrayView<byte> memory, ulong address, long index) => DeviceMemory.At<float>(memory, address + (ulong)index * sizeof(float));
}
