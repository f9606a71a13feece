namespace S3gd.Gpu.Elementwise;

/// <summary>
/// How the elementwise kernel is laid out on a GPU; results never depend on it (block scales are per
/// <see cref="ElementwiseLayout.ScaleBlock"/> elements of a tensor, whatever the chunk). `s3gd bench --layout tune`
/// measures the <see cref="Candidates"/>.
/// </summary>
/// <param name="Unroll">Groups of <see cref="ElementwiseLayout.Vec"/> elements per thread (1, 2 or 4): their loads are all in flight before any maths.</param>
/// <param name="SharedBytes">Dynamic shared memory reserved per block (0 to 48 KiB), unused: it caps the blocks an SM holds.</param>
/// <param name="MinBlocks">Blocks an SM must hold at once (0: the compiler's choice): caps each thread's registers.</param>
public readonly record struct ElementwiseLaunch(int Unroll, int SharedBytes, int MinBlocks = 0)
{
    /// <summary>The most dynamic shared memory a block gets without an opt-in attribute: 48 KiB.</summary>
    public const int MaxSharedBytes = 48 * 1024;

    /// <summary>The most blocks of 256 threads an SM holds (2048 threads).</summary>
    public const int MaxMinBlocks = 8;

    /// <summary>One group per thread, no occupancy cap.</summary>
    public static ElementwiseLaunch Default => new(1, 0);

    /// <summary>The layout a plan uses unless told: <see cref="Default"/>.</summary>
    public static ElementwiseLaunch For(ElementwiseConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        return Default;
    }

    /// <summary>The layouts `s3gd bench --layout tune` tries: every unroll, with the 48 KiB reservation or a register budget for 4 or 8 blocks an SM.</summary>
    public static IReadOnlyList<ElementwiseLaunch> Candidates { get; } =
        [.. from u in new[] { 1, 2, 4 }
            from cap in new[] { (0, 0), (MaxSharedBytes, 0), (0, 4), (0, 8) }
            select new ElementwiseLaunch(u, cap.Item1, cap.Item2)];

    /// <summary>Elements per block (the chunk a tensor is cut into).</summary>
    public int Chunk => ElementwiseLayout.Threads * ElementwiseLayout.Vec * Unroll;

    /// <summary>A short name: u1, u4-smem48K, u2-b4 (registers for 4 blocks an SM), ...</summary>
    public string Name => $"u{Unroll}" + (SharedBytes > 0 ? $"-smem{SharedBytes / 1024}K" : "") + (MinBlocks > 0 ? $"-b{MinBlocks}" : "");

    /// <summary>Checks the values; an error names the field and its value.</summary>
    public ElementwiseLaunch Validated()
    {
        if (Unroll is not (1 or 2 or 4)) throw new ArgumentOutOfRangeException(nameof(Unroll), Unroll, "must be 1, 2 or 4");
        if (SharedBytes is < 0 or > MaxSharedBytes) throw new ArgumentOutOfRangeException(nameof(SharedBytes), SharedBytes, $"must be 0 to {MaxSharedBytes}");
        if (MinBlocks is < 0 or > MaxMinBlocks) throw new ArgumentOutOfRangeException(nameof(MinBlocks), MinBlocks, $"must be 0 to {MaxMinBlocks}");
        return this;
    }

    /// <summary>Parses a <see cref="Name"/> back (u1, u2 or u4, optional -smem48K or -b4, -b8).</summary>
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
