namespace S3gd.Gpu.Elementwise;

/// <summary>
/// How the CUDA elementwise kernel is laid out for a launch; results never depend on it (block scales are per
/// <see cref="ElementwiseLayout.ScaleBlock"/> elements of a tensor, whatever the chunk). `s3gd bench --layout tune` measures
/// the <see cref="Candidates"/>.
/// </summary>
/// <param name="Unroll">Groups of <see cref="ElementwiseLayout.Vec"/> elements per thread (1, 2 or 4): their loads are all in flight before any maths.</param>
/// <param name="SharedBytes">Dynamic shared memory reserved per block (0 to 48 KiB), unused: it caps the blocks an SM holds.</param>
/// <param name="Streaming">Vector loads and stores with the evict-first (.cs) cache hint.</param>
public readonly record struct ElementwiseLaunch(int Unroll, int SharedBytes, bool Streaming)
{
    /// <summary>The most dynamic shared memory a block gets without an opt-in attribute: 48 KiB.</summary>
    public const int MaxSharedBytes = 48 * 1024;

    /// <summary>Two groups per thread, no occupancy cap, plain loads and stores: the first layout, kept as a tuning candidate.</summary>
    public static ElementwiseLaunch Default => new(2, 0, false);

    /// <summary>
    /// The layout a plan uses unless told: what `s3gd bench --layout tune` found fastest on the H100 (2026-11-25,
    /// tools/device/README.md): one group per thread with streaming hints; without fp8 state also the 48 KiB
    /// reservation that caps the blocks per SM (fp8 state, with its conversions and block reductions, wanted more blocks).
    /// </summary>
    public static ElementwiseLaunch For(ElementwiseConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        return new ElementwiseLaunch(1, config.UsesFp8 ? 0 : MaxSharedBytes, true);
    }

    /// <summary>The layouts `s3gd bench --layout tune` tries: every unroll, with and without a 48 KiB reservation and streaming hints.</summary>
    public static IReadOnlyList<ElementwiseLaunch> Candidates { get; } =
        [.. from u in new[] { 1, 2, 4 } from smem in new[] { 0, MaxSharedBytes } from cs in new[] { false, true } select new ElementwiseLaunch(u, smem, cs)];

    /// <summary>Elements per block (the chunk a tensor is cut into).</summary>
    public int Chunk => ElementwiseLayout.Threads * ElementwiseLayout.Vec * Unroll;

    /// <summary>A short name: u2, u4-smem48K-cs, ...</summary>
    public string Name => $"u{Unroll}" + (SharedBytes > 0 ? $"-smem{SharedBytes / 1024}K" : "") + (Streaming ? "-cs" : "");

    /// <summary>Checks the values; an error names the field and its value.</summary>
    public ElementwiseLaunch Validated()
    {
        if (Unroll is not (1 or 2 or 4)) throw new ArgumentOutOfRangeException(nameof(Unroll), Unroll, "must be 1, 2 or 4");
        if (SharedBytes is < 0 or > MaxSharedBytes) throw new ArgumentOutOfRangeException(nameof(SharedBytes), SharedBytes, $"must be 0 to {MaxSharedBytes}");
        return this;
    }

    /// <summary>The compile-time defines of the layout; four groups get the whole register file (one block per SM at least).</summary>
    public IReadOnlyList<string> Defines() =>
        [$"-DUNROLL={Unroll}", $"-DMIN_BLOCKS={(Unroll >= 4 ? 1 : 2)}", $"-DSTREAMING={(Streaming ? 1 : 0)}"];

    /// <summary>Parses a <see cref="Name"/> back (u1, u2 or u4, optional -smem48K, optional -cs).</summary>
    public static ElementwiseLaunch Parse(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        return Candidates.Concat([Default]).FirstOrDefault(c => c.Name == name) is { Unroll: > 0 } found
            ? found
            : throw new ArgumentException($"unknown layout '{name}' (known: {string.Join(", ", Candidates.Select(c => c.Name))})", nameof(name));
    }

    /// <inheritdoc />
    public override string ToString() => Name;
}
