using S3gd.Gpu.Training;

namespace S3gd.Gpu.Cuda;

/// <summary>The model passes as <c>Cuda/Kernels/mlp.cu</c>'s kernels (compiled on first use), queued on the backend's stream.</summary>
public sealed class CudaMlp : Mlp
{
    /// <summary>The kernel source file of the model passes.</summary>
    private const string Source = "mlp.cu";

    /// <summary>Threads per block of every mlp.cu kernel (its THREADS).</summary>
    private const uint Threads = 256;

    /// <summary>Output tile edge of the matmul kernel (its TILE).</summary>
    private const int Tile = 16;

    private readonly CudaBackend backend;
    private readonly CudaKernel matmul, softmaxXent, columnSum;

    internal CudaMlp(CudaBackend owner, MlpShape shape, int maxBatch) : base(owner, shape, maxBatch)
    {
        backend = owner;
        matmul = owner.GetKernel(Source, "matmul", []);
        softmaxXent = owner.GetKernel(Source, "softmax_xent", []);
        columnSum = owner.GetKernel(Source, "column_sum", []);
    }

    /// <inheritdoc />
    protected override unsafe void MatMulInternal(MlpMatMul op)
    {
        ulong a = Pointer(op.A, op.AOffset), b = Pointer(op.B, op.BOffset), c = Pointer(op.C, 0);
        ulong bias = op.Bias is null ? 0 : Pointer(op.Bias, 0), tanhOutput = op.TanhOutput is null ? 0 : Pointer(op.TanhOutput, 0);
        int aRow = op.ARow, aInner = op.AInner, bInner = op.BInner, bCol = op.BCol, m = op.M, n = op.N, k = op.K, tanh = op.Tanh ? 1 : 0;
        var blocks = (uint)(((m + Tile - 1) / Tile) * ((n + Tile - 1) / Tile));
        void** arguments = stackalloc void*[] { &a, &aRow, &aInner, &b, &bInner, &bCol, &c, &m, &n, &k, &bias, &tanh, &tanhOutput };
        backend.Launch(matmul, blocks, Threads, arguments);
    }

    /// <inheritdoc />
    protected override unsafe void SoftmaxCrossEntropyInternal(
        DeviceBuffer logits, DeviceBuffer labels, long labelOffset, DeviceBuffer? dlogits, DeviceBuffer stats, int rows, int classes, float scale)
    {
        ulong z = Pointer(logits, 0), y = Pointer(labels, labelOffset), dz = dlogits is null ? 0 : Pointer(dlogits, 0), s = Pointer(stats, 0);
        var blocks = (uint)((rows + Threads - 1) / Threads);
        void** arguments = stackalloc void*[] { &z, &y, &dz, &s, &rows, &classes, &scale };
        backend.Launch(softmaxXent, blocks, Threads, arguments);
    }

    /// <inheritdoc />
    protected override unsafe void ColumnSumInternal(DeviceBuffer x, DeviceBuffer output, int rows, int cols)
    {
        ulong source = Pointer(x, 0), destination = Pointer(output, 0);
        void** arguments = stackalloc void*[] { &source, &destination, &rows, &cols };
        backend.Launch(columnSum, (uint)cols, Threads, arguments);
    }

    /// <summary>The device address of float32 element <paramref name="offset"/> of a buffer.</summary>
    private static ulong Pointer(DeviceBuffer buffer, long offset) => ((CudaBuffer)buffer).Pointer + (ulong)(offset * sizeof(float));
}
