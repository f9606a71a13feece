using System.Reflection;
using S3gd.Gpu.Training;

namespace S3gd.Gpu.Kernels;

/// <summary>The training example's model passes on a kernel backend: <see cref="MlpKernels"/>, queued in order.</summary>
public abstract partial class KernelBackend
{
    /// <inheritdoc />
    protected override Mlp CreateMlpInternal(MlpShape shape, int maxBatch) => new KernelMlp(this, shape, maxBatch);

    /// <summary>The three primitives of <see cref="Mlp"/> as launches of <see cref="MlpKernels"/>, each kernel specialised by its epilogue.</summary>
    private sealed class KernelMlp : Mlp
    {
        private readonly KernelBackend backend;
        private readonly Type maths;
        private readonly MethodInfo softmaxTraining, softmaxEvaluation, columnSum;

        public KernelMlp(KernelBackend owner, MlpShape shape, int maxBatch) : base(owner, shape, maxBatch)
        {
            backend = owner;
            maths = owner.Maths(false);
            softmaxTraining = Kernel(typeof(MlpKernels), nameof(MlpKernels.SoftmaxCrossEntropy), maths, typeof(LogitGradient));
            softmaxEvaluation = Kernel(typeof(MlpKernels), nameof(MlpKernels.SoftmaxCrossEntropy), maths, typeof(NoGradient));
            columnSum = Kernel(typeof(MlpKernels), nameof(MlpKernels.ColumnSum), maths);
        }

        /// <inheritdoc />
        protected override void MatMulInternal(MlpMatMul op)
        {
            var kernel = Kernel(typeof(MlpKernels), nameof(MlpKernels.MatMul), maths,
                op.Bias is null ? typeof(NoBias) : typeof(ColumnBias),
                op.Tanh ? typeof(TanhActivation) : typeof(Linear),
                op.TanhOutput is null ? typeof(NoDerivative) : typeof(TanhDerivative));
            var tiles = (op.M + MlpKernels.Tile - 1) / MlpKernels.Tile * ((op.N + MlpKernels.Tile - 1) / MlpKernels.Tile);
            backend.Launch(kernel, new KernelGrid(tiles, 1, MlpKernels.Threads), new MatMulArgs
            {
                A = Address(op.A, op.AOffset), B = Address(op.B, op.BOffset), C = Address(op.C, 0),
                Bias = op.Bias is null ? 0 : Address(op.Bias, 0), TanhOutput = op.TanhOutput is null ? 0 : Address(op.TanhOutput, 0),
                ARow = op.ARow, AInner = op.AInner, BInner = op.BInner, BCol = op.BCol, M = op.M, N = op.N, K = op.K,
            });
        }

        /// <inheritdoc />
        protected override void SoftmaxCrossEntropyInternal(
            DeviceBuffer logits, DeviceBuffer labels, long labelOffset, DeviceBuffer? dlogits, DeviceBuffer stats, int rows, int classes, float scale) =>
            backend.Launch(dlogits is null ? softmaxEvaluation : softmaxTraining,
                new KernelGrid((rows + MlpKernels.Threads - 1) / MlpKernels.Threads, 1, MlpKernels.Threads), new SoftmaxArgs
                {
                    Logits = Address(logits, 0), Labels = Address(labels, labelOffset), Gradient = dlogits is null ? 0 : Address(dlogits, 0),
                    Stats = Address(stats, 0), Rows = rows, Classes = classes, Scale = scale,
                });

        /// <inheritdoc />
        protected override void ColumnSumInternal(DeviceBuffer x, DeviceBuffer output, int rows, int cols) =>
            backend.Launch(columnSum, new KernelGrid(cols, 1, MlpKernels.Threads),
                new ColumnSumArgs { Values = Address(x, 0), Sums = Address(output, 0), Rows = rows, Cols = cols });

        /// <summary>The device address of float32 element <paramref name="offset"/> of a buffer.</summary>
        private ulong Address(DeviceBuffer buffer, long offset) => backend.AddressOf(buffer) + (ulong)offset * sizeof(float);
    }
}
