using System.Reflection;
using System.Runtime.InteropServices;

namespace S3gd.Gpu.Kernels;

/// <summary>A launch's shape: <see cref="BlocksX"/> x <see cref="BlocksY"/> blocks of <see cref="Threads"/> threads.</summary>
/// <param name="BlocksX">Blocks along x (the kernel's Grid.IdxX).</param>
/// <param name="BlocksY">Blocks along y (Grid.IdxY).</param>
/// <param name="Threads">Threads per block.</param>
/// <param name="SharedBytes">Dynamic shared memory reserved per block (it caps the blocks an SM holds; the CPU ignores it).</param>
/// <param name="MinBlocksPerSm">
/// Blocks an SM must be able to hold at once (CUDA's __launch_bounds__ minimum): the kernel is compiled within the
/// registers that leaves each thread; 0 lets the compiler choose. The CPU ignores it.
/// </param>
public readonly record struct KernelGrid(int BlocksX, int BlocksY, int Threads, int SharedBytes = 0, int MinBlocksPerSm = 0);

/// <summary>
/// A backend that runs S3gd's C# kernels (this folder) on an ILGPU-compiled accelerator: CUDA (<c>Cuda.CudaBackend</c>,
/// PTX from ILGPU's PTX backend) or ILGPU's CPU accelerator (<c>IlgpuCpu.IlgpuCpuBackend</c>), which runs the same
/// kernel code with managed operations. Every kernel has the signature <c>(ArrayView&lt;byte&gt; memory, TArgs args)</c>:
/// <c>memory</c> is the whole address space (pointer 0), so buffers are reached by their addresses, which plans keep in
/// device tables; <c>args</c> is one unmanaged struct. The plans of every kernel family are written once here; the
/// subclasses only allocate, copy, and compile and launch kernels.
/// </summary>
public abstract partial class KernelBackend : Backend
{
    /// <summary>The accelerator's operations (an <see cref="IKernelOps"/> struct) for the kernels' type parameter.</summary>
    protected internal abstract Type Ops { get; }

    /// <summary>The accelerator's maths (an <c>IMaths&lt;float&gt;</c> struct): float32, or bf16 after every operation.</summary>
    protected internal abstract Type Maths(bool bf16);

    /// <summary>The device address of a buffer's first element (0 for an empty buffer).</summary>
    protected internal abstract ulong AddressOf(DeviceBuffer buffer);

    /// <summary>
    /// Queues <paramref name="kernel"/> (a closed static method <c>(ArrayView&lt;byte&gt;, TArgs)</c>, compiled on first use and
    /// kept) over <paramref name="grid"/> with <paramref name="args"/>.
    /// </summary>
    protected internal abstract void Launch<TArgs>(MethodInfo kernel, KernelGrid grid, in TArgs args) where TArgs : unmanaged;

    /// <summary>The address of a buffer, or 0 for none.</summary>
    internal ulong AddressOrZero(DeviceBuffer? buffer) => buffer is null ? 0 : AddressOf(buffer);

    /// <summary>
    /// A closed kernel method: <paramref name="name"/> of <paramref name="kernels"/> with the type arguments given (none
    /// for a kernel that is not generic).
    /// </summary>
    internal static MethodInfo Kernel(Type kernels, string name, params Type[] typeArguments)
    {
        var method = kernels.GetMethod(name, BindingFlags.Public | BindingFlags.Static)
            ?? throw new ArgumentException($"{kernels.Name} has no kernel {name}", nameof(name));
        return typeArguments.Length == 0 ? method : method.MakeGenericMethod(typeArguments);
    }

    /// <summary>
    /// Uploads sections of unmanaged values into one new float32-typed buffer of raw words (each section 16-byte
    /// aligned); returns it and each section's device address.
    /// </summary>
    internal (DeviceBuffer Table, ulong[] Addresses) UploadTable(params byte[][] sections)
    {
        const int alignment = 16;
        var offsets = new long[sections.Length];
        long size = 0;
        for (var i = 0; i < sections.Length; i++)
        {
            offsets[i] = size;
            size += (sections[i].Length + alignment - 1) / alignment * alignment;
        }
        var bytes = new byte[Math.Max(alignment, size)];
        for (var i = 0; i < sections.Length; i++) sections[i].CopyTo(bytes.AsSpan((int)offsets[i]));
        var table = Allocate(ElementType.Float32, bytes.Length / sizeof(float));
        Upload<uint>(table, MemoryMarshal.Cast<byte, uint>(bytes.AsSpan()));
        var address = AddressOf(table);
        return (table, [.. offsets.Select(o => address + (ulong)o)]);
    }
}
