using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using ILGPU;
using S3gd.Gpu.Adafactor;

namespace S3gd.Gpu.Kernels;

/// <summary>
/// One tensor's row of an Adafactor plan's device table, all 64-bit words: its buffers' addresses, its float32 sums
/// (<see cref="AdafactorMaths.SumsWords"/> sums of squares, then one clamped row mean per matrix) and its sizes.
/// </summary>
[StructLayout(LayoutKind.Sequential)]
public struct AdafactorRow
{
    /// <summary>The float32 parameter.</summary>
    public ulong Param;
    /// <summary>The float32 gradient.</summary>
    public ulong Grad;
    /// <summary>row_var of a factored tensor, else variance.</summary>
    public ulong RowVar;
    /// <summary>col_var of a factored tensor, else 0.</summary>
    public ulong ColVar;
    /// <summary>The tensor's float32 sums: the parameter's and the update's sums of squares, then the row means.</summary>
    public ulong Sums;
    /// <summary>Elements.</summary>
    public long Length;
    /// <summary>Matrices of a factored tensor; 0 for a vector (rank 0 or 1).</summary>
    public long Batches;
    /// <summary>Rows of each matrix.</summary>
    public long Rows;
    /// <summary>Columns of each matrix.</summary>
    public long Cols;
    /// <summary>float32 sqrt(numel) in the low 32 bits, sqrt(numel) * d in the high 32 bits (<see cref="AdafactorMaths.Sizes"/>).</summary>
    public ulong Sizes;

    /// <summary>Tensor <paramref name="t"/>'s row of the table at <paramref name="table"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static AdafactorRow Read(ArrayView<byte> memory, ulong table, long t)
    {
        var a = table + (ulong)t * (ulong)Interop.SizeOf<AdafactorRow>();
        return new()
        {
            Param = DeviceMemory.Word(memory, a, 0),
            Grad = DeviceMemory.Word(memory, a, 1),
            RowVar = DeviceMemory.Word(memory, a, 2),
            ColVar = DeviceMemory.Word(memory, a, 3),
            Sums = DeviceMemory.Word(memory, a, 4),
            Length = (long)DeviceMemory.Word(memory, a, 5),
            Batches = (long)DeviceMemory.Word(memory, a, 6),
            Rows = (long)DeviceMemory.Word(memory, a, 7),
            Cols = (long)DeviceMemory.Word(memory, a, 8),
            Sizes = DeviceMemory.Word(memory, a, 9),
        };
    }

    /// <summary>float32 sqrt(numel).</summary>
    public readonly float SqrtNumel => Interop.IntAsFloat((uint)Sizes);

    /// <summary>float32 sqrt(numel) * d.</summary>
    public readonly float SqrtNumelD => Interop.IntAsFloat((uint)(Sizes >> 32));

    /// <summary>The sizes word of float32 sqrt(numel) and sqrt(numel) * d.</summary>
    public static ulong SizesOf(float sqrtNumel, float sqrtNumelD) =>
        Interop.FloatAsInt(sqrtNumel) | ((ulong)Interop.FloatAsInt(sqrtNumelD) << 32);
}

/// <summary>The arguments of every Adafactor kernel besides the address space.</summary>
[StructLayout(LayoutKind.Sequential)]
public struct AdafactorArgs
{
    /// <summary>Address of the table (<see cref="AdafactorRow"/> per tensor).</summary>
    public ulong Table;
    /// <summary>The step's scalars.</summary>
    public AdafactorScalars Scalars;
}
