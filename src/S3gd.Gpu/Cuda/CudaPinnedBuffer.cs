using static S3gd.Gpu.Cuda.CudaDriver;

namespace S3gd.Gpu.Cuda;

/// <summary>Page-locked host memory (cuMemHostAlloc): the device copies to and from it by DMA, without a driver bounce.</summary>
internal sealed unsafe class CudaPinnedBuffer : IDisposable
{
    /// <summary>cuMemHostAlloc flags: 0, portable to the allocating context only.</summary>
    private const uint DefaultFlags = 0;

    private bool disposed;

    /// <summary>Allocates <paramref name="bytes"/> of pinned memory in the current context.</summary>
    internal CudaPinnedBuffer(int bytes)
    {
        ThrowIfFailed(cuMemHostAlloc(out var pointer, (nuint)bytes, DefaultFlags));
        Pointer = (byte*)pointer;
        Length = bytes;
    }

    /// <summary>The host address.</summary>
    internal byte* Pointer { get; }

    /// <summary>The size in bytes.</summary>
    internal int Length { get; }

    /// <summary>The memory as a span.</summary>
    internal Span<byte> Span => new(Pointer, Length);

    /// <summary>Frees the memory.</summary>
    public void Dispose()
    {
        if (disposed) return;
        disposed = true;
        ThrowIfFailed(cuMemFreeHost((nint)Pointer));
    }
}
