using System.Runtime.CompilerServices;
using ILGPU;

namespace S3gd.Gpu.Kernels;

/// <summary>
/// A buffer's storage format inside a kernel: loads and stores of one group of <see cref="Lanes.Count"/> elements as
/// float32. A <c>full</c> group lies inside the buffer at an aligned address and moves as one vector; any other is moved
/// element by element, elements at or past <c>end</c> reading as 0 and never written. Block-scaled formats also read and
/// write their E8M0 scale bytes (one per <see cref="KernelFormat.ScaleBlock"/> elements) at <c>scales</c>; every lane of the warp must
/// call their stores, whose block maximum is a warp reduction.
/// </summary>
public interface IKernelFormat
{
    /// <summary>
    /// Whether every value a load gives is a bf16 value (bf16, unscaled fp8, a slot not kept), so bf16 maths need not
    /// round it again (on a GPU the rounding is an instruction the compiler cannot prove redundant).
    /// </summary>
    bool Bf16Exact { get; }

    /// <summary>Bytes an element takes in the buffer (its codes; 0 where nothing is kept).</summary>
    int Bytes { get; }

    /// <summary>Loads elements [at, at + 8) of the buffer at <paramref name="address"/>.</summary>
    void Load<TOps>(ArrayView<byte> memory, ulong address, ulong scales, long at, long end, bool full, out Lanes x)
        where TOps : struct, IKernelOps;

    /// <summary>Stores elements [at, at + 8) (those before <paramref name="end"/>) of the buffer at <paramref name="address"/>.</summary>
    void Store<TOps>(ArrayView<byte> memory, ulong address, ulong scales, long at, long end, bool full, in Lanes x)
        where TOps : struct, IKernelOps;
}

/// <summary>The numbers the kernels' storage formats share.</summary>
public static class KernelFormat
{
    /// <summary>Elements per block scale of block-scaled fp8 (the spec's BlockScaled.DefaultBlockSize).</summary>
    public const int ScaleBlock = S3gd.Spec.Formats.BlockScaledModule.DefaultBlockSize;

    /// <summary>Lanes of a warp that hold one scale block (<see cref="ScaleBlock"/> / <see cref="Lanes.Count"/>).</summary>
    public const int LanesPerScaleBlock = ScaleBlock / Lanes.Count;

    /// <summary>The float32 of bf16 code word halves: the low half of <paramref name="word"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Low(uint word) => Interop.IntAsFloat(word << 16);

    /// <summary>The float32 of the high bf16 half of <paramref name="word"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float High(uint word) => Interop.IntAsFloat(word & 0xFFFF0000u);
}

/// <summary>float32 storage: two 16-byte vectors a group.</summary>
public readonly struct Fp32Format : IKernelFormat
{
    /// <inheritdoc />
    public bool Bf16Exact => false;

    /// <inheritdoc />
    public int Bytes => 4;

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Load<TOps>(ArrayView<byte> memory, ulong address, ulong scales, long at, long end, bool full, out Lanes x)
        where TOps : struct, IKernelOps
    {
        var a = address + (ulong)at * (ulong)Bytes;
        if (full)
        {
            var u = DeviceMemory.At16(memory, a);
            var v = DeviceMemory.At16(memory, a + 16);
            x.E0 = Interop.IntAsFloat(u.X); x.E1 = Interop.IntAsFloat(u.Y); x.E2 = Interop.IntAsFloat(u.Z); x.E3 = Interop.IntAsFloat(u.W);
            x.E4 = Interop.IntAsFloat(v.X); x.E5 = Interop.IntAsFloat(v.Y); x.E6 = Interop.IntAsFloat(v.Z); x.E7 = Interop.IntAsFloat(v.W);
            return;
        }
        x.E0 = at < end ? DeviceMemory.At<float>(memory, a) : 0.0f;
        x.E1 = at + 1 < end ? DeviceMemory.At<float>(memory, a + 4) : 0.0f;
        x.E2 = at + 2 < end ? DeviceMemory.At<float>(memory, a + 8) : 0.0f;
        x.E3 = at + 3 < end ? DeviceMemory.At<float>(memory, a + 12) : 0.0f;
        x.E4 = at + 4 < end ? DeviceMemory.At<float>(memory, a + 16) : 0.0f;
        x.E5 = at + 5 < end ? DeviceMemory.At<float>(memory, a + 20) : 0.0f;
        x.E6 = at + 6 < end ? DeviceMemory.At<float>(memory, a + 24) : 0.0f;
        x.E7 = at + 7 < end ? DeviceMemory.At<float>(memory, a + 28) : 0.0f;
    }

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Store<TOps>(ArrayView<byte> memory, ulong address, ulong scales, long at, long end, bool full, in Lanes x)
        where TOps : struct, IKernelOps
    {
        var a = address + (ulong)at * (ulong)Bytes;
        if (full)
        {
            Words4 u, v;
            u.X = Interop.FloatAsInt(x.E0); u.Y = Interop.FloatAsInt(x.E1); u.Z = Interop.FloatAsInt(x.E2); u.W = Interop.FloatAsInt(x.E3);
            v.X = Interop.FloatAsInt(x.E4); v.Y = Interop.FloatAsInt(x.E5); v.Z = Interop.FloatAsInt(x.E6); v.W = Interop.FloatAsInt(x.E7);
            DeviceMemory.At16(memory, a) = u;
            DeviceMemory.At16(memory, a + 16) = v;
            return;
        }
        if (at < end) DeviceMemory.At<float>(memory, a) = x.E0;
        if (at + 1 < end) DeviceMemory.At<float>(memory, a + 4) = x.E1;
        if (at + 2 < end) DeviceMemory.At<float>(memory, a + 8) = x.E2;
        if (at + 3 < end) DeviceMemory.At<float>(memory, a + 12) = x.E3;
        if (at + 4 < end) DeviceMemory.At<float>(memory, a + 16) = x.E4;
        if (at + 5 < end) DeviceMemory.At<float>(memory, a + 20) = x.E5;
        if (at + 6 < end) DeviceMemory.At<float>(memory, a + 24) = x.E6;
        if (at + 7 < end) DeviceMemory.At<float>(memory, a + 28) = x.E7;
    }
}

/// <summary>bf16 storage: one 16-byte vector a group; stores round to nearest even.</summary>
public readonly struct Bf16Format : IKernelFormat
{
    /// <inheritdoc />
    public bool Bf16Exact => true;

    /// <inheritdoc />
    public int Bytes => 2;

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Load<TOps>(ArrayView<byte> memory, ulong address, ulong scales, long at, long end, bool full, out Lanes x)
        where TOps : struct, IKernelOps
    {
        var a = address + (ulong)at * (ulong)Bytes;
        if (full)
        {
            var w = DeviceMemory.At16(memory, a);
            x.E0 = KernelFormat.Low(w.X); x.E1 = KernelFormat.High(w.X); x.E2 = KernelFormat.Low(w.Y); x.E3 = KernelFormat.High(w.Y);
            x.E4 = KernelFormat.Low(w.Z); x.E5 = KernelFormat.High(w.Z); x.E6 = KernelFormat.Low(w.W); x.E7 = KernelFormat.High(w.W);
            return;
        }
        x.E0 = at < end ? Element(memory, a) : 0.0f;
        x.E1 = at + 1 < end ? Element(memory, a + 2) : 0.0f;
        x.E2 = at + 2 < end ? Element(memory, a + 4) : 0.0f;
        x.E3 = at + 3 < end ? Element(memory, a + 6) : 0.0f;
        x.E4 = at + 4 < end ? Element(memory, a + 8) : 0.0f;
        x.E5 = at + 5 < end ? Element(memory, a + 10) : 0.0f;
        x.E6 = at + 6 < end ? Element(memory, a + 12) : 0.0f;
        x.E7 = at + 7 < end ? Element(memory, a + 14) : 0.0f;
    }

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Store<TOps>(ArrayView<byte> memory, ulong address, ulong scales, long at, long end, bool full, in Lanes x)
        where TOps : struct, IKernelOps
    {
        TOps ops = default;
        var a = address + (ulong)at * (ulong)Bytes;
        Words4 w;
        w.X = ops.EncodeBf16Pair(x.E0, x.E1);
        w.Y = ops.EncodeBf16Pair(x.E2, x.E3);
        w.Z = ops.EncodeBf16Pair(x.E4, x.E5);
        w.W = ops.EncodeBf16Pair(x.E6, x.E7);
        if (full)
        {
            DeviceMemory.At16(memory, a) = w;
            return;
        }
        if (at < end) DeviceMemory.At<ushort>(memory, a) = (ushort)w.X;
        if (at + 1 < end) DeviceMemory.At<ushort>(memory, a + 2) = (ushort)(w.X >> 16);
        if (at + 2 < end) DeviceMemory.At<ushort>(memory, a + 4) = (ushort)w.Y;
        if (at + 3 < end) DeviceMemory.At<ushort>(memory, a + 6) = (ushort)(w.Y >> 16);
        if (at + 4 < end) DeviceMemory.At<ushort>(memory, a + 8) = (ushort)w.Z;
        if (at + 5 < end) DeviceMemory.At<ushort>(memory, a + 10) = (ushort)(w.Z >> 16);
        if (at + 6 < end) DeviceMemory.At<ushort>(memory, a + 12) = (ushort)w.W;
        if (at + 7 < end) DeviceMemory.At<ushort>(memory, a + 14) = (ushort)(w.W >> 16);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float Element(ArrayView<byte> memory, ulong address) => SoftwareConvert.DecodeBf16(DeviceMemory.At<ushort>(memory, address));
}

/// <summary>An fp8 format's codec: pairs of codes to float32 and back, and its largest finite value.</summary>
public interface IFp8Codec
{
    /// <summary>The largest finite magnitude (448 for e4m3fn, 57344 for e5m2).</summary>
    float Max { get; }

    /// <summary>Two values to two codes (the first in the low byte), satfinite.</summary>
    uint Encode<TOps>(float first, float second) where TOps : struct, IKernelOps;

    /// <summary>Two codes (the low byte first) to two values.</summary>
    void Decode<TOps>(uint codes, out float first, out float second) where TOps : struct, IKernelOps;
}

/// <summary>fp8 e4m3fn.</summary>
public readonly struct E4M3 : IFp8Codec
{
    /// <summary>The largest magnitude that rounds to a zero code: 2^-10, half the smallest subnormal 2^-9, a tie that goes to the even zero.</summary>
    public const float LargestFlushed = 1.0f / 1024.0f;

    /// <inheritdoc />
    public float Max => 448.0f;

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public uint Encode<TOps>(float first, float second) where TOps : struct, IKernelOps => default(TOps).EncodeE4M3Pair(first, second);

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Decode<TOps>(uint codes, out float first, out float second) where TOps : struct, IKernelOps =>
        default(TOps).DecodeE4M3Pair(codes, out first, out second);
}

/// <summary>fp8 e5m2.</summary>
public readonly struct E5M2 : IFp8Codec
{
    /// <inheritdoc />
    public float Max => 57344.0f;

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public uint Encode<TOps>(float first, float second) where TOps : struct, IKernelOps => default(TOps).EncodeE5M2Pair(first, second);

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Decode<TOps>(uint codes, out float first, out float second) where TOps : struct, IKernelOps =>
        default(TOps).DecodeE5M2Pair(codes, out first, out second);
}

/// <summary>fp8 codes without a scale (saturating: only for bounded state): one 8-byte vector a group.</summary>
public readonly struct Fp8Format<TCodec> : IKernelFormat
    where TCodec : struct, IFp8Codec
{
    /// <inheritdoc />
    public bool Bf16Exact => true;

    /// <inheritdoc />
    public int Bytes => 1;

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Load<TOps>(ArrayView<byte> memory, ulong address, ulong scales, long at, long end, bool full, out Lanes x)
        where TOps : struct, IKernelOps
    {
        var w = LoadCodes(memory, address + (ulong)at, at, end, full);
        Decode<TOps>(w, out x);
    }

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Store<TOps>(ArrayView<byte> memory, ulong address, ulong scales, long at, long end, bool full, in Lanes x)
        where TOps : struct, IKernelOps =>
        StoreCodes(memory, address + (ulong)at, at, end, full, Encode<TOps>(x));

    /// <summary>The group's 8 codes as two words (code e in byte e % 4 of word e / 4); past the end 0.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Words2 LoadCodes(ArrayView<byte> memory, ulong a, long at, long end, bool full)
    {
        if (full) return DeviceMemory.At8(memory, a);
        Words2 w;
        w.X = Code(memory, a, at, end, 0) | Code(memory, a, at, end, 1) << 8 | Code(memory, a, at, end, 2) << 16 | Code(memory, a, at, end, 3) << 24;
        w.Y = Code(memory, a, at, end, 4) | Code(memory, a, at, end, 5) << 8 | Code(memory, a, at, end, 6) << 16 | Code(memory, a, at, end, 7) << 24;
        return w;
    }

    /// <summary>Stores the group's codes (those before the end).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void StoreCodes(ArrayView<byte> memory, ulong a, long at, long end, bool full, Words2 w)
    {
        if (full)
        {
            DeviceMemory.At8(memory, a) = w;
            return;
        }
        if (at < end) DeviceMemory.At<byte>(memory, a) = (byte)w.X;
        if (at + 1 < end) DeviceMemory.At<byte>(memory, a + 1) = (byte)(w.X >> 8);
        if (at + 2 < end) DeviceMemory.At<byte>(memory, a + 2) = (byte)(w.X >> 16);
        if (at + 3 < end) DeviceMemory.At<byte>(memory, a + 3) = (byte)(w.X >> 24);
        if (at + 4 < end) DeviceMemory.At<byte>(memory, a + 4) = (byte)w.Y;
        if (at + 5 < end) DeviceMemory.At<byte>(memory, a + 5) = (byte)(w.Y >> 8);
        if (at + 6 < end) DeviceMemory.At<byte>(memory, a + 6) = (byte)(w.Y >> 16);
        if (at + 7 < end) DeviceMemory.At<byte>(memory, a + 7) = (byte)(w.Y >> 24);
    }

    /// <summary>Two code words to the group's values.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Decode<TOps>(Words2 w, out Lanes x) where TOps : struct, IKernelOps
    {
        TCodec codec = default;
        codec.Decode<TOps>(w.X & 0xFFFFu, out x.E0, out x.E1);
        codec.Decode<TOps>(w.X >> 16, out x.E2, out x.E3);
        codec.Decode<TOps>(w.Y & 0xFFFFu, out x.E4, out x.E5);
        codec.Decode<TOps>(w.Y >> 16, out x.E6, out x.E7);
    }

    /// <summary>The group's values to two code words.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Words2 Encode<TOps>(in Lanes x) where TOps : struct, IKernelOps
    {
        TCodec codec = default;
        Words2 w;
        w.X = codec.Encode<TOps>(x.E0, x.E1) | codec.Encode<TOps>(x.E2, x.E3) << 16;
        w.Y = codec.Encode<TOps>(x.E4, x.E5) | codec.Encode<TOps>(x.E6, x.E7) << 16;
        return w;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static uint Code(ArrayView<byte> memory, ulong a, long at, long end, int e) =>
        at + e < end ? DeviceMemory.At<byte>(memory, a + (ulong)e) : 0u;
}

/// <summary>
/// Block-scaled fp8 (the spec's BlockScaled): one E8M0 scale byte per <see cref="KernelFormat.ScaleBlock"/> elements, the
/// power of two 2^e with e the smallest such that absmax / 2^e fits the format (<see cref="E8M0Scale.Of"/>), the codes of
/// x * 2^-e. A block is 16 consecutive lanes of a warp (chunks start at multiples of the block within their tensor), so
/// its absmax is a shuffle reduction over them. The products with the scale are multiplications
/// (<see cref="IKernelOps.Multiply"/>), never contracted, and exact.
/// </summary>
public readonly struct ScaledFp8Format<TCodec> : IKernelFormat
    where TCodec : struct, IFp8Codec
{
    /// <inheritdoc />
    public bool Bf16Exact => false;

    /// <inheritdoc />
    public int Bytes => 1;

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Load<TOps>(ArrayView<byte> memory, ulong address, ulong scales, long at, long end, bool full, out Lanes x)
        where TOps : struct, IKernelOps
    {
        Fp8Format<TCodec>.Decode<TOps>(Fp8Format<TCodec>.LoadCodes(memory, address + (ulong)at, at, end, full), out x);
        var scale = at < end ? E8M0Scale.Scale(DeviceMemory.At<byte>(memory, scales + (ulong)(at / KernelFormat.ScaleBlock))) : 1.0f;
        TOps ops = default;
        x.E0 = ops.Multiply(x.E0, scale); x.E1 = ops.Multiply(x.E1, scale); x.E2 = ops.Multiply(x.E2, scale); x.E3 = ops.Multiply(x.E3, scale);
        x.E4 = ops.Multiply(x.E4, scale); x.E5 = ops.Multiply(x.E5, scale); x.E6 = ops.Multiply(x.E6, scale); x.E7 = ops.Multiply(x.E7, scale);
    }

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Store<TOps>(ArrayView<byte> memory, ulong address, ulong scales, long at, long end, bool full, in Lanes x)
        where TOps : struct, IKernelOps
    {
        // |x| as float32 bits orders as unsigned integers (NaN left out as 0, as fmaxf leaves it out): integer maxima,
        // then the block's 16 lanes by shuffles.
        var bits = Magnitude(x.E0, at, end);
        bits = Math.Max(bits, Magnitude(x.E1, at + 1, end));
        bits = Math.Max(bits, Magnitude(x.E2, at + 2, end));
        bits = Math.Max(bits, Magnitude(x.E3, at + 3, end));
        bits = Math.Max(bits, Magnitude(x.E4, at + 4, end));
        bits = Math.Max(bits, Magnitude(x.E5, at + 5, end));
        bits = Math.Max(bits, Magnitude(x.E6, at + 6, end));
        bits = Math.Max(bits, Magnitude(x.E7, at + 7, end));
        bits = Math.Max(bits, Warp.ShuffleXor(bits, KernelFormat.LanesPerScaleBlock / 2));
        bits = Math.Max(bits, Warp.ShuffleXor(bits, KernelFormat.LanesPerScaleBlock / 4));
        bits = Math.Max(bits, Warp.ShuffleXor(bits, KernelFormat.LanesPerScaleBlock / 8));
        bits = Math.Max(bits, Warp.ShuffleXor(bits, KernelFormat.LanesPerScaleBlock / 16));
        var exponent = E8M0Scale.Of(bits, default(TCodec).Max);
        var inverse = E8M0Scale.Inverse(exponent);
        TOps ops = default;
        Lanes q;
        q.E0 = ops.Multiply(x.E0, inverse); q.E1 = ops.Multiply(x.E1, inverse); q.E2 = ops.Multiply(x.E2, inverse); q.E3 = ops.Multiply(x.E3, inverse);
        q.E4 = ops.Multiply(x.E4, inverse); q.E5 = ops.Multiply(x.E5, inverse); q.E6 = ops.Multiply(x.E6, inverse); q.E7 = ops.Multiply(x.E7, inverse);
        Fp8Format<TCodec>.StoreCodes(memory, address + (ulong)at, at, end, full, Fp8Format<TCodec>.Encode<TOps>(q));
        if (KernelIndex.Rem(at, KernelFormat.ScaleBlock) == 0 && at < end) DeviceMemory.At<byte>(memory, scales + (ulong)(at / KernelFormat.ScaleBlock)) = (byte)exponent;
    }

    /// <summary>The float32 bits of |x| for element <paramref name="index"/> before <paramref name="end"/>; 0 for NaN and past the end.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static uint Magnitude(float x, long index, long end) => index < end && !float.IsNaN(x) ? Interop.FloatAsInt(x) & 0x7FFFFFFFu : 0u;
}

/// <summary>A state slot the configuration does not keep: reads as zeros, stores nothing.</summary>
public readonly struct NoFormat : IKernelFormat
{
    /// <inheritdoc />
    public bool Bf16Exact => true;

    /// <inheritdoc />
    public int Bytes => 0;

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Load<TOps>(ArrayView<byte> memory, ulong address, ulong scales, long at, long end, bool full, out Lanes x)
        where TOps : struct, IKernelOps => x = default;

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Store<TOps>(ArrayView<byte> memory, ulong address, ulong scales, long at, long end, bool full, in Lanes x)
        where TOps : struct, IKernelOps
    {
    }
}
