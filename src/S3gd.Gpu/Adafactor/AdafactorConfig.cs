using S3gd.Spec.Rules;

namespace S3gd.Gpu.Adafactor;

/// <summary>
/// torch.optim.Adafactor's hyperparameters with its names and defaults (PyTorch 2.11; torch's <c>eps</c> pair as
/// <see cref="Eps1"/> and <see cref="Eps2"/>). Parameters, gradients and the second moments are float32, the maths float32.
/// </summary>
public sealed record AdafactorConfig
{
    /// <summary>float32's machine epsilon, torch.finfo(torch.float32).eps: eps1's None for float32 parameters.</summary>
    public static readonly double Float32Eps = S3gd.Spec.Rules.Adafactor.float32Eps;

    /// <summary>The largest relative step size, rho = min(lr, 1/sqrt(t)), and the decay's rate (torch's <c>lr</c>).</summary>
    public double Lr { get; init; } = 1e-2;

    /// <summary>The moments' lerp weight is t^beta2_decay (torch's <c>beta2_decay</c>, at most 0).</summary>
    public double Beta2Decay { get; init; } = -0.8;

    /// <summary>The floor of the row mean and, squared, of V (torch's <c>eps[0]</c>); null is torch's None, float32's machine epsilon.</summary>
    public double? Eps1 { get; init; }

    /// <summary>The floor of the parameter RMS in the step size (torch's <c>eps[1]</c>).</summary>
    public double Eps2 { get; init; } = 1e-3;

    /// <summary>The clipping threshold of the update RMS (torch's <c>d</c>, at least 1).</summary>
    public double D { get; init; } = 1.0;

    /// <summary>Decoupled weight decay: p &lt;- p * (1 - lr * weight_decay).</summary>
    public double WeightDecay { get; init; }

    /// <summary>Maximize the objective: the gradient is negated.</summary>
    public bool Maximize { get; init; }

    /// <summary>eps1 as the step uses it: <see cref="Eps1"/>, or float32's machine epsilon for None.</summary>
    public double Eps1Value => Eps1 ?? Float32Eps;

    /// <summary>This configuration, checked as torch's constructor checks it; an error names the value.</summary>
    public AdafactorConfig Validated()
    {
        Check(Lr >= 0.0, nameof(Lr), Lr, ">= 0");
        Check(Beta2Decay <= 0.0, nameof(Beta2Decay), Beta2Decay, "<= 0");
        if (Eps1 is { } eps1) Check(eps1 >= 0.0, nameof(Eps1), eps1, ">= 0 (or null for None)");
        Check(Eps2 >= 0.0, nameof(Eps2), Eps2, ">= 0");
        Check(D >= 1.0, nameof(D), D, ">= 1");
        Check(WeightDecay >= 0.0, nameof(WeightDecay), WeightDecay, ">= 0");
        return this;
    }

    /// <summary>The configuration of the spec's resolved Adafactor hyperparameters (eps1 = -1 is None).</summary>
    internal static AdafactorConfig Of(Hypers hypers)
    {
        var h = S3gd.Spec.Rules.Adafactor.ofHypers(hypers);
        return new AdafactorConfig
        {
            Lr = h.Lr, Beta2Decay = h.Beta2Decay, Eps1 = h.Eps1 is null ? null : h.Eps1.Value, Eps2 = h.Eps2, D = h.D,
            WeightDecay = h.WeightDecay, Maximize = h.Maximize,
        }.Validated();
    }

    private static void Check(bool ok, string name, double value, string range)
    {
        if (!ok || double.IsNaN(value) || double.IsInfinity(value))
            throw new ArgumentOutOfRangeException(name, value, $"Adafactor's {name} must be finite and {range}, was {value}");
    }
}
