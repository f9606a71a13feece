namespace S3gd.Gpu.Structured;

/// <summary>
/// How the CUDA structured kernels are laid out for a launch; results never depend on it (the sums' order is fixed by
/// <see cref="StructuredLayout"/>). `s3gd bench --layout tune` measures the <see cref="Candidates"/>.
/// </summary>
/// <param name="Unroll">Runs of <see cref="StructuredLayout.Vec"/> elements per lane (1, 2 or 4) whose loads are all in flight before any maths.</param>
/// <param name="Streaming">Vector loads and stores with the evict-first (.cs) cache hint.</param>
public readonly record struct StructuredLaunch(int Unroll, bool Streaming)
{
    /// <summary>
    /// The layout a plan uses unless told: two runs per lane (16 elements, 64 bytes of each fp32 buffer in flight) with
    /// streaming hints, as the elementwise kernel's tuned default streams; not yet tuned on a GPU (`s3gd bench --layout tune`).
    /// </summary>
    public static StructuredLaunch Default => new(2, true);

    /// <summary>The layouts `s3gd bench --layout tune` tries: every unroll, with and without streaming hints.</summary>
    public static IReadOnlyList<StructuredLaunch> Candidates { get; } =
        [.. from u in new[] { 1, 2, 4 } from cs in new[] { false, true } select new StructuredLaunch(u, cs)];

    /// <summary>A short name: s2, s4-cs, ... (s for structured, as the elementwise names start with u).</summary>
    public string Name => $"s{Unroll}" + (Streaming ? "-cs" : "");

    /// <summary>Checks the values; an error names the field and its value.</summary>
    public StructuredLaunch Validated()
    {
        if (Unroll is not (1 or 2 or 4)) throw new ArgumentOutOfRangeException(nameof(Unroll), Unroll, "must be 1, 2 or 4");
        return this;
    }

    /// <summary>The compile-time defines of the layout.</summary>
    public IReadOnlyList<string> Defines() => [$"-DUNROLL={Unroll}", $"-DSTREAMING={(Streaming ? 1 : 0)}"];

    /// <summary>Parses a <see cref="Name"/> back (s1, s2 or s4, optional -cs).</summary>
    public static StructuredLaunch Parse(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        return Candidates.FirstOrDefault(c => c.Name == name) is { Unroll: > 0 } found
            ? found
            : throw new ArgumentException($"unknown structured layout '{name}' (known: {string.Join(", ", Candidates.Select(c => c.Name))})", nameof(name));
    }

    /// <inheritdoc />
    public override string ToString() => Name;
}
