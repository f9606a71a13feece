using static S3gd.Gpu.Cuda.CudaDriver;

namespace S3gd.Gpu.Cuda;

/// <summary>Device memory allocated with cuMemAlloc (none for an empty buffer).</summary>
public sealed class CudaBuffer : DeviceBuffer
{
    private readonly CudaContext context;

    internal CudaBuffer(CudaBackend owner, CudaContext context, ElementType elementType, long length) : base(owner, elementType, length)
    {
        this.context = context;
        if (SizeInBytes > 0)
        {
            ThrowIfFailed(cuMemAlloc(out var pointer, (nuint)SizeInBytes));
            Pointer = pointer;
        }
    }

    /// <summary>The device address (0 for an empty buffer).</summary>
    internal ulong Pointer { get; }

    /// <inheritdoc />
    protected internal override void FreeInternal()
    {
        if (Pointer == 0) return;
        context.MakeCurrent();
        ThrowIfFailed(cuMemFree(Pointer));
    }
}
