using System.Runtime.CompilerServices;
using ILGPU;

namespace S3gd.Gpu.Kernels;

/// <summary>
/// The element type of a Newton–Schulz iteration's work matrices in a kernel (<see cref="Muon.NsPrecision"/>): what the
/// GEMM (<see cref="GemmKernel"/>) reads and writes one element at a time, the normalisation a group of
/// <see cref="Lanes.Count"/> at a time, and how a float32 result is rounded to be held.
/// </summary>
public interface INsWork
{
    /// <summary>Bytes an element.</summary>
    int Size { get; }

    /// <summary>A float32 result as a work matrix holds it.</summary>
    float Round<TOps>(float x) where TOps : struct, IKernelOps;

    /// <summary>Element <paramref name="index"/> of the matrix at <paramref name="address"/>.</summary>
    float Read(ArrayView<byte> memory, ulong address, long index);

    /// <summary>Stores <paramref name="x"/>, rounded as held, as element <paramref name="index"/>; returns the value held.</summary>
    float Write<TOps>(ArrayView<byte> memory, ulong address, long index, float x) where TOps : struct, IKernelOps;

    /// <summary>Loads elements [at, at + 8) as <see cref="IKernelFormat.Load{TOps}"/> does.</summary>
    void Load<TOps>(ArrayView<byte> memory, ulong address, long at, long end, bool full, out Lanes x) where TOps : struct, IKernelOps;

    /// <summary>Stores elements [at, at + 8) as <see cref="IKernelFormat.Store{TOps}"/> does.</summary>
    void Store<TOps>(ArrayView<byte> memory, ulong address, long at, long end, bool full, in Lanes x) where TOps : struct, IKernelOps;
}

/// <summary>bf16 work matrices, rounded to nearest even (torch.optim.Muon's <c>X.bfloat16()</c>).</summary>
public readonly struct NsBf16 : INsWork
{
    /// <inheritdoc />
    public int Size => sizeof(ushort);

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public float Round<TOps>(float x) where TOps : struct, IKernelOps => default(TOps).RoundBf16(x);

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public float Read(ArrayView<byte> memory, ulong address, long index) =>
        SoftwareConvert.DecodeBf16(DeviceMemory.At<ushort>(memory, address + (ulong)index * sizeof(ushort)));

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public float Write<TOps>(ArrayView<byte> memory, ulong address, long index, float x) where TOps : struct, IKernelOps
    {
        var code = (ushort)default(TOps).EncodeBf16Pair(x, 0.0f);
        DeviceMemory.At<ushort>(memory, address + (ulong)index * sizeof(ushort)) = code;
        return SoftwareConvert.DecodeBf16(code);
    }

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Load<TOps>(ArrayView<byte> memory, ulong address, long at, long end, bool full, out Lanes x) where TOps : struct, IKernelOps =>
        default(Bf16Format).Load<TOps>(memory, address, 0, at, end, full, out x);

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Store<TOps>(ArrayView<byte> memory, ulong address, long at, long end, bool full, in Lanes x) where TOps : struct, IKernelOps =>
        default(Bf16Format).Store<TOps>(memory, address, 0, at, end, full, x);
}

/// <summary>float32 work matrices, held as computed (OAdamW's reference: <c>G.float()</c>).</summary>
public readonly struct NsFloat32 : INsWork
{
    /// <inheritdoc />
    public int Size => sizeof(float);

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public float Round<TOps>(float x) where TOps : struct, IKernelOps => x;

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public float Read(ArrayView<byte> memory, ulong address, long index) => DeviceMemory.At<float>(memory, address + (ulong)index * sizeof(float));

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public float Write<TOps>(ArrayView<byte> memory, ulong address, long index, float x) where TOps : struct, IKernelOps
    {
        DeviceMemory.At<float>(memory, address + (ulong)index * sizeof(float)) = x;
        return x;
    }

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Load<TOps>(ArrayView<byte> memory, ulong address, long at, long end, bool full, out Lanes x) where TOps : struct, IKernelOps =>
        default(Fp32Format).Load<TOps>(memory, address, 0, at, end, full, out x);

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Store<TOps>(ArrayView<byte> memory, ulong address, long at, long end, bool full, in Lanes x) where TOps : struct, IKernelOps =>
        default(Fp32Format).Store<TOps>(memory, address, 0, at, end, full, x);
}
