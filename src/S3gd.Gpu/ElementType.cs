using S3gd.Spec.Formats;

namespace S3gd.Gpu;

/// <summary>The element type of a device buffer: one per storage format of the spec.</summary>
public enum ElementType
{
    /// <summary>IEEE float32 (4 bytes).</summary>
    Float32 = 0,
    /// <summary>bfloat16 codes (2 bytes).</summary>
    BFloat16 = 1,
    /// <summary>OCP fp8 e4m3fn codes (1 byte).</summary>
    Fp8E4M3 = 2,
    /// <summary>OCP fp8 e5m2 codes (1 byte).</summary>
    Fp8E5M2 = 3,
    /// <summary>OCP MX E8M0 scale bytes (1 byte): 2^(code - 127), 0xFF NaN; the block scales of block-scaled fp8 state, no value format.</summary>
    E8M0 = 4,
}

/// <summary>Sizes, names and the mapping between <see cref="ElementType"/> and the spec's <see cref="StorageFormat"/>.</summary>
public static class ElementTypes
{
    /// <summary>Every element type, in order of width.</summary>
    public static IReadOnlyList<ElementType> All { get; } =
        [ElementType.Float32, ElementType.BFloat16, ElementType.Fp8E4M3, ElementType.Fp8E5M2];

    /// <summary>Bytes per element.</summary>
    public static int SizeOf(this ElementType type) => type switch
    {
        ElementType.Float32 => 4,
        ElementType.BFloat16 => 2,
        ElementType.Fp8E4M3 or ElementType.Fp8E5M2 or ElementType.E8M0 => 1,
        _ => throw Unknown(type),
    };

    /// <summary>Whether the type is one of the two fp8 formats.</summary>
    public static bool IsFp8(this ElementType type) => type is ElementType.Fp8E4M3 or ElementType.Fp8E5M2;

    /// <summary>The spec's storage format of the type.</summary>
    internal static StorageFormat ToFormat(this ElementType type) => type switch
    {
        ElementType.Float32 => StorageFormat.Fp32,
        ElementType.BFloat16 => StorageFormat.Bf16,
        ElementType.Fp8E4M3 => StorageFormat.Fp8E4M3,
        ElementType.Fp8E5M2 => StorageFormat.Fp8E5M2,
        _ => throw Unknown(type),
    };

    /// <summary>The element type that stores a spec storage format.</summary>
    internal static ElementType FromFormat(StorageFormat format)
    {
        ArgumentNullException.ThrowIfNull(format);
        if (format.IsFp32) return ElementType.Float32;
        if (format.IsBf16) return ElementType.BFloat16;
        if (format.IsFp8E4M3) return ElementType.Fp8E4M3;
        return ElementType.Fp8E5M2;
    }

    /// <summary>The spec's name of the type's format: fp32, bf16, fp8e4m3, fp8e5m2; e8m0 for block scales.</summary>
    public static string Name(this ElementType type) => type == ElementType.E8M0 ? "e8m0" : StorageFormatModule.name(type.ToFormat());

    private static ArgumentOutOfRangeException Unknown(ElementType type) =>
        new(nameof(type), type, $"unknown element type {(int)type}");
}
