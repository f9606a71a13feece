using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using ILGPU;

namespace S3gd.Gpu.Kernels;

/// <summary>One element of a storage format, converted exactly as the spec defines it (NaN codes included).</summary>
public interface IElementCodes
{
    /// <summary>Element <paramref name="i"/> of the codes at <paramref name="address"/> as float32 (an fp8 NaN as the canonical NaN).</summary>
    float Decode<TOps>(ArrayView<byte> memory, ulong address, long i) where TOps : struct, IKernelOps;

    /// <summary>Stores x's code as element <paramref name="i"/> (round to nearest even, fp8 satfinite, NaN as the spec encodes it).</summary>
    void Encode<TOps>(ArrayView<byte> memory, ulong address, long i, float x) where TOps : struct, IKernelOps;
}

/// <summary>float32 codes: the bits themselves.</summary>
public readonly struct Fp32Codes : IElementCodes
{
    /// <inheritdoc />
    public float Decode<TOps>(ArrayView<byte> memory, ulong address, long i) where TOps : struct, IKernelOps =>
        DeviceMemory.At<float>(memory, address + (ulong)i * 4);

    /// <inheritdoc />
    public void Encode<TOps>(ArrayView<byte> memory, ulong address, long i, float x) where TOps : struct, IKernelOps =>
        DeviceMemory.At<float>(memory, address + (ulong)i * 4) = x;
}

/// <summary>bf16 codes; a NaN keeps its sign and upper payload, made quiet (the instruction would give its canonical NaN).</summary>
public readonly struct Bf16Codes : IElementCodes
{
    /// <inheritdoc />
    public float Decode<TOps>(ArrayView<byte> memory, ulong address, long i) where TOps : struct, IKernelOps =>
        SoftwareConvert.DecodeBf16(DeviceMemory.At<ushort>(memory, address + (ulong)i * 2));

    /// <inheritdoc />
    public void Encode<TOps>(ArrayView<byte> memory, ulong address, long i, float x) where TOps : struct, IKernelOps =>
        DeviceMemory.At<ushort>(memory, address + (ulong)i * 2) =
            float.IsNaN(x) ? SoftwareConvert.EncodeBf16(x) : (ushort)default(TOps).EncodeBf16Pair(x, 0.0f);
}

/// <summary>fp8 codes of a codec; NaN encodes to 0x7F and decodes to the canonical float32 NaN.</summary>
public readonly struct Fp8Codes<TCodec> : IElementCodes
    where TCodec : struct, IFp8Codec
{
    /// <inheritdoc />
    public float Decode<TOps>(ArrayView<byte> memory, ulong address, long i) where TOps : struct, IKernelOps
    {
        default(TCodec).Decode<TOps>(DeviceMemory.At<byte>(memory, address + (ulong)i), out var x, out _);
        return float.IsNaN(x) ? Interop.IntAsFloat(SoftwareConvert.CanonicalNaN) : x;
    }

    /// <inheritdoc />
    public void Encode<TOps>(ArrayView<byte> memory, ulong address, long i, float x) where TOps : struct, IKernelOps =>
        DeviceMemory.At<byte>(memory, address + (ulong)i) = float.IsNaN(x) ? SoftwareConvert.Fp8NaN : (byte)default(TCodec).Encode<TOps>(x, 0.0f);
}

/// <summary>A conversion's arguments: the float32 side, the codes, the element count.</summary>
[StructLayout(LayoutKind.Sequential)]
public struct ConvertArgs
{
    /// <summary>Address of the float32 values.</summary>
    public ulong Values;
    /// <summary>Address of the codes.</summary>
    public ulong Codes;
    /// <summary>Elements.</summary>
    public long Length;
}

/// <summary>Format conversions between float32 and storage codes, one element per thread of a grid-stride loop.</summary>
public static class ConvertKernel
{
    /// <summary>Threads per block.</summary>
    public const int Threads = 256;

    /// <summary>float32 values to codes.</summary>
    public static void Encode<TOps, TCodes>(ArrayView<byte> memory, ConvertArgs args)
        where TOps : struct, IKernelOps
        where TCodes : struct, IElementCodes
    {
        for (var i = (long)Grid.IdxX * Group.DimX + Group.IdxX; i < args.Length; i += (long)Grid.DimX * Group.DimX)
            default(TCodes).Encode<TOps>(memory, args.Codes, i, DeviceMemory.At<float>(memory, args.Values + (ulong)i * 4));
    }

    /// <summary>Codes to float32 values.</summary>
    public static void Decode<TOps, TCodes>(ArrayView<byte> memory, ConvertArgs args)
        where TOps : struct, IKernelOps
        where TCodes : struct, IElementCodes
    {
        for (var i = (long)Grid.IdxX * Group.DimX + Group.IdxX; i < args.Length; i += (long)Grid.DimX * Group.DimX)
            DeviceMemory.At<float>(memory, args.Values + (ulong)i * 4) = default(TCodes).Decode<TOps>(memory, args.Codes, i);
    }
}
