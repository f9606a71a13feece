namespace S3gd.Gpu.Optimizers;

/// <summary>Signum (NVIDIA emerging_optimizers): the sign of the (optionally Nesterov, bias-corrected) momentum. Spec rule <c>signum</c>; names and defaults as the reference.</summary>
public sealed class Signum : ElementwiseOptimizer
{
    /// <summary>The optimizer over <paramref name="groups"/>; each group may override any value (<see cref="ParamGroup.With(string, double)"/>).</summary>
    /// <param name="groups">The param groups.</param>
    /// <param name="lr">torch's <c>lr</c>.</param>
    /// <param name="momentum">torch's <c>momentum</c>.</param>
    /// <param name="correctBias">torch's <c>correct_bias</c>.</param>
    /// <param name="nesterov">torch's <c>nesterov</c>.</param>
    /// <param name="weightDecay">torch's <c>weight_decay</c>.</param>
    public Signum(
        IEnumerable<ParamGroup> groups,
        double lr = 1e-3,
        double momentum = 0.9,
        bool correctBias = true,
        bool nesterov = false,
        double weightDecay = 0.0)
        : base(nameof(Signum), new HyperArgs("signum", nameof(Signum))
            .Real("lr", lr)
            .Real("momentum", momentum)
            .Flag("correct_bias", correctBias)
            .Flag("nesterov", nesterov)
            .Real("weight_decay", weightDecay), groups)
    {
    }
}
