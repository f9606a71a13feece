using static S3gd.Gpu.Cuda.CudaDriver;

namespace S3gd.Gpu.Cuda;

/// <summary>A CUDA stream: work queued on it runs in order.</summary>
public sealed class CudaStream : IDisposable
{
    /// <summary>CU_STREAM_DEFAULT: a stream that synchronises with the legacy default stream.</summary>
    private const uint DefaultFlags = 0;

    private bool disposed;

    /// <summary>Creates a stream in the current context.</summary>
    public CudaStream()
    {
        ThrowIfFailed(cuStreamCreate(out var handle, DefaultFlags));
        Handle = handle;
    }

    /// <summary>The raw CUstream.</summary>
    internal nint Handle { get; }

    /// <summary>Waits until all work queued on the stream has finished.</summary>
    public void Synchronize() => ThrowIfFailed(cuStreamSynchronize(Handle));

    /// <summary>Destroys the stream (queued work still completes).</summary>
    public void Dispose()
    {
        if (disposed) return;
        disposed = true;
        ThrowIfFailed(cuStreamDestroy(Handle));
    }
}
