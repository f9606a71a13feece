namespace S3gd.Gpu.Structured;

/// <summary>
/// How the structured warp kernels (a warp per segment: whole groups of at most 1024 elements and an fp8 moment's update
/// of split groups) are laid out for a launch on a GPU, with the register budget that also caps the block kernel of long
/// whole groups (each layout is its own kernel specialisation); results never depend on it (the sums' order is fixed by <see cref="StructuredLayout"/>). `s3gd bench --layout tune` measures
/// the <see cref="Candidates"/>. (The CUDA C kernels also had streaming cache hints, .cs; ILGPU's inline PTX cannot
/// write a vector load's four outputs, so the C# kernels move plain vectors.)
/// </summary>
/// <param name="Unroll">Runs of <see cref="StructuredLayout.Vec"/> elements per lane (1, 2 or 4) whose loads are all in flight before any maths.</param>
/// <param name="MinBlocks">Blocks an SM must hold at once (0: the compiler's choice): caps each thread's registers.</param>
public readonly record struct StructuredLaunch(int Unroll, int MinBlocks = 0)
{
    /// <summary>The most blocks of 256 threads an SM holds (2048 threads).</summary>
    public const int MaxMinBlocks = 8;

    /// <summary>
    /// The layout a plan of <paramref name="config"/> uses unless told, chosen on the H100 at 64M parameters and on GPT-2's
    /// shapes (tools/device/README.md): StableAdamW two runs per lane, one with a Kahan compensation (whose five buffers'
    /// runs otherwise hold 154 registers a thread); Adam-mini one run (the warp kernel of GPT-2's 768-element rows then
    /// holds fewer registers and more warps an SM), with a register budget of 3 blocks an SM for its fp8 moment, whose
    /// long whole groups take the block kernel WholeBlock (0.803/0.733 of the copy against 0.692/0.627 with the
    /// compiler's 88 registers and 0.693/0.675 with 4 blocks' 64). Since the split groups and long whole groups took
    /// the block kernels, StableAdamW's layout shapes only tensors of at most 1024 elements.
    /// </summary>
    public static StructuredLaunch For(StructuredConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        if (config.Rule == StructuredRule.AdamMini) return new(1, config.MomentIsFp8 ? ThreeBlocks : 0);
        return new(config.HasCompensation ? 1 : 2);
    }

    /// <summary>A register budget of three blocks of 256 threads an SM (80 registers a thread).</summary>
    private const int ThreeBlocks = 3;

    /// <summary>The layouts `s3gd bench --layout tune` tries: every unroll, with the compiler's registers or a budget for 3 or 4 blocks an SM.</summary>
    public static IReadOnlyList<StructuredLaunch> Candidates { get; } =
        [.. from u in new[] { 1, 2, 4 } from b in new[] { 0, 3, 4 } select new StructuredLaunch(u, b)];

    /// <summary>A short name: s1, s2 or s4 (s for structured), -b3 for a register budget of 3 blocks an SM.</summary>
    public string Name => $"s{Unroll}" + (MinBlocks > 0 ? $"-b{MinBlocks}" : "");

    /// <summary>Checks the values; an error names the field and its value.</summary>
    public StructuredLaunch Validated()
    {
        if (Unroll is not (1 or 2 or 4)) throw new ArgumentOutOfRangeException(nameof(Unroll), Unroll, "must be 1, 2 or 4");
        if (MinBlocks is < 0 or > MaxMinBlocks) throw new ArgumentOutOfRangeException(nameof(MinBlocks), MinBlocks, $"must be 0 to {MaxMinBlocks}");
        return this;
    }

    /// <summary>Parses a <see cref="Name"/> back (s1, s2 or s4, optional -b3 or -b4).</summary>
    public static StructuredLaunch Parse(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        foreach (var candidate in Candidates)
            if (candidate.Name == name) return candidate;
        throw new ArgumentException($"unknown structured layout '{name}' (known: {string.Join(", ", Candidates.Select(c => c.Name))})", nameof(name));
    }

    /// <inheritdoc />
    public override string ToString() => Name;
}
