namespace S3gd.Gpu.Structured;

/// <summary>
/// How the structured kernels are laid out for a launch on a GPU (each layout is its own kernel specialisation); results
/// never depend on it (the sums' order is fixed by <see cref="StructuredLayout"/>). `s3gd bench --layout tune` measures
/// the <see cref="Candidates"/>. (The CUDA C kernels also had streaming cache hints, .cs; ILGPU's inline PTX cannot
/// write a vector load's four outputs, so the C# kernels move plain vectors.)
/// </summary>
/// <param name="Unroll">Runs of <see cref="StructuredLayout.Vec"/> elements per lane (1, 2 or 4) whose loads are all in flight before any maths.</param>
public readonly record struct StructuredLaunch(int Unroll)
{
    /// <summary>The layout a plan uses unless told: two runs per lane (16 elements, 64 bytes of each fp32 buffer in flight).</summary>
    public static StructuredLaunch Default => new(2);

    /// <summary>The layouts `s3gd bench --layout tune` tries: every unroll.</summary>
    public static IReadOnlyList<StructuredLaunch> Candidates { get; } = [new(1), new(2), new(4)];

    /// <summary>A short name: s1, s2 or s4 (s for structured).</summary>
    public string Name => $"s{Unroll}";

    /// <summary>Checks the values; an error names the field and its value.</summary>
    public StructuredLaunch Validated()
    {
        if (Unroll is not (1 or 2 or 4)) throw new ArgumentOutOfRangeException(nameof(Unroll), Unroll, "must be 1, 2 or 4");
        return this;
    }

    /// <summary>Parses a <see cref="Name"/> back (s1, s2 or s4).</summary>
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
