using static S3gd.Gpu.Cuda.CudaDriver;

namespace S3gd.Gpu.Cuda;

/// <summary>Device memory allocated with cuMemAlloc (none for an empty buffer), or borrowed from another framework (<see cref="CudaBackend.Wrap"/>).</summary>
public sealed class CudaBuffer : DeviceBuffer
{
    private readonly CudaContext context;
    private readonly bool borrowed;

    internal CudaBuffer(CudaBackend owner, CudaContext context, ElementType elementType, long length) : base(owner, elementType, length)
    {
        this.context = context;
        if (SizeInBytes > 0)
        {
            ThrowIfFailed(cuMemAlloc(out var pointer, (nuint)SizeInBytes));
            Pointer = pointer;
        }
    }

    /// <summary>A buffer over device memory someone else allocated and frees: disposing it frees nothing.</summary>
    internal CudaBuffer(CudaBackend owner, CudaContext context, ElementType elementType, long length, ulong pointer) : base(owner, elementType, length)
    {
        this.context = context;
        Pointer = pointer;
        borrowed = true;
    }

    /// <summary>The device address (0 for an empty buffer): for handing the buffer to other CUDA code in the same context.</summary>
    public ulong Pointer { get; }

    /// <inheritdoc />
    protected internal override void FreeInternal()
    {
        if (Pointer == 0 || borrowed) return;
        context.MakeCurrent();
        ThrowIfFailed(cuMemFree(Pointer));
    }
}
