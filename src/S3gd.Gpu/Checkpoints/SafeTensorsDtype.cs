namespace S3gd.Gpu.Checkpoints;

/// <summary>The safetensors dtype names (as huggingface/safetensors spells them) with their element sizes, and the ones S3gd buffers use.</summary>
public static class SafeTensorsDtype
{
    /// <summary>Every dtype the format defines, with bytes per element.</summary>
    public static IReadOnlyDictionary<string, int> Sizes { get; } = new Dictionary<string, int>(StringComparer.Ordinal)
    {
        ["BOOL"] = 1, ["U8"] = 1, ["I8"] = 1, ["F8_E4M3"] = 1, ["F8_E5M2"] = 1, ["F8_E8M0"] = 1,
        ["I16"] = 2, ["U16"] = 2, ["F16"] = 2, ["BF16"] = 2,
        ["I32"] = 4, ["U32"] = 4, ["F32"] = 4,
        ["I64"] = 8, ["U64"] = 8, ["F64"] = 8,
    };

    /// <summary>The dtype name of an element type: F32, BF16, F8_E4M3, F8_E5M2, F8_E8M0 (torch's float8_e8m0fnu).</summary>
    public static string Of(ElementType type) => type switch
    {
        ElementType.Float32 => "F32",
        ElementType.BFloat16 => "BF16",
        ElementType.Fp8E4M3 => "F8_E4M3",
        ElementType.Fp8E5M2 => "F8_E5M2",
        ElementType.E8M0 => "F8_E8M0",
        _ => throw new ArgumentOutOfRangeException(nameof(type), type, "unknown element type"),
    };
}
