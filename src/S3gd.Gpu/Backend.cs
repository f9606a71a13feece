using System.Runtime.InteropServices;

namespace S3gd.Gpu;

/// <summary>
/// One place to run S3gd's kernels: allocates buffers, moves data, runs operations over lists of
/// tensors. Public methods check their arguments once, then call the backend's <c>...Internal</c> method.
/// </summary>
public abstract partial class Backend : IDisposable
{
    private int liveBuffers;
    private bool disposed;

    /// <summary>The kind of backend.</summary>
    public abstract BackendKind Kind { get; }

    /// <summary>The device it runs on, with its capability, e.g. "NVIDIA H100 (sm_90)".</summary>
    public abstract string Device { get; }

    /// <summary>Whether the device has fp8 conversion instructions (always on the CPU).</summary>
    public abstract bool SupportsFp8 { get; }

    /// <summary>The number of buffers allocated and not yet disposed.</summary>
    public int LiveBuffers => Volatile.Read(ref liveBuffers);

    /// <summary>Free device memory in bytes where the device reports it (CUDA); null on the CPU.</summary>
    public virtual long? DeviceFreeBytes => null;

    /// <summary>The stored format for a requested state format, applying the fp8 fallback when asked (see <see cref="FormatSupport"/>).</summary>
    public FormatChoice ChooseStateFormat(ElementType requested, Fp8Fallback fallback = Fp8Fallback.None) =>
        FormatSupport.Choose(requested, fallback, Device, SupportsFp8);

    /// <summary>Allocates a buffer of <paramref name="length"/> elements of <paramref name="elementType"/> (contents undefined).</summary>
    public DeviceBuffer Allocate(ElementType elementType, long length)
    {
        ThrowIfDisposed();
        if (!Enum.IsDefined(elementType)) throw new ArgumentOutOfRangeException(nameof(elementType), elementType, "unknown element type");
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        var buffer = AllocateInternal(elementType, length);
        Interlocked.Increment(ref liveBuffers);
        return buffer;
    }

    /// <summary>Allocates a buffer of <paramref name="length"/> elements stored in the spec's <paramref name="format"/>.</summary>
    internal DeviceBuffer Allocate(S3gd.Spec.Formats.StorageFormat format, long length) => Allocate(ElementTypes.FromFormat(format), length);

    /// <summary>Copies host elements into a buffer; <typeparamref name="T"/> must have the element size and the lengths must match.</summary>
    public void Upload<T>(DeviceBuffer destination, ReadOnlySpan<T> source) where T : unmanaged
    {
        CheckTransfer<T>(destination, source.Length, nameof(source));
        UploadInternal(destination, MemoryMarshal.AsBytes(source));
    }

    /// <summary>Copies a buffer's elements to the host; <typeparamref name="T"/> must have the element size and the lengths must match.</summary>
    public void Download<T>(DeviceBuffer source, Span<T> destination) where T : unmanaged
    {
        CheckTransfer<T>(source, destination.Length, nameof(destination));
        DownloadInternal(source, MemoryMarshal.AsBytes(destination));
    }

    /// <summary>Downloads a whole buffer into a new array.</summary>
    public T[] Download<T>(DeviceBuffer source) where T : unmanaged
    {
        ArgumentNullException.ThrowIfNull(source);
        var result = new T[source.Length];
        Download<T>(source, result);
        return result;
    }

    /// <summary>Encodes every pair's float32 source into its destination's format, in one call (fp8 saturates, round to nearest even).</summary>
    public void Encode(IReadOnlyList<TensorPair> tensors)
    {
        CheckConversions(tensors, nameof(tensors), encode: true);
        EncodeInternal(tensors);
    }

    /// <summary>Decodes every pair's codes into its float32 destination, in one call.</summary>
    public void Decode(IReadOnlyList<TensorPair> tensors)
    {
        CheckConversions(tensors, nameof(tensors), encode: false);
        DecodeInternal(tensors);
    }

    /// <summary>Waits until every operation queued so far has finished.</summary>
    public void Synchronize()
    {
        ThrowIfDisposed();
        SynchronizeInternal();
    }

    /// <summary>Runs <paramref name="work"/> and returns the device time it took in milliseconds (waits for it to finish).</summary>
    public double TimeMilliseconds(Action work)
    {
        ArgumentNullException.ThrowIfNull(work);
        ThrowIfDisposed();
        return TimeInternal(work);
    }

    /// <summary>Frees the backend's own resources; buffers must be disposed first.</summary>
    public void Dispose()
    {
        if (disposed) return;
        disposed = true;
        DisposeInternal();
        GC.SuppressFinalize(this);
    }

    /// <inheritdoc />
    public override string ToString() => $"{Kind}: {Device}";

    /// <summary>Counts a buffer a backend made other than by <see cref="Allocate(ElementType, long)"/> (a wrapped pointer) as live.</summary>
    internal DeviceBuffer Track(DeviceBuffer buffer)
    {
        ThrowIfDisposed();
        Interlocked.Increment(ref liveBuffers);
        return buffer;
    }

    /// <summary>Called by <see cref="DeviceBuffer.Dispose"/>: frees the memory and counts the buffer as gone.</summary>
    internal void Release(DeviceBuffer buffer)
    {
        buffer.FreeInternal();
        Interlocked.Decrement(ref liveBuffers);
    }

    /// <summary>Allocates device memory for a checked element type and length.</summary>
    protected abstract DeviceBuffer AllocateInternal(ElementType elementType, long length);

    /// <summary>Copies exactly <c>destination.SizeInBytes</c> bytes from the host.</summary>
    protected abstract void UploadInternal(DeviceBuffer destination, ReadOnlySpan<byte> source);

    /// <summary>Copies exactly <c>source.SizeInBytes</c> bytes to the host, after pending work on the buffer.</summary>
    protected abstract void DownloadInternal(DeviceBuffer source, Span<byte> destination);

    /// <summary>Encodes checked pairs (float32 sources, same lengths, supported formats).</summary>
    protected abstract void EncodeInternal(IReadOnlyList<TensorPair> tensors);

    /// <summary>Decodes checked pairs (float32 destinations, same lengths, supported formats).</summary>
    protected abstract void DecodeInternal(IReadOnlyList<TensorPair> tensors);

    /// <summary>Waits for queued work.</summary>
    protected abstract void SynchronizeInternal();

    /// <summary>Times queued work in milliseconds.</summary>
    protected abstract double TimeInternal(Action work);

    /// <summary>Frees the backend's resources.</summary>
    protected abstract void DisposeInternal();

    private void ThrowIfDisposed() => ObjectDisposedException.ThrowIf(disposed, this);

    private void CheckBuffer(DeviceBuffer buffer, string name)
    {
        ArgumentNullException.ThrowIfNull(buffer, name);
        if (!ReferenceEquals(buffer.Owner, this))
            throw new ArgumentException($"{name} belongs to another backend ({buffer.Owner}), not {this}", name);
        ObjectDisposedException.ThrowIf(buffer.IsDisposed, buffer);
    }

    private unsafe void CheckTransfer<T>(DeviceBuffer buffer, int hostLength, string hostName) where T : unmanaged
    {
        ThrowIfDisposed();
        CheckBuffer(buffer, nameof(buffer));
        if (sizeof(T) != buffer.ElementType.SizeOf())
            throw new ArgumentException(
                $"{typeof(T).Name} has {sizeof(T)} bytes but {buffer.ElementType.Name()} elements have {buffer.ElementType.SizeOf()}", hostName);
        if (hostLength != buffer.Length)
            throw new ArgumentException($"{hostName} has {hostLength} elements but the buffer has {buffer.Length}", hostName);
    }

    private void CheckConversions(IReadOnlyList<TensorPair> tensors, string name, bool encode)
    {
        ThrowIfDisposed();
        ArgumentNullException.ThrowIfNull(tensors, name);
        for (var i = 0; i < tensors.Count; i++)
        {
            var (source, destination) = tensors[i];
            CheckBuffer(source, $"{name}[{i}].Source");
            CheckBuffer(destination, $"{name}[{i}].Destination");
            if (source.Length != destination.Length)
                throw new ArgumentException($"{name}[{i}]: source has {source.Length} elements, destination {destination.Length}", name);
            var (wide, narrow, side) = encode ? (source, destination, "Source") : (destination, source, "Destination");
            if (wide.ElementType != ElementType.Float32)
                throw new ArgumentException($"{name}[{i}].{side} must be float32, was {wide.ElementType.Name()}", name);
            ChooseStateFormat(narrow.ElementType);
        }
    }
}
