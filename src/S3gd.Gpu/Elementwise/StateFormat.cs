using S3gd.Spec.Formats;

namespace S3gd.Gpu.Elementwise;

/// <summary>How one state buffer is stored: an element type and, for fp8, whether it is block-scaled.</summary>
/// <param name="Format">The element type of the codes.</param>
/// <param name="BlockScaled">fp8 with one power-of-two E8M0 scale byte per <see cref="ElementwiseLayout.ScaleBlock"/> elements (the smallest 2^e with absmax / 2^e &lt;= max finite).</param>
public readonly record struct StateFormat(ElementType Format, bool BlockScaled)
{
    /// <summary>The same format from the spec's storage format of the codes.</summary>
    internal StateFormat(StorageFormat format, bool blockScaled) : this(ElementTypes.FromFormat(format), blockScaled)
    {
    }

    /// <summary>float32 state.</summary>
    public static StateFormat Fp32 => new(ElementType.Float32, false);

    /// <summary>bf16 state.</summary>
    public static StateFormat Bf16 => new(ElementType.BFloat16, false);

    /// <summary>The spec's storage format of the codes.</summary>
    internal StorageFormat Storage => Format.ToFormat();

    /// <summary>The name as the command line writes it: fp32, bf16, fp8e4m3 (block-scaled), fp8e4m3-unscaled, ...</summary>
    public string Name => Format.Name() + (IsFp8 && !BlockScaled ? "-unscaled" : "");

    /// <summary>Whether the codes are fp8.</summary>
    public bool IsFp8 => Format.IsFp8();

    /// <summary>
    /// Parses fp32, bf16, fp8e4m3, fp8e5m2 (block-scaled: the fp8 default) or fp8e4m3-unscaled, fp8e5m2-unscaled
    /// (saturating, no scale: only for bounded state such as S3GD's momentum).
    /// </summary>
    public static StateFormat Parse(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        const string unscaled = "-unscaled";
        var plain = name.EndsWith(unscaled, StringComparison.OrdinalIgnoreCase) ? name[..^unscaled.Length] : name;
        var parsed = StorageFormatModule.parse(plain);
        if (parsed.IsError)
            throw new ArgumentException($"state format '{name}': {parsed.ErrorValue} (fp8 formats may end in {unscaled})", nameof(name));
        var format = parsed.ResultValue;
        var fp8 = format.IsFp8E4M3 || format.IsFp8E5M2;
        if (!fp8 && plain.Length != name.Length)
            throw new ArgumentException($"state format '{name}': only fp8 formats are block-scaled, so only they take {unscaled}", nameof(name));
        return new StateFormat(format, fp8 && plain.Length == name.Length);
    }

    /// <inheritdoc />
    public override string ToString() => Name;
}
