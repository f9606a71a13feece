using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using S3gd.Gpu.Maths;
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

    /// <summary>Whether every value a load gives is a bf16 value already (bf16 maths' rounding of it only makes a NaN quiet).</summary>
    static abstract bool HoldsBf16 { get; }

    /// <summary>Elements [i, i + lanes) of a piece's buffer as float32.</summary>
    static abstract TV Load<TV>(in CpuLaneBuffer b, int i) where TV : struct;

    /// <summary>Stores a vector of float32 as elements [i, i + lanes) of a piece's buffer.</summary>
    static abstract void Store<TV>(in CpuLaneBuffer b, int i, TV x) where TV : struct;

    /// <summary>Whether the buffer is block-scaled fp8: its stores go to the scratch, encoded a block at a time (<see cref="EncodeBlocks"/>).</summary>
    static abstract bool Scaled { get; }

    /// <summary>
    /// Block-scaled: encodes the scratch's first <paramref name="count"/> elements (whole blocks) into the piece's codes,
    /// each block with the scale of its largest magnitude, written to its scale byte (others: nothing).
    /// </summary>
    static abstract void EncodeBlocks(in CpuLaneBuffer b, int count);
}

/// <summary>Where a piece's buffer lies: its first code, the float32 scratch its stepped values go to, and for block-scaled fp8 its first block's scale byte.</summary>
internal readonly ref struct CpuLaneBuffer
{
    /// <summary>The piece's first element in the storage.</summary>
    public readonly ref byte Codes;

    /// <summary>Block-scaled fp8: the scale byte of the piece's first block (a piece starts a block).</summary>
    public readonly ref byte Scales;

    /// <summary>The piece's float32 scratch: its stepped values (block-scaled fp8: encoded from it a block at a time with their blocks' new scales).</summary>
    public readonly ref float Values;

    /// <summary>A buffer of the given codes, scales and scratch (null references where the buffer has none).</summary>
    public CpuLaneBuffer(ref byte codes, ref byte scales, ref float values)
    {
        Codes = ref codes;
        Scales = ref scales;
        Values = ref values;
    }

    /// <summary>A buffer whose piece starts at <paramref name="codes"/>, without scratch or scales (the gradient; the Kahan compensation).</summary>
    public CpuLaneBuffer(ref byte codes) : this(ref codes, ref Unsafe.NullRef<byte>(), ref Unsafe.NullRef<float>())
    {
    }

    /// <summary>No buffer.</summary>
    public static CpuLaneBuffer None => new(ref Unsafe.NullRef<byte>());
}

/// <summary>The lanes of buffers: which <see cref="ICpuLane"/> a format is, and where a piece starts.</summary>
internal static class CpuLanes
{
    /// <summary>The lane type of a format (null: no buffer), block-scaled where <paramref name="blockScaled"/> (fp8 only).</summary>
    public static Type Of(StorageFormat? f, bool blockScaled = false)
    {
        if (f is null) return typeof(NoLane);
        if (f.IsFp32) return typeof(Fp32Lane);
        if (f.IsBf16) return typeof(Bf16Lane);
        return (blockScaled ? typeof(ScaledLane<>) : typeof(Fp8Lane<>)).MakeGenericType(Flags.Of(f.IsFp8E4M3));
    }

    /// <summary>Element <paramref name="start"/> of a buffer of format <paramref name="f"/>.</summary>
    public static ref byte At(StorageFormat f, byte[] buffer, int start) =>
        ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(buffer), start * (f.IsFp32 ? sizeof(float) : f.IsBf16 ? sizeof(ushort) : sizeof(byte)));

    /// <summary><see cref="CpuConvert.QuietBf16(Vector512{float})"/> in the lanes of <typeparamref name="TV"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static TV QuietBf16<TV>(TV x) where TV : struct =>
        IsWide<TV>() ? From<TV>(CpuConvert.QuietBf16(Wide(x))) : From<TV>(CpuConvert.QuietBf16(Narrow(x)));

    /// <summary>Whether <typeparamref name="TV"/> is the sixteen-lane vector (else it is the eight-lane one).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
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

    /// <summary>Keeps a stepped vector as elements [i, i + lanes) of a piece's float32 scratch.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Keep<TV>(in CpuLaneBuffer b, int i, TV x) where TV : struct =>
        Unsafe.WriteUnaligned(ref Unsafe.As<float, byte>(ref Unsafe.Add(ref b.Values, i)), x);

    /// <summary>Elements [i, i + lanes) of a piece's float32 scratch, as <see cref="Keep"/> kept them.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static TV Kept<TV>(in CpuLaneBuffer b, int i) where TV : struct =>
        Unsafe.ReadUnaligned<TV>(ref Unsafe.As<float, byte>(ref Unsafe.Add(ref b.Values, i)));

    /// <summary>The largest lane of <paramref name="x"/>, whose lanes are no NaN and at least 0 (so any order of max gives it).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Largest<TV>(TV x) where TV : struct
    {
        var lanes = IsWide<TV>() ? Avx.Max(Wide(x).GetLower(), Wide(x).GetUpper()) : Narrow(x);
        var four = Sse.Max(lanes.GetLower(), lanes.GetUpper());
        var two = Sse.Max(four, Sse.MoveHighToLow(four, four));
        return Sse.MaxScalar(two, Sse.Shuffle(two, two, 1)).ToScalar();
    }
}

/// <summary>No buffer: a state slot the configuration does not keep.</summary>
internal readonly struct NoLane : ICpuLane
{
    /// <inheritdoc />
    public static bool Scaled => false;

    /// <inheritdoc />
    public static void EncodeBlocks(in CpuLaneBuffer b, int count)
    {
    }

    /// <inheritdoc />
    public static bool Kept => false;

    /// <inheritdoc />
    public static int Size => 0;

    /// <inheritdoc />
    public static bool HoldsBf16 => true;

    /// <inheritdoc />
    public static TV Load<TV>(in CpuLaneBuffer b, int i) where TV : struct => default;

    /// <inheritdoc />
    public static void Store<TV>(in CpuLaneBuffer b, int i, TV x) where TV : struct
    {
    }
}

/// <summary>float32 elements, stepped where they lie.</summary>
internal readonly struct Fp32Lane : ICpuLane
{
    /// <inheritdoc />
    public static bool Scaled => false;

    /// <inheritdoc />
    public static void EncodeBlocks(in CpuLaneBuffer b, int count)
    {
    }

    /// <inheritdoc />
    public static bool Kept => true;

    /// <inheritdoc />
    public static int Size => sizeof(float);

    /// <inheritdoc />
    public static bool HoldsBf16 => false;

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static TV Load<TV>(in CpuLaneBuffer b, int i) where TV : struct => Unsafe.ReadUnaligned<TV>(ref Unsafe.Add(ref b.Codes, i * Size));

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Store<TV>(in CpuLaneBuffer b, int i, TV x) where TV : struct => Unsafe.WriteUnaligned(ref Unsafe.Add(ref b.Codes, i * Size), x);
}

/// <summary>bf16 codes.</summary>
internal readonly struct Bf16Lane : ICpuLane
{
    /// <inheritdoc />
    public static bool Scaled => false;

    /// <inheritdoc />
    public static void EncodeBlocks(in CpuLaneBuffer b, int count)
    {
    }

    /// <inheritdoc />
    public static bool Kept => true;

    /// <inheritdoc />
    public static int Size => sizeof(ushort);

    /// <inheritdoc />
    public static bool HoldsBf16 => true;

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static TV Load<TV>(in CpuLaneBuffer b, int i) where TV : struct
    {
        ref var codes = ref Unsafe.As<byte, ushort>(ref Unsafe.Add(ref b.Codes, i * Size));
        return CpuLanes.IsWide<TV>() ? CpuLanes.From<TV>(CpuConvert.LoadBf16x16(ref codes)) : CpuLanes.From<TV>(CpuConvert.LoadBf16x8(ref codes));
    }

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Store<TV>(in CpuLaneBuffer b, int i, TV x) where TV : struct
    {
        ref var codes = ref Unsafe.As<byte, ushort>(ref Unsafe.Add(ref b.Codes, i * Size));
        if (CpuLanes.IsWide<TV>()) CpuConvert.StoreBf16(CpuLanes.Wide(x), ref codes);
        else CpuConvert.StoreBf16(CpuLanes.Narrow(x), ref codes);
    }

    /// <summary>Stores a vector of bf16 maths' values (NaNs quiet with the lower half zero) as elements [i, i + lanes), as <see cref="Store"/> does.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void StoreOfQuiet<TV>(in CpuLaneBuffer b, int i, TV x) where TV : struct
    {
        ref var codes = ref Unsafe.As<byte, ushort>(ref Unsafe.Add(ref b.Codes, i * Size));
        if (CpuLanes.IsWide<TV>()) CpuConvert.StoreBf16OfQuiet(CpuLanes.Wide(x), ref codes);
        else CpuConvert.StoreBf16OfQuiet(CpuLanes.Narrow(x), ref codes);
    }

    /// <summary>
    /// Stores a vector of bf16 values (as float32; a NaN quiet) as elements [i, i + lanes): their upper halves, which is
    /// what <see cref="Store"/>'s rounding gives them (the Kahan and stochastic updates' parameters; they need bf16 ones).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void StoreRounded<TV>(in CpuLaneBuffer b, int i, TV x) where TV : struct
    {
        ref var codes = ref Unsafe.As<byte, ushort>(ref Unsafe.Add(ref b.Codes, i * Size));
        if (CpuLanes.IsWide<TV>()) CpuConvert.StoreBf16Upper(CpuLanes.Wide(x), ref codes);
        else CpuConvert.StoreBf16Upper(CpuLanes.Narrow(x), ref codes);
    }
}

/// <summary>Unscaled fp8 codes: e4m3fn where <typeparamref name="TE4M3"/> is on, else e5m2.</summary>
internal readonly struct Fp8Lane<TE4M3> : ICpuLane
    where TE4M3 : struct, IFlag
{
    /// <inheritdoc />
    public static bool Scaled => false;

    /// <inheritdoc />
    public static void EncodeBlocks(in CpuLaneBuffer b, int count)
    {
    }

    /// <inheritdoc />
    public static bool Kept => true;

    /// <inheritdoc />
    public static int Size => sizeof(byte);

    /// <inheritdoc />
    public static bool HoldsBf16 => false;

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static TV Load<TV>(in CpuLaneBuffer b, int i) where TV : struct =>
        CpuLanes.IsWide<TV>()
            ? CpuLanes.From<TV>(CpuConvert.LoadFp8x16(default(TE4M3).IsOn, ref Unsafe.Add(ref b.Codes, i)))
            : CpuLanes.From<TV>(CpuConvert.LoadFp8x8(default(TE4M3).IsOn, ref Unsafe.Add(ref b.Codes, i)));

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Store<TV>(in CpuLaneBuffer b, int i, TV x) where TV : struct
    {
        if (CpuLanes.IsWide<TV>()) CpuConvert.StoreFp8(default(TE4M3).IsOn, CpuLanes.Wide(x), ref Unsafe.Add(ref b.Codes, i));
        else CpuConvert.StoreFp8(default(TE4M3).IsOn, CpuLanes.Narrow(x), ref Unsafe.Add(ref b.Codes, i));
    }
}
