namespace S3gd.Gpu.Muon;

/// <summary>A parameter OAdamW orthogonalises: its index in the list and its matrix view (shape[0] x the rest).</summary>
public sealed record OAdamWMatrix(int Index, int Rows, int Cols);

/// <summary>OAdamW's split of a parameter list: the Newton–Schulz path and plain StableAdamW.</summary>
public sealed record OAdamWSplit(IReadOnlyList<OAdamWMatrix> Matrices, IReadOnlyList<int> Others);

/// <summary>
/// OAdamW's per-group keys of the Newton–Schulz path (jeb1399/OAdamW, spec S3gd.Spec.Rules.OAdamW): iterations, the
/// steps between recomputations (the orthogonalised gradient is reused in between) and the factor applied to it.
/// </summary>
public sealed record OAdamWMatrixConfig
{
    /// <summary>Newton–Schulz iterations per recomputation.</summary>
    public int NsSteps { get; init; } = 5;

    /// <summary>Steps between recomputations; 1 recomputes every step.</summary>
    public int UpdateProjGap { get; init; } = 1;

    /// <summary>The factor on NS(g) fed to the StableAdamW core.</summary>
    public double Scale { get; init; } = 1.0;

    /// <summary>
    /// The iteration's arithmetic on a kernel backend: float32 as the reference (the default), or bf16 as torch.optim.Muon
    /// (the spec's ns_precision); the CPU backend iterates in float32 either way.
    /// </summary>
    public NsPrecision Precision { get; init; } = NsPrecision.Float32;

    /// <summary>MuonProjector's eps: the normalisation is X / (||X||_F + 1e-7).</summary>
    public const double ProjectorEps = 1e-7;

    /// <summary>The iteration's settings as a Muon configuration: the quintic, <see cref="NsSteps"/> and <see cref="ProjectorEps"/>.</summary>
    public MuonConfig Iteration => new() { NsSteps = NsSteps, Eps = ProjectorEps };

    /// <summary>This configuration after checking every value; a bad one is an error naming it and its value.</summary>
    public OAdamWMatrixConfig Validated()
    {
        if (NsSteps < 1) throw new ArgumentOutOfRangeException(nameof(NsSteps), NsSteps, $"{nameof(NsSteps)} must be >= 1, was {NsSteps}");
        if (UpdateProjGap < 1)
            throw new ArgumentOutOfRangeException(nameof(UpdateProjGap), UpdateProjGap, $"{nameof(UpdateProjGap)} must be >= 1, was {UpdateProjGap}");
        if (!(Scale > 0) || double.IsInfinity(Scale)) throw new ArgumentOutOfRangeException(nameof(Scale), Scale, $"{nameof(Scale)} must be > 0 and finite, was {Scale}");
        if (!Enum.IsDefined(Precision)) throw new ArgumentOutOfRangeException(nameof(Precision), Precision, $"{nameof(Precision)} {Precision} is not a precision");
        return this;
    }

    /// <summary>
    /// Whether step <paramref name="step"/> (1-based, as the core's step count after it) orthogonalises the gradient
    /// afresh: when nothing is cached yet or the step is a multiple of the gap (the spec's rule).
    /// </summary>
    public bool Projects(int step, bool cached)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(step, 1);
        return !cached || step % UpdateProjGap == 0;
    }
}

/// <summary>OAdamW's automatic grouping, a host function to wire the Muon path beside a StableAdamW plan.</summary>
public static class OAdamWGroups
{
    /// <summary>
    /// Parameters of two or more dimensions go to the Newton–Schulz path, viewed as shape[0] x (the product of the rest);
    /// the others (vectors and scalars) to plain StableAdamW. A dimension below 1 is an error naming the parameter.
    /// </summary>
    public static OAdamWSplit Split(IReadOnlyList<IReadOnlyList<int>> shapes)
    {
        ArgumentNullException.ThrowIfNull(shapes);
        var matrices = new List<OAdamWMatrix>();
        var others = new List<int>();
        for (var i = 0; i < shapes.Count; i++)
        {
            var shape = shapes[i] ?? throw new ArgumentNullException(nameof(shapes), $"shapes[{i}] is null");
            if (shape.Any(d => d < 1))
                throw new ArgumentException($"shapes[{i}] is [{string.Join(", ", shape)}]; every dimension must be at least 1", nameof(shapes));
            if (shape.Count >= 2) matrices.Add(new OAdamWMatrix(i, shape[0], checked(shape.Skip(1).Aggregate(1, (a, d) => a * d))));
            else others.Add(i);
        }
        return new OAdamWSplit(matrices, others);
    }
}
