using S3gd.Gpu.Training;

namespace S3gd.Gpu.Cuda;

/// <summary>The CUDA backend's model passes: <see cref="CudaMlp"/>, launching <c>mlp.cu</c> on the backend's stream.</summary>
public sealed partial class CudaBackend
{
    /// <inheritdoc />
    protected override Mlp CreateMlpInternal(MlpShape shape, int maxBatch) => new CudaMlp(this, shape, maxBatch);

    /// <summary>Queues a one-dimensional launch of <paramref name="kernel"/> on the backend's stream.</summary>
    internal unsafe void Launch(CudaKernel kernel, uint blocks, uint threadsPerBlock, void** arguments)
    {
        context.MakeCurrent();
        kernel.Launch(stream, blocks, threadsPerBlock, arguments);
    }
}
