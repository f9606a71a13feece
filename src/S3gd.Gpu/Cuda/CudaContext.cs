using static S3gd.Gpu.Cuda.CudaDriver;

namespace S3gd.Gpu.Cuda;

/// <summary>A device's primary context, retained for the lifetime of this object and made current on demand.</summary>
public sealed class CudaContext : IDisposable
{
    private readonly int device;
    private bool disposed;

    /// <summary>Retains the primary context of the device with the given ordinal.</summary>
    public CudaContext(int deviceOrdinal)
    {
        ThrowIfFailed(cuDeviceGet(out device, deviceOrdinal));
        ThrowIfFailed(cuDevicePrimaryCtxRetain(out var handle, device));
        Handle = handle;
        MakeCurrent();
    }

    /// <summary>The raw CUcontext.</summary>
    internal nint Handle { get; }

    /// <summary>Makes the context current on the calling thread (each thread has its own current context).</summary>
    public void MakeCurrent() => ThrowIfFailed(cuCtxSetCurrent(Handle));

    /// <summary>Releases the primary context.</summary>
    public void Dispose()
    {
        if (disposed) return;
        disposed = true;
        ThrowIfFailed(cuDevicePrimaryCtxRelease(device));
    }
}
