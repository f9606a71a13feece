using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using S3gd.Spec.Formats;

namespace S3gd.Gpu.Cpu;

/// <summary>
/// A buffer's storage as the fused step reads and writes it, one vector of float32 lanes (Vector512 or Vector256) at a
/// time: each load decodes one vector's codes and each store encodes it (<c>CpuConvert.Vectors.cs</c>), so decode, step
/// and encode stay in registers. A struct type parameter, so the step is compiled for its formats.
/// </summary>
internal interface ICpuLane
{
    /// <summary>Whether there is a buffer (without one, the step reads zeros and writes nothing).</summary>
    static abstract bool Kept { get; }

    /// <summary>Bytes an element.</summary>
    static abstract int Size { get; }

    /// <summary>The vector of elements from <paramref name="at"/> as float32.</summary>
    static abstract TV Load<TV>(ref byte at) where TV : struct;

    /// <summary>Stores a vector of float32 as the elements from <paramref name="at"/>.</summary>
    static abstract void Store<TV>(ref byte at, TV x) where TV : struct;
}

/// <summary>The lanes of buffers: which <see cref="ICpuLane"/> a format is, and where a piece starts.</summary>
internal static class CpuLanes
{
    /// <summary>The lane type of an unscaled format (null: no buffer; block-scaled state is stepped as float32 in a scratch).</summary>
    public static Type Of(StorageFormat? f) =>
        f is null ? typeof(NoLane)
        : f.IsFp32 ? typeof(Fp32Lane)
        : f.IsBf16 ? typeof(Bf16Lane)
        : f.IsFp8E4M3 ? typeof(E4M3Lane)
        : typeof(E5M2Lane);

    /// <summary>Element <paramref name="start"/> of a buffer of format <paramref name="f"/>.</summary>
    public static ref byte At(StorageFormat f, byte[] buffer, int start) =>
        ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(buffer), start * (f.IsFp32 ? sizeof(float) : f.IsBf16 ? sizeof(ushort) : sizeof(byte)));

    /// <summary>Whether <typeparamref name="TV"/> is the sixteen-lane vector (else it is the eight-lane one).</summary>
    public static bool IsWide<TV>() => typeof(TV) == typeof(Vector512<float>);

    /// <summary>A sixteen-lane vector as <typeparamref name="TV"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static TV From<TV>(Vector512<float> x) where TV : struct => Unsafe.BitCast<Vector512<float>, TV>(x);

    /// <summary>An eight-lane vector as <typeparamref name="TV"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static TV From<TV>(Vector256<float> x) where TV : struct => Unsafe.BitCast<Vector256<float>, TV>(x);

    /// <summary><typeparamref name="TV"/> as the sixteen-lane vector it is.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Wide<TV>(TV x) where TV : struct => Unsafe.BitCast<TV, Vector512<float>>(x);

    /// <summary><typeparamref name="TV"/> as the eight-lane vector it is.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Narrow<TV>(TV x) where TV : struct => Unsafe.BitCast<TV, Vector256<float>>(x);
}

/// <summary>No buffer: a state slot the configuration does not keep.</summary>
internal readonly struct NoLane : ICpuLane
{
    /// <inheritdoc />
    public static bool Kept => false;

    /// <inheritdoc />
    public static int Size => 0;

    /// <inheritdoc />
    public static TV Load<TV>(ref byte at) where TV : struct => default;

    /// <inheritdoc />
    public static void Store<TV>(ref byte at, TV x) where TV : struct
    {
    }
}

/// <summary>float32 elements, stepped where they lie.</summary>
internal readonly struct Fp32Lane : ICpuLane
{
    /// <inheritdoc />
    public static bool Kept => true;

    /// <inheritdoc />
    public static int Size => sizeof(float);

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static TV Load<TV>(ref byte at) where TV : struct => Unsafe.ReadUnaligned<TV>(ref at);

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Store<TV>(ref byte at, TV x) where TV : struct => Unsafe.WriteUnaligned(ref at, x);
}

/// <summary>bf16 codes.</summary>
internal readonly struct Bf16Lane : ICpuLane
{
    /// <inheritdoc />
    public static bool Kept => true;

    /// <inheritdoc />
    public static int Size => sizeof(ushort);

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static TV Load<TV>(ref byte at) where TV : struct
    {
        ref var codes = ref Unsafe.As<byte, ushort>(ref at);
        return CpuLanes.IsWide<TV>() ? CpuLanes.From<TV>(CpuConvert.LoadBf16x16(ref codes)) : CpuLanes.From<TV>(CpuConvert.LoadBf16x8(ref codes));
    }

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Store<TV>(ref byte at, TV x) where TV : struct
    {
        ref var codes = ref Unsafe.As<byte, ushort>(ref at);
        if (CpuLanes.IsWide<TV>()) CpuConvert.StoreBf16(CpuLanes.Wide(x), ref codes);
        else CpuConvert.StoreBf16(CpuLanes.Narrow(x), ref codes);
    }
}

/// <summary>Unscaled fp8 e4m3fn codes.</summary>
internal readonly struct E4M3Lane : ICpuLane
{
    /// <inheritdoc />
    public static bool Kept => true;

    /// <inheritdoc />
    public static int Size => sizeof(byte);

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static TV Load<TV>(ref byte at) where TV : struct =>
        CpuLanes.IsWide<TV>() ? CpuLanes.From<TV>(CpuConvert.LoadFp8x16(true, ref at)) : CpuLanes.From<TV>(CpuConvert.LoadFp8x8(true, ref at));

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Store<TV>(ref byte at, TV x) where TV : struct
    {
        if (CpuLanes.IsWide<TV>()) CpuConvert.StoreFp8(true, CpuLanes.Wide(x), ref at);
        else CpuConvert.StoreFp8(true, CpuLanes.Narrow(x), ref at);
    }
}

/// <summary>Unscaled fp8 e5m2 codes.</summary>
internal readonly struct E5M2Lane : ICpuLane
{
    /// <inheritdoc />
    public static bool Kept => true;

    /// <inheritdoc />
    public static int Size => sizeof(byte);

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static TV Load<TV>(ref byte at) where TV : struct =>
        CpuLanes.IsWide<TV>() ? CpuLanes.From<TV>(CpuConvert.LoadFp8x16(false, ref at)) : CpuLanes.From<TV>(CpuConvert.LoadFp8x8(false, ref at));

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Store<TV>(ref byte at, TV x) where TV : struct
    {
        if (CpuLanes.IsWide<TV>()) CpuConvert.StoreFp8(false, CpuLanes.Wide(x), ref at);
        else CpuConvert.StoreFp8(false, CpuLanes.Narrow(x), ref at);
    }
}
