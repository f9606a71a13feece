using static S3gd.Gpu.Cuda.CudaDriver;

namespace S3gd.Gpu.Cuda;

/// <summary>A CUDA event: a marker recorded on a stream, for timing and waiting.</summary>
public sealed class CudaEvent : IDisposable
{
    /// <summary>CU_EVENT_DEFAULT: an event that records timing.</summary>
    private const uint DefaultFlags = 0;

    private bool disposed;

    /// <summary>Creates an event in the current context.</summary>
    public CudaEvent()
    {
        ThrowIfFailed(cuEventCreate(out var handle, DefaultFlags));
        Handle = handle;
    }

    private nint Handle { get; }

    /// <summary>Records the event after the work queued so far on <paramref name="stream"/>.</summary>
    public void Record(CudaStream stream) => ThrowIfFailed(cuEventRecord(Handle, stream.Handle));

    /// <summary>Waits until the event has been reached.</summary>
    public void Synchronize() => ThrowIfFailed(cuEventSynchronize(Handle));

    /// <summary>Milliseconds from <paramref name="start"/> to this event (both recorded and reached).</summary>
    public float ElapsedSince(CudaEvent start)
    {
        ThrowIfFailed(cuEventElapsedTime(out var milliseconds, start.Handle, Handle));
        return milliseconds;
    }

    /// <summary>Destroys the event.</summary>
    public void Dispose()
    {
        if (disposed) return;
        disposed = true;
        ThrowIfFailed(cuEventDestroy(Handle));
    }
}
