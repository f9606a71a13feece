using System.Runtime.InteropServices;

namespace S3gd.Gpu.IlgpuCpu;

/// <summary>An ILGPU CPU backend buffer: native memory, 64-byte aligned, that kernels reach by its address.</summary>
public sealed unsafe class IlgpuCpuBuffer : DeviceBuffer
{
    /// <summary>The alignment of every allocation: a cache line, more than any kernel's vector moves need.</summary>
    private const int Alignment = 64;

    internal IlgpuCpuBuffer(IlgpuCpuBackend owner, ElementType elementType, long length) : base(owner, elementType, length)
    {
        if (SizeInBytes > 0) Pointer = (byte*)NativeMemory.AlignedAlloc((nuint)SizeInBytes, Alignment);
    }

    /// <summary>The first byte (null for an empty buffer).</summary>
    internal byte* Pointer { get; private set; }

    /// <summary>The buffer's bytes.</summary>
    internal Span<byte> Bytes => SizeInBytes == 0 ? [] : new Span<byte>(Pointer, checked((int)SizeInBytes));

    /// <inheritdoc />
    protected internal override void FreeInternal()
    {
        if (Pointer is null) return;
        NativeMemory.AlignedFree(Pointer);
        Pointer = null;
    }
}
