using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using S3gd.Gpu.Kernels;

namespace S3gd.Gpu.Cpu;

/// <summary>
/// Whole spans of conversions, sixteen or eight float32 lanes at a time (Vector512, Vector256), each lane
/// rounding at the same quantum, to nearest even, as the one-value methods, which also take the tail and every element
/// where the hardware has no such vectors: results are the one-value results bit for bit (tests/Properties checks every
/// code, every float32 around the rounding boundaries and random bit patterns).
/// </summary>
public static partial class CpuConvert
{
    /// <summary>float32 lanes of a Vector256.</summary>
    private const int Lanes = 8;

    /// <summary>float32 lanes of a Vector512 (where the hardware has them, the spans' first pass; eight-lane vectors take what is left).</summary>
    internal const int WideLanes = 16;

    /// <summary>Elements of one fp8 store: four vectors of eight codes narrowed into one vector of 32 bytes.</summary>
    private const int Fp8Run = 4 * Lanes;

    /// <summary>Elements of one sixteen-lane fp8 store: four vectors of sixteen codes narrowed into one vector of 64 bytes.</summary>
    private const int WideFp8Run = 4 * WideLanes;

    /// <summary>The float32 mantissa field's width and mask.</summary>
    private const int Float32MantissaBits = 23;

    /// <summary>The float32 bits of +infinity: a larger magnitude is NaN.</summary>
    private const uint Float32Infinity = 0x7F800000;

    /// <summary>The float32 exponent bias.</summary>
    private const int Float32Bias = 127;

    /// <summary>The left shift that puts an fp8 code's sign bit on float32's.</summary>
    private const int Fp8Top = 24;

    /// <summary>Half a bf16 ulp less one, in float32 bits: added with the lowest kept bit, it rounds to nearest even.</summary>
    private const uint Bf16HalfUlp = 0x7FFF;

    /// <summary>The float32 bits a bf16 value keeps.</summary>
    private const uint Bf16Mask = 0xFFFF0000;

    /// <summary>bf16 codes to float32: each code is the upper half of its float32.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void DecodeBf16(ReadOnlySpan<ushort> codes, Span<float> y)
    {
        SameLength(codes.Length, y.Length);
        var i = 0;
        ref var c = ref MemoryMarshal.GetReference(codes);
        ref var w = ref Unsafe.As<float, uint>(ref MemoryMarshal.GetReference(y));
        if (Vector512.IsHardwareAccelerated)
        {
            for (; i + 2 * WideLanes <= codes.Length; i += 2 * WideLanes)
            {
                var (low, high) = Vector512.Widen(Vector512.LoadUnsafe(ref c, (nuint)i));
                Vector512.ShiftLeft(low, 16).StoreUnsafe(ref w, (nuint)i);
                Vector512.ShiftLeft(high, 16).StoreUnsafe(ref w, (nuint)(i + WideLanes));
            }
        }
        if (Vector256.IsHardwareAccelerated)
        {
            for (; i + 2 * Lanes <= codes.Length; i += 2 * Lanes)
            {
                var (low, high) = Vector256.Widen(Vector256.LoadUnsafe(ref c, (nuint)i));
                Vector256.ShiftLeft(low, 16).StoreUnsafe(ref w, (nuint)i);
                Vector256.ShiftLeft(high, 16).StoreUnsafe(ref w, (nuint)(i + Lanes));
            }
        }
        for (; i < codes.Length; i++) y[i] = DecodeBf16(codes[i]);
    }

    /// <summary>float32 to bf16 codes, as <see cref="EncodeBf16(float)"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void EncodeBf16(ReadOnlySpan<float> x, Span<ushort> codes)
    {
        SameLength(x.Length, codes.Length);
        var i = 0;
        ref var v = ref MemoryMarshal.GetReference(x);
        ref var c = ref MemoryMarshal.GetReference(codes);
        if (Vector512.IsHardwareAccelerated)
        {
            for (; i + 2 * WideLanes <= x.Length; i += 2 * WideLanes)
            {
                var low = Bf16Codes(Vector512.LoadUnsafe(ref v, (nuint)i));
                var high = Bf16Codes(Vector512.LoadUnsafe(ref v, (nuint)(i + WideLanes)));
                Vector512.Narrow(low, high).StoreUnsafe(ref c, (nuint)i);
            }
        }
        if (Vector256.IsHardwareAccelerated)
        {
            for (; i + 2 * Lanes <= x.Length; i += 2 * Lanes)
            {
                var low = Bf16Codes(Vector256.LoadUnsafe(ref v, (nuint)i));
                var high = Bf16Codes(Vector256.LoadUnsafe(ref v, (nuint)(i + Lanes)));
                Vector256.Narrow(low, high).StoreUnsafe(ref c, (nuint)i);
            }
        }
        for (; i < x.Length; i++) codes[i] = EncodeBf16(x[i]);
    }

    /// <summary>Each lane rounded to the nearest bf16 value (as float32), as <see cref="EncodeBf16(float)"/> then decoding.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector256<float> RoundBf16(Vector256<float> x) => (Bf16Bits(x) & Vector256.Create(Bf16Mask)).AsSingle();

    /// <summary>Each of sixteen lanes rounded to the nearest bf16 value (as float32), as <see cref="EncodeBf16(float)"/> then decoding.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector512<float> RoundBf16(Vector512<float> x) => (Bf16Bits(x) & Vector512.Create(Bf16Mask)).AsSingle();

    /// <summary>
    /// <see cref="RoundBf16(Vector256{float})"/> of lanes whose NaNs are quiet with the lower half of their bits zero, as
    /// arithmetic on bf16 values and non-NaN scalars returns them (x86 quiets the NaN it returns, an operand's or its
    /// default NaN): such a NaN's bits take no carry and stay, so the NaN case is not needed and the bits are the same.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector256<float> RoundBf16OfQuiet(Vector256<float> x) => (Bf16Rounded(x.AsUInt32()) & Vector256.Create(Bf16Mask)).AsSingle();

    /// <summary><see cref="RoundBf16OfQuiet(Vector256{float})"/> in sixteen lanes.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector512<float> RoundBf16OfQuiet(Vector512<float> x) => (Bf16Rounded(x.AsUInt32()) & Vector512.Create(Bf16Mask)).AsSingle();

    /// <summary>
    /// <see cref="RoundBf16(Vector256{float})"/> of lanes that hold bf16 values already (decoded bf16 codes): a NaN is
    /// made quiet, every other value stays.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector256<float> QuietBf16(Vector256<float> x) =>
        Vector256.ConditionalSelect(Vector256.Equals(x, x), x, (x.AsUInt32() | Vector256.Create(Bf16QuietBit << 16)).AsSingle());

    /// <summary><see cref="QuietBf16(Vector256{float})"/> in sixteen lanes.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector512<float> QuietBf16(Vector512<float> x) =>
        Vector512.ConditionalSelect(Vector512.Equals(x, x), x, (x.AsUInt32() | Vector512.Create(Bf16QuietBit << 16)).AsSingle());

    /// <summary>One value rounded to the nearest bf16 value, as float32.</summary>
    internal static float RoundBf16(float x) => DecodeBf16(EncodeBf16(x));

    /// <summary>A bf16 code's float32.</summary>
    internal static float DecodeBf16(ushort code) => BitConverter.UInt32BitsToSingle((uint)code << 16);

    /// <summary><see cref="EncodeBf16(float)"/> in every lane: the code in the low half of each 32-bit lane.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<uint> Bf16Codes(Vector256<float> x) => Vector256.ShiftRightLogical(Bf16Bits(x), 16);

    /// <summary><see cref="Bf16Codes(Vector256{float})"/> in sixteen lanes.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<uint> Bf16Codes(Vector512<float> x) => Vector512.ShiftRightLogical(Bf16Bits(x), 16);

    /// <summary>
    /// Each lane's bf16 code in its upper half, over bits that the code drops (<see cref="Bf16Rounded(Vector256{uint})"/>);
    /// a NaN's bits with the quiet bit set.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<uint> Bf16Bits(Vector256<float> x)
    {
        var b = x.AsUInt32();
        return Vector256.ConditionalSelect(~Vector256.Equals(x, x).AsUInt32(), b | Vector256.Create(Bf16QuietBit << 16), Bf16Rounded(b));
    }

    /// <summary>
    /// Float32 bits plus half a bf16 ulp less one plus the lowest kept bit: round to nearest even in the upper half, a carry
    /// moving up by itself (a NaN whose payload fills its upper half would carry into its sign: <see cref="Bf16Bits(Vector256{float})"/> leaves NaNs out).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<uint> Bf16Rounded(Vector256<uint> b) =>
        b + Vector256.Create(Bf16HalfUlp) + (Vector256.ShiftRightLogical(b, 16) & Vector256<uint>.One);

    /// <summary><see cref="Bf16Bits(Vector256{float})"/> in sixteen lanes.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<uint> Bf16Bits(Vector512<float> x)
    {
        var b = x.AsUInt32();
        return Vector512.ConditionalSelect(~Vector512.Equals(x, x).AsUInt32(), b | Vector512.Create(Bf16QuietBit << 16), Bf16Rounded(b));
    }

    /// <summary><see cref="Bf16Rounded(Vector256{uint})"/> in sixteen lanes.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<uint> Bf16Rounded(Vector512<uint> b) =>
        b + Vector512.Create(Bf16HalfUlp) + (Vector512.ShiftRightLogical(b, 16) & Vector512<uint>.One);

    /// <summary>
    /// fp8 codes (e4m3fn or e5m2) to float32, each times <paramref name="scale"/> (a block's scale; one float32 multiply;
    /// 1 multiplies nothing: x * 1 is x, a NaN included): 64 or 32 codes at a time decoded with integer steps
    /// (<see cref="Fp8Values(Fp8Layout, Vector256{uint})"/>), the tail through the one-value decode's table.
    /// </summary>
    // Compiled on its own, never inlined, so that each layout's loop is inlined into it with its constants folded.
    [MethodImpl(MethodImplOptions.AggressiveOptimization | MethodImplOptions.NoInlining)]
    internal static void DecodeFp8(bool e4m3, ReadOnlySpan<byte> codes, float scale, Span<float> y)
    {
        if (e4m3) DecodeFp8(E4M3, DecodeE4M3, codes, scale, y);
        else DecodeFp8(E5M2, DecodeE5M2, codes, scale, y);
    }

    /// <summary><see cref="DecodeFp8(bool, ReadOnlySpan{byte}, float, Span{float})"/> for one layout (its constants folded) and its decode table.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void DecodeFp8(Fp8Layout layout, float[] table, ReadOnlySpan<byte> codes, float scale, Span<float> y)
    {
        SameLength(codes.Length, y.Length);
        var multiply = scale != 1.0f;
        var i = 0;
        ref var c = ref MemoryMarshal.GetReference(codes);
        ref var w = ref MemoryMarshal.GetReference(y);
        if (Vector512.IsHardwareAccelerated)
        {
            var s = Vector512.Create(scale);
            for (; i + WideFp8Run <= codes.Length; i += WideFp8Run)
            {
                var (low, high) = Vector512.Widen(Vector512.LoadUnsafe(ref c, (nuint)i));
                var (x0, x1) = Vector512.Widen(low);
                var (x2, x3) = Vector512.Widen(high);
                var y0 = Fp8Values(layout, x0);
                var y1 = Fp8Values(layout, x1);
                var y2 = Fp8Values(layout, x2);
                var y3 = Fp8Values(layout, x3);
                if (multiply) (y0, y1, y2, y3) = (y0 * s, y1 * s, y2 * s, y3 * s);
                y0.StoreUnsafe(ref w, (nuint)i);
                y1.StoreUnsafe(ref w, (nuint)(i + WideLanes));
                y2.StoreUnsafe(ref w, (nuint)(i + 2 * WideLanes));
                y3.StoreUnsafe(ref w, (nuint)(i + 3 * WideLanes));
            }
        }
        if (Vector256.IsHardwareAccelerated)
        {
            var s = Vector256.Create(scale);
            for (; i + Fp8Run <= codes.Length; i += Fp8Run)
            {
                var (low, high) = Vector256.Widen(Vector256.LoadUnsafe(ref c, (nuint)i));
                var (x0, x1) = Vector256.Widen(low);
                var (x2, x3) = Vector256.Widen(high);
                var y0 = Fp8Values(layout, x0);
                var y1 = Fp8Values(layout, x1);
                var y2 = Fp8Values(layout, x2);
                var y3 = Fp8Values(layout, x3);
                if (multiply) (y0, y1, y2, y3) = (y0 * s, y1 * s, y2 * s, y3 * s);
                y0.StoreUnsafe(ref w, (nuint)i);
                y1.StoreUnsafe(ref w, (nuint)(i + Lanes));
                y2.StoreUnsafe(ref w, (nuint)(i + 2 * Lanes));
                y3.StoreUnsafe(ref w, (nuint)(i + 3 * Lanes));
            }
        }
        for (; i < codes.Length; i++) y[i] = multiply ? table[codes[i]] * scale : table[codes[i]];
    }

    /// <summary>
    /// The one-value fp8 decode in every lane (codes in the low byte of each lane), the same float32 bits. Shifting the code
    /// to the top and back arithmetically puts its exponent and mantissa fields under float32's (the sign copied above them,
    /// masked off), a float32 of 2^(bias - 127) times the code's value, normal or subnormal alike (a float32 subnormal is
    /// m 2^-126 as an fp8 subnormal is m 2^(1 - bias); .NET never flushes them): one exact multiply by 2^(127 - bias) re-biases it. Beyond the largest
    /// finite code: e5m2's first is infinity, every other the canonical NaN.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Fp8Values(Fp8Layout layout, Vector256<uint> code)
    {
        var (shift, fields, rebias) = Fp8DecodeConstants(layout);
        var bits = Vector256.ShiftRightArithmetic(Vector256.ShiftLeft(code, Fp8Top).AsInt32(), shift).AsUInt32() & Vector256.Create(fields);
        var finite = bits.AsSingle() * Vector256.Create(rebias);
        var magnitude = code & Vector256.Create(0x7Fu);
        var nan = Vector256.Create(SoftwareConvert.CanonicalNaN).AsSingle();
        var special = layout.HasInfinity
            ? Vector256.ConditionalSelect(Vector256.Equals(magnitude, Vector256.Create(layout.MaxCode + 1)).AsSingle(), (bits | Vector256.Create(Float32Infinity)).AsSingle(), nan)
            : nan;
        return Vector256.ConditionalSelect(Vector256.GreaterThan(magnitude, Vector256.Create(layout.MaxCode)).AsSingle(), special, finite);
    }

    /// <summary><see cref="Fp8Values(Fp8Layout, Vector256{uint})"/> in sixteen lanes.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> Fp8Values(Fp8Layout layout, Vector512<uint> code)
    {
        var (shift, fields, rebias) = Fp8DecodeConstants(layout);
        var bits = Vector512.ShiftRightArithmetic(Vector512.ShiftLeft(code, Fp8Top).AsInt32(), shift).AsUInt32() & Vector512.Create(fields);
        var finite = bits.AsSingle() * Vector512.Create(rebias);
        var magnitude = code & Vector512.Create(0x7Fu);
        var nan = Vector512.Create(SoftwareConvert.CanonicalNaN).AsSingle();
        var special = layout.HasInfinity
            ? Vector512.ConditionalSelect(Vector512.Equals(magnitude, Vector512.Create(layout.MaxCode + 1)).AsSingle(), (bits | Vector512.Create(Float32Infinity)).AsSingle(), nan)
            : nan;
        return Vector512.ConditionalSelect(Vector512.GreaterThan(magnitude, Vector512.Create(layout.MaxCode)).AsSingle(), special, finite);
    }

    /// <summary>
    /// The decode's constants for a format: the arithmetic shift from the code at the top of a lane to its fields under
    /// float32's, the bits kept after it (the sign and the fields), and 2^(127 - bias), the re-biasing factor.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static (int Shift, uint Fields, float Rebias) Fp8DecodeConstants(Fp8Layout layout) =>
        (Fp8Top - (Float32MantissaBits - layout.MantissaBits),
         0x80000000u | (0x7Fu << (Float32MantissaBits - layout.MantissaBits)),
         BitConverter.UInt32BitsToSingle((uint)(2 * Float32Bias - layout.Bias) << Float32MantissaBits));

    /// <summary>
    /// float32 to fp8 codes (e4m3fn or e5m2, satfinite), each value first multiplied by <paramref name="factor"/> (a block's
    /// inverse scale; one float32 multiply as the kernel's; 1 multiplies nothing: x * 1 is x, and every NaN encodes alike).
    /// </summary>
    // Compiled on its own, never inlined, so that each layout's loop is inlined into it with its constants folded.
    [MethodImpl(MethodImplOptions.AggressiveOptimization | MethodImplOptions.NoInlining)]
    internal static void EncodeFp8(bool e4m3, ReadOnlySpan<float> x, float factor, Span<byte> codes)
    {
        if (e4m3) EncodeFp8(E4M3, x, factor, codes);
        else EncodeFp8(E5M2, x, factor, codes);
    }

    /// <summary>
    /// float32 to block-scaled fp8 codes, as the kernels' <see cref="Kernels.ScaledFp8Format{TCodec}"/>: each block of
    /// <paramref name="blockSize"/> values (the last may be shorter) gets the E8M0 scale byte of its absmax (NaN left out;
    /// <see cref="Kernels.E8M0Scale.Of"/>), written to <paramref name="exponents"/>, and its values times the inverse scale
    /// are encoded (<see cref="EncodeFp8(bool, ReadOnlySpan{float}, float, Span{byte})"/>).
    /// </summary>
    // Compiled on its own, never inlined, so that each layout's loop is inlined into it with its constants folded.
    [MethodImpl(MethodImplOptions.AggressiveOptimization | MethodImplOptions.NoInlining)]
    internal static void EncodeFp8Scaled(bool e4m3, ReadOnlySpan<float> x, int blockSize, Span<byte> exponents, Span<byte> codes)
    {
        if (e4m3) EncodeFp8Scaled(E4M3, default(Kernels.E4M3).Max, x, blockSize, exponents, codes);
        else EncodeFp8Scaled(E5M2, default(Kernels.E5M2).Max, x, blockSize, exponents, codes);
    }

    /// <summary><see cref="EncodeFp8Scaled(bool, ReadOnlySpan{float}, int, Span{byte}, Span{byte})"/> for one layout (its constants folded) and its largest finite value.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void EncodeFp8Scaled(Fp8Layout layout, float largest, ReadOnlySpan<float> x, int blockSize, Span<byte> exponents, Span<byte> codes)
    {
        SameLength(x.Length, codes.Length);
        for (var b = 0; b < x.Length; b += blockSize)
        {
            var block = x.Slice(b, Math.Min(blockSize, x.Length - b));
            var exponent = Kernels.E8M0Scale.Of(BitConverter.SingleToUInt32Bits(AbsMax(block)), largest);
            EncodeFp8(layout, block, Kernels.E8M0Scale.Inverse(exponent), codes.Slice(b, block.Length));
            exponents[b / blockSize] = (byte)exponent;
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void EncodeFp8(Fp8Layout layout, ReadOnlySpan<float> x, float factor, Span<byte> codes)
    {
        SameLength(x.Length, codes.Length);
        var multiply = factor != 1.0f;
        var i = 0;
        ref var v = ref MemoryMarshal.GetReference(x);
        ref var c = ref MemoryMarshal.GetReference(codes);
        if (Vector512.IsHardwareAccelerated)
        {
            var d = Vector512.Create(factor);
            for (; i + WideFp8Run <= x.Length; i += WideFp8Run)
            {
                var x0 = Vector512.LoadUnsafe(ref v, (nuint)i);
                var x1 = Vector512.LoadUnsafe(ref v, (nuint)(i + WideLanes));
                var x2 = Vector512.LoadUnsafe(ref v, (nuint)(i + 2 * WideLanes));
                var x3 = Vector512.LoadUnsafe(ref v, (nuint)(i + 3 * WideLanes));
                if (multiply) (x0, x1, x2, x3) = (x0 * d, x1 * d, x2 * d, x3 * d);
                var low = Vector512.Narrow(Fp8Codes(layout, x0), Fp8Codes(layout, x1));
                var high = Vector512.Narrow(Fp8Codes(layout, x2), Fp8Codes(layout, x3));
                Vector512.Narrow(low, high).StoreUnsafe(ref c, (nuint)i);
            }
        }
        if (Vector256.IsHardwareAccelerated)
        {
            var d = Vector256.Create(factor);
            for (; i + Fp8Run <= x.Length; i += Fp8Run)
            {
                var x0 = Vector256.LoadUnsafe(ref v, (nuint)i);
                var x1 = Vector256.LoadUnsafe(ref v, (nuint)(i + Lanes));
                var x2 = Vector256.LoadUnsafe(ref v, (nuint)(i + 2 * Lanes));
                var x3 = Vector256.LoadUnsafe(ref v, (nuint)(i + 3 * Lanes));
                if (multiply) (x0, x1, x2, x3) = (x0 * d, x1 * d, x2 * d, x3 * d);
                var low = Vector256.Narrow(Fp8Codes(layout, x0), Fp8Codes(layout, x1));
                var high = Vector256.Narrow(Fp8Codes(layout, x2), Fp8Codes(layout, x3));
                Vector256.Narrow(low, high).StoreUnsafe(ref c, (nuint)i);
            }
        }
        for (; i < x.Length; i++) codes[i] = EncodeFp8(layout, multiply ? x[i] * factor : x[i]);
    }

    /// <summary>
    /// The one-value fp8 encode in every lane, with the same round to nearest even at the same quantum. A magnitude in
    /// fp8's normal range drops its low 23 - M bits: adding half a quantum less one plus the lowest kept bit, then shifting,
    /// rounds to nearest even (a carry moves to the next binade by itself), and the re-bias from 127 to the format's is
    /// subtracted before the shift. Below it (fp8 subnormals, float32 zeros and subnormals) the quantum is the fixed
    /// 2^(minExp - M): adding 2^(minExp - M + 23), whose ulp that is, rounds the sum to nearest even at it, and the sum's
    /// bits less the constant's count the quanta. Beyond the largest finite code (infinity included) saturates; NaN is 0x7F.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<uint> Fp8Codes(Fp8Layout layout, Vector256<float> x)
    {
        var bits = x.AsUInt32();
        var magnitude = bits & Vector256.Create(0x7FFFFFFFu);
        var sign = Vector256.ShiftRightLogical(bits, 24) & Vector256.Create(0x80u);
        var (drop, minNormal, offset, quantumSumBits) = Fp8EncodeConstants(layout);
        var lowest = Vector256.ShiftRightLogical(magnitude, drop) & Vector256<uint>.One;
        var normal = Vector256.ShiftRightLogical(magnitude + Vector256.Create(offset) + lowest, drop);
        var quantumSum = Vector256.Create(quantumSumBits);
        var subnormal = (magnitude.AsSingle() + quantumSum.AsSingle()).AsUInt32() - quantumSum;
        var code = Vector256.ConditionalSelect(Vector256.LessThan(magnitude, Vector256.Create(minNormal)), subnormal, normal);
        var finite = Vector256.Min(code, Vector256.Create(layout.MaxCode)) | sign;
        var isNaN = Vector256.GreaterThan(magnitude, Vector256.Create(Float32Infinity));
        return Vector256.ConditionalSelect(isNaN, Vector256.Create((uint)Fp8NaN), finite);
    }

    /// <summary>
    /// The encode's constants for a format: the float32 mantissa bits it drops, the float32 bits of 2^minExp (its smallest
    /// normal magnitude), half a quantum less one less the exponent re-bias (127 - bias) in place above the dropped bits,
    /// and the float32 bits of 2^(minExp - M + 23), whose ulp is the subnormal quantum.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static (int Drop, uint MinNormal, uint Offset, uint QuantumSum) Fp8EncodeConstants(Fp8Layout layout)
    {
        var drop = Float32MantissaBits - layout.MantissaBits;
        var minExponent = 1 - layout.Bias;
        return (drop,
            (uint)(minExponent + Float32Bias) << Float32MantissaBits,
            (1u << (drop - 1)) - 1u - ((uint)(Float32Bias - layout.Bias) << Float32MantissaBits),
            (uint)(minExponent - layout.MantissaBits + Float32MantissaBits + Float32Bias) << Float32MantissaBits);
    }

    /// <summary><see cref="Fp8Codes(Fp8Layout, Vector256{float})"/> in sixteen lanes.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<uint> Fp8Codes(Fp8Layout layout, Vector512<float> x)
    {
        var bits = x.AsUInt32();
        var magnitude = bits & Vector512.Create(0x7FFFFFFFu);
        var sign = Vector512.ShiftRightLogical(bits, 24) & Vector512.Create(0x80u);
        var (drop, minNormal, offset, quantumSumBits) = Fp8EncodeConstants(layout);
        var lowest = Vector512.ShiftRightLogical(magnitude, drop) & Vector512<uint>.One;
        var normal = Vector512.ShiftRightLogical(magnitude + Vector512.Create(offset) + lowest, drop);
        var quantumSum = Vector512.Create(quantumSumBits);
        var subnormal = (magnitude.AsSingle() + quantumSum.AsSingle()).AsUInt32() - quantumSum;
        var code = Vector512.ConditionalSelect(Vector512.LessThan(magnitude, Vector512.Create(minNormal)), subnormal, normal);
        var finite = Vector512.Min(code, Vector512.Create(layout.MaxCode)) | sign;
        var isNaN = Vector512.GreaterThan(magnitude, Vector512.Create(Float32Infinity));
        return Vector512.ConditionalSelect(isNaN, Vector512.Create((uint)Fp8NaN), finite);
    }

    /// <summary>
    /// The largest |x| of a span, NaN ignored (float.MaxNumber from 0: the order of the comparisons does not matter, so
    /// four vectors of lanes take turns, and AVX's max, which returns its second operand where the first is NaN, serves).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static float AbsMax(ReadOnlySpan<float> x)
    {
        var absmax = 0.0f;
        var i = 0;
        if (Avx.IsSupported && x.Length >= 4 * Lanes)
        {
            ref var v = ref MemoryMarshal.GetReference(x);
            var a = Vector256<float>.Zero;
            var b = a;
            var c = a;
            var d = a;
            for (; i + 4 * Lanes <= x.Length; i += 4 * Lanes)
            {
                a = Avx.Max(Vector256.Abs(Vector256.LoadUnsafe(ref v, (nuint)i)), a);
                b = Avx.Max(Vector256.Abs(Vector256.LoadUnsafe(ref v, (nuint)(i + Lanes))), b);
                c = Avx.Max(Vector256.Abs(Vector256.LoadUnsafe(ref v, (nuint)(i + 2 * Lanes))), c);
                d = Avx.Max(Vector256.Abs(Vector256.LoadUnsafe(ref v, (nuint)(i + 3 * Lanes))), d);
            }
            // No NaN is left and every lane is at least 0, as Largest needs.
            absmax = CpuLanes.Largest(Avx.Max(Avx.Max(a, b), Avx.Max(c, d)));
        }
        for (; i < x.Length; i++) absmax = float.MaxNumber(absmax, MathF.Abs(x[i]));
        return absmax;
    }

    private static void SameLength(int source, int destination)
    {
        if (source != destination)
            throw new ArgumentException($"a conversion writes as many elements as it reads: {source} read, room for {destination}", nameof(destination));
    }
}
