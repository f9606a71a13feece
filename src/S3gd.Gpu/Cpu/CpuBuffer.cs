namespace S3gd.Gpu.Cpu;

/// <summary>A CPU backend buffer: managed memory holding the raw element bytes.</summary>
public sealed class CpuBuffer : DeviceBuffer
{
    internal CpuBuffer(CpuBackend owner, ElementType elementType, long length) : base(owner, elementType, length)
    {
        var bytes = length * elementType.SizeOf();
        if (bytes > Array.MaxLength)
            throw new ArgumentOutOfRangeException(nameof(length), length,
                $"{bytes} bytes of {elementType.Name()} exceed the CPU backend's {Array.MaxLength}-byte array limit");
        Data = new byte[bytes];
    }

    /// <summary>The element bytes, little-endian as on the GPU.</summary>
    internal byte[] Data { get; private set; }

    /// <inheritdoc />
    protected internal override void FreeInternal() => Data = [];
}
