namespace S3gd.Gpu.Elementwise;

/// <summary>
/// How the elementwise kernel is laid out on a GPU; results never depend on it (block scales are per
/// <see cref="ElementwiseLayout.ScaleBlock"/> elements of a tensor, whatever the launch). `s3gd bench --layout tune` measures
/// the <see cref="Candidates"/>.
/// </summary>
/// <param name="SharedBytes">Dynamic shared memory reserved per block (0 to 48 KiB), unused: it caps the blocks an SM holds.</param>
public readonly record struct ElementwiseLaunch(int SharedBytes)
{
    /// <summary>The most dynamic shared memory a block gets without an opt-in attribute: 48 KiB.</summary>
    public const int MaxSharedBytes = 48 * 1024;

    /// <summary>No occupancy cap.</summary>
    public static ElementwiseLaunch Default => new(0);

    /// <summary>The layout a plan uses unless told: <see cref="Default"/>.</summary>
    public static ElementwiseLaunch For(ElementwiseConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        return Default;
    }

    /// <summary>The layouts `s3gd bench --layout tune` tries: with and without the 48 KiB reservation.</summary>
    public static IReadOnlyList<ElementwiseLaunch> Candidates { get; } = [new(0), new(MaxSharedBytes)];

    /// <summary>A short name: plain or smem48K.</summary>
    public string Name => SharedBytes > 0 ? $"smem{SharedBytes / 1024}K" : "plain";

    /// <summary>Checks the values; an error names the field and its value.</summary>
    public ElementwiseLaunch Validated()
    {
        if (SharedBytes is < 0 or > MaxSharedBytes) throw new ArgumentOutOfRangeException(nameof(SharedBytes), SharedBytes, $"must be 0 to {MaxSharedBytes}");
        return this;
    }

    /// <summary>Parses a <see cref="Name"/> back (plain or smemNK).</summary>
    public static ElementwiseLaunch Parse(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        foreach (var candidate in Candidates)
            if (candidate.Name == name) return candidate;
        throw new ArgumentException($"unknown layout '{name}' (known: {string.Join(", ", Candidates.Select(c => c.Name))})", nameof(name));
    }

    /// <inheritdoc />
    public override string ToString() => Name;
}
