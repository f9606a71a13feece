using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace S3gd.Gpu.Cpu;

/// <summary>
/// One vector of conversions at a time, read from and written to the storage (the fused step's loads and stores):
/// the spans' lane operations (<see cref="Bf16Codes(Vector512{float})"/>, <see cref="Fp8Values(Fp8Layout, Vector512{uint})"/>,
/// <see cref="Fp8Codes(Fp8Layout, Vector512{float})"/>) on sixteen or eight elements, so the results are theirs bit for bit.
/// Codes narrow with AVX-512's truncating moves where there are some (each code fits its width: truncation is narrowing).
/// </summary>
public static partial class CpuConvert
{
    /// <summary>Sixteen bf16 codes from <paramref name="codes"/> as float32.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector512<float> LoadBf16x16(ref ushort codes) =>
        Vector512.ShiftLeft(Vector512.WidenLower(Vector256.LoadUnsafe(ref codes).ToVector512Unsafe()), 16).AsSingle();

    /// <summary>Eight bf16 codes from <paramref name="codes"/> as float32.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector256<float> LoadBf16x8(ref ushort codes) =>
        Vector256.ShiftLeft(Vector256.WidenLower(Vector128.LoadUnsafe(ref codes).ToVector256Unsafe()), 16).AsSingle();

    /// <summary>Sixteen float32 stored as bf16 codes (<see cref="EncodeBf16(float)"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void StoreBf16(Vector512<float> x, ref ushort codes)
    {
        var c = Bf16Codes(x);
        (Avx512F.IsSupported ? Avx512F.ConvertToVector256UInt16(c) : Vector512.Narrow(c, c).GetLower()).StoreUnsafe(ref codes);
    }

    /// <summary>Eight float32 stored as bf16 codes (<see cref="EncodeBf16(float)"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void StoreBf16(Vector256<float> x, ref ushort codes)
    {
        var c = Bf16Codes(x);
        (Avx512F.VL.IsSupported ? Avx512F.VL.ConvertToVector128UInt16(c) : Vector256.Narrow(c, c).GetLower()).StoreUnsafe(ref codes);
    }

    /// <summary>Sixteen float32 whose NaNs are quiet with the lower half zero stored as bf16 codes (<see cref="RoundBf16OfQuiet(Vector512{float})"/>'s).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void StoreBf16OfQuiet(Vector512<float> x, ref ushort codes)
    {
        var c = Vector512.ShiftRightLogical(Bf16Rounded(x.AsUInt32()), 16);
        (Avx512F.IsSupported ? Avx512F.ConvertToVector256UInt16(c) : Vector512.Narrow(c, c).GetLower()).StoreUnsafe(ref codes);
    }

    /// <summary>Eight float32 whose NaNs are quiet with the lower half zero stored as bf16 codes (<see cref="RoundBf16OfQuiet(Vector256{float})"/>'s).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void StoreBf16OfQuiet(Vector256<float> x, ref ushort codes)
    {
        var c = Vector256.ShiftRightLogical(Bf16Rounded(x.AsUInt32()), 16);
        (Avx512F.VL.IsSupported ? Avx512F.VL.ConvertToVector128UInt16(c) : Vector256.Narrow(c, c).GetLower()).StoreUnsafe(ref codes);
    }

    /// <summary>Sixteen bf16 values (as float32, a NaN quiet) stored as their codes: the upper halves of their bits.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void StoreBf16Upper(Vector512<float> x, ref ushort codes)
    {
        var c = Vector512.ShiftRightLogical(x.AsUInt32(), 16);
        (Avx512F.IsSupported ? Avx512F.ConvertToVector256UInt16(c) : Vector512.Narrow(c, c).GetLower()).StoreUnsafe(ref codes);
    }

    /// <summary>Eight bf16 values (as float32, a NaN quiet) stored as their codes: the upper halves of their bits.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void StoreBf16Upper(Vector256<float> x, ref ushort codes)
    {
        var c = Vector256.ShiftRightLogical(x.AsUInt32(), 16);
        (Avx512F.VL.IsSupported ? Avx512F.VL.ConvertToVector128UInt16(c) : Vector256.Narrow(c, c).GetLower()).StoreUnsafe(ref codes);
    }

    /// <summary>Sixteen unscaled fp8 codes (e4m3fn or e5m2) from <paramref name="codes"/> as float32.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector512<float> LoadFp8x16(bool e4m3, ref byte codes)
    {
        var words = Vector512.WidenLower(Vector256.WidenLower(Vector128.LoadUnsafe(ref codes).ToVector256Unsafe()).ToVector512Unsafe());
        return e4m3 ? Fp8Values(E4M3, words) : Fp8Values(E5M2, words);
    }

    /// <summary>Eight unscaled fp8 codes (e4m3fn or e5m2) from <paramref name="codes"/> as float32.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector256<float> LoadFp8x8(bool e4m3, ref byte codes)
    {
        var bytes = Vector128.CreateScalarUnsafe(Unsafe.ReadUnaligned<ulong>(ref codes)).AsByte();
        var words = Vector256.WidenLower(Vector128.WidenLower(bytes).ToVector256Unsafe());
        return e4m3 ? Fp8Values(E4M3, words) : Fp8Values(E5M2, words);
    }

    /// <summary>Sixteen float32 stored as unscaled fp8 codes (satfinite, as <see cref="EncodeFp8(bool, ReadOnlySpan{float}, float, Span{byte})"/> with factor 1).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void StoreFp8(bool e4m3, Vector512<float> x, ref byte codes)
    {
        var c = e4m3 ? Fp8Codes(E4M3, x) : Fp8Codes(E5M2, x);
        if (Avx512F.IsSupported)
        {
            Avx512F.ConvertToVector128Byte(c).StoreUnsafe(ref codes);
            return;
        }
        var halves = Vector512.Narrow(c, c);
        Vector512.Narrow(halves, halves).GetLower().GetLower().StoreUnsafe(ref codes);
    }

    /// <summary>Eight float32 stored as unscaled fp8 codes (satfinite, as <see cref="EncodeFp8(bool, ReadOnlySpan{float}, float, Span{byte})"/> with factor 1).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void StoreFp8(bool e4m3, Vector256<float> x, ref byte codes)
    {
        var c = e4m3 ? Fp8Codes(E4M3, x) : Fp8Codes(E5M2, x);
        var bytes = Avx512F.VL.IsSupported ? Avx512F.VL.ConvertToVector128Byte(c) : Vector256.Narrow(Vector256.Narrow(c, c), Vector256.Narrow(c, c)).GetLower();
        Unsafe.WriteUnaligned(ref codes, bytes.AsUInt64().ToScalar());
    }
}
