namespace S3gd.Gpu.Muon;

/// <summary>How Muon scales the learning rate by a matrix's shape (torch.optim.Muon's <c>adjust_lr_fn</c>).</summary>
public enum MuonLrAdjust
{
    /// <summary>lr * sqrt(max(1, rows/cols)): torch's default.</summary>
    Original,

    /// <summary>0.2 * sqrt(max(rows, cols)) * lr: Moonshot's scaling that matches AdamW's update RMS.</summary>
    MatchRmsAdamW,
}

/// <summary>
/// Muon's hyperparameters with torch.optim.Muon's names and defaults (PyTorch 2.11). Parameters, gradients and the
/// momentum buffer are float32; Newton–Schulz runs in bf16 with float32 accumulation on CUDA and in float32 on the CPU.
/// </summary>
public sealed record MuonConfig
{
    /// <summary>The learning rate (torch's <c>lr</c>).</summary>
    public double Lr { get; init; } = 1e-3;

    /// <summary>Decoupled weight decay: p &lt;- p * (1 - lr * weight_decay).</summary>
    public double WeightDecay { get; init; } = 0.1;

    /// <summary>The momentum factor.</summary>
    public double Momentum { get; init; } = 0.95;

    /// <summary>Nesterov momentum: the update is lerp(g, buf, momentum) instead of buf.</summary>
    public bool Nesterov { get; init; } = true;

    /// <summary>Newton–Schulz coefficient a of X &lt;- a X + (b A + c A A) X (Keller Jordan's quintic by default).</summary>
    public double A { get; init; } = 3.4445;

    /// <summary>Newton–Schulz coefficient b.</summary>
    public double B { get; init; } = -4.7750;

    /// <summary>Newton–Schulz coefficient c.</summary>
    public double C { get; init; } = 2.0315;

    /// <summary>The floor of the Frobenius norm in the normalisation X / max(||X||_F, eps).</summary>
    public double Eps { get; init; } = 1e-7;

    /// <summary>Newton–Schulz iterations.</summary>
    public int NsSteps { get; init; } = 5;

    /// <summary>The learning-rate scaling by shape.</summary>
    public MuonLrAdjust AdjustLr { get; init; } = MuonLrAdjust.Original;

    /// <summary>torch rejects ns_steps of 100 or more.</summary>
    public const int MaxNsSteps = 99;

    /// <summary>Moonshot's factor of <see cref="MuonLrAdjust.MatchRmsAdamW"/>.</summary>
    private const double MatchRmsFactor = 0.2;

    /// <summary>The learning rate torch applies to a rows x cols matrix (spec Muon.adjustLr), for a step's <paramref name="lr"/>.</summary>
    public double AdjustedLr(double lr, int rows, int cols) => AdjustLr switch
    {
        MuonLrAdjust.Original => lr * Math.Sqrt(Math.Max(1.0, (double)rows / cols)),
        _ => MatchRmsFactor * Math.Sqrt(Math.Max(rows, cols)) * lr,
    };

    /// <summary>This configuration after checking every value; a bad one is an error naming it and its value.</summary>
    public MuonConfig Validated()
    {
        Check(Lr >= 0, nameof(Lr), Lr, ">= 0");
        Check(WeightDecay >= 0, nameof(WeightDecay), WeightDecay, ">= 0");
        Check(Momentum >= 0, nameof(Momentum), Momentum, ">= 0");
        Check(double.IsFinite(A), nameof(A), A, "finite");
        Check(double.IsFinite(B), nameof(B), B, "finite");
        Check(double.IsFinite(C), nameof(C), C, "finite");
        Check(Eps > 0, nameof(Eps), Eps, "> 0");
        if (NsSteps is < 1 or > MaxNsSteps)
            throw new ArgumentOutOfRangeException(nameof(NsSteps), NsSteps, $"{nameof(NsSteps)} must be in [1, {MaxNsSteps}]");
        if (!Enum.IsDefined(AdjustLr)) throw new ArgumentOutOfRangeException(nameof(AdjustLr), AdjustLr, "unknown lr adjustment");
        return this;
    }

    private static void Check(bool ok, string name, double value, string range)
    {
        if (!ok || double.IsNaN(value)) throw new ArgumentOutOfRangeException(name, value, $"{name} must be {range}, was {value}");
    }
}
