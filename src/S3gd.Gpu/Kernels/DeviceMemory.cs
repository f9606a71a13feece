using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using ILGPU;
using ILGPU.Runtime;

namespace S3gd.Gpu.Kernels;

/// <summary>16 bytes as four 32-bit words: one ld/st.global.v4 where 16-byte aligned.</summary>
[StructLayout(LayoutKind.Sequential)]
public struct Words4
{
    /// <summary>Word 0 (bytes 0-3).</summary>
    public uint X;
    /// <summary>Word 1.</summary>
    public uint Y;
    /// <summary>Word 2.</summary>
    public uint Z;
    /// <summary>Word 3.</summary>
    public uint W;
}

/// <summary>8 bytes as two 32-bit words: one ld/st.global.v2 where 8-byte aligned.</summary>
[StructLayout(LayoutKind.Sequential)]
public struct Words2
{
    /// <summary>Word 0 (bytes 0-3).</summary>
    public uint X;
    /// <summary>Word 1.</summary>
    public uint Y;
}

/// <summary>
/// Loads and stores at device addresses. Every kernel gets the whole address space as one byte view (pointer 0, see
/// <see cref="KernelBackend"/>), so a table of buffer addresses reaches any number of buffers, the library's own and
/// other frameworks' alike; a typed view at an address is a sub-view cast to the element type. The 16- and 8-byte
/// accessors state their alignment (<see cref="ArrayViewExtensions.AsAligned{T}(ArrayView{T}, int)"/>), so ILGPU emits
/// one vector instruction each; callers take them only at aligned addresses.
/// </summary>
public static class DeviceMemory
{
    /// <summary>
    /// The element of type T at <paramref name="address"/>, a multiple of T's size (a view cast counts in elements: a
    /// struct whose size is not a power of two is read word by word, <see cref="Word"/>).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ref T At<T>(ArrayView<byte> memory, ulong address) where T : unmanaged =>
        ref memory.SubView((long)address, Interop.SizeOf<T>()).Cast<T>()[0];

    /// <summary>64-bit word <paramref name="k"/> of a table entry at an 8-byte aligned address.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong Word(ArrayView<byte> memory, ulong address, int k) => At<ulong>(memory, address + (ulong)k * 8);

    /// <summary>The 16 bytes at a 16-byte aligned address.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ref Words4 At16(ArrayView<byte> memory, ulong address) =>
        ref memory.SubView((long)address, 16).Cast<Words4>().AsAligned(16)[0];

    /// <summary>The 8 bytes at an 8-byte aligned address.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ref Words2 At8(ArrayView<byte> memory, ulong address) =>
        ref memory.SubView((long)address, 8).Cast<Words2>().AsAligned(8)[0];
}
