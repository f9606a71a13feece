namespace S3gd.Gpu;

/// <summary>
/// Memory owned by one backend holding <see cref="Length"/> elements of one <see cref="ElementType"/>.
/// Dispose it to free the memory (there is no finalizer: device memory needs the backend's context).
/// </summary>
public abstract class DeviceBuffer : IDisposable
{
    private int disposed;

    /// <summary>Creates the handle; only backends do this.</summary>
    protected DeviceBuffer(Backend owner, ElementType elementType, long length)
    {
        Owner = owner;
        ElementType = elementType;
        Length = length;
    }

    /// <summary>The backend that allocated the buffer and runs operations on it.</summary>
    public Backend Owner { get; }

    /// <summary>The element type (storage format) of the buffer.</summary>
    public ElementType ElementType { get; }

    /// <summary>The number of elements.</summary>
    public long Length { get; }

    /// <summary>The size in bytes: <see cref="Length"/> times the element size.</summary>
    public long SizeInBytes => Length * ElementType.SizeOf();

    /// <summary>Whether <see cref="Dispose"/> has run.</summary>
    public bool IsDisposed => Volatile.Read(ref disposed) != 0;

    /// <summary>Frees the memory, once; later calls do nothing.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref disposed, 1) != 0) return;
        Owner.Release(this);
        GC.SuppressFinalize(this);
    }

    /// <summary>Frees the backend memory; called once, by <see cref="Dispose"/>.</summary>
    protected internal abstract void FreeInternal();

    /// <inheritdoc />
    public override string ToString() => $"{Owner.Kind} buffer of {Length} x {ElementType.Name()}";
}
