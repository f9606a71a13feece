using ILGPU;
using ILGPU.Runtime;

namespace S3gd.Gpu.IlgpuCpu;

/// <summary>
/// The whole address space as one ILGPU buffer (pointer 0, 2^47 bytes): the <c>memory</c> view every kernel gets, through
/// which it reaches buffers by their addresses. It owns nothing; copies and fills go through the backend's own buffers.
/// </summary>
internal sealed class AddressSpace : MemoryBuffer
{
    /// <summary>Bytes of a 47-bit user address space (x86-64 Linux).</summary>
    private const long Bytes = 1L << 47;

    /// <summary>The address space of an accelerator's kernels.</summary>
    public AddressSpace(Accelerator accelerator) : base(accelerator, Bytes, 1) => NativePtr = IntPtr.Zero;

    /// <summary>The view a kernel takes.</summary>
    public ArrayView<byte> View => new(this, 0, Bytes);

    /// <inheritdoc />
    protected override void MemSet(AcceleratorStream stream, byte value, in ArrayView<byte> targetView) =>
        throw new NotSupportedException("the address space is not filled through ILGPU");

    /// <inheritdoc />
    protected override void CopyFrom(AcceleratorStream stream, in ArrayView<byte> sourceView, in ArrayView<byte> targetView) =>
        throw new NotSupportedException("the address space is not copied through ILGPU");

    /// <inheritdoc />
    protected override void CopyTo(AcceleratorStream stream, in ArrayView<byte> sourceView, in ArrayView<byte> targetView) =>
        throw new NotSupportedException("the address space is not copied through ILGPU");

    /// <inheritdoc />
    protected override void DisposeAcceleratorObject(bool disposing)
    {
        // Nothing is owned.
    }
}
