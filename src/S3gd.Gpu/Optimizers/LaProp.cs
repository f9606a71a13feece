namespace S3gd.Gpu.Optimizers;

/// <summary>LaProp (NVIDIA emerging_optimizers): momentum of the RMS-normalized gradient. Spec rule <c>laprop</c>; names and defaults as the reference.</summary>
public sealed class LaProp : ElementwiseOptimizer
{
    /// <summary>The optimizer over <paramref name="groups"/>; each group may override any value (<see cref="ParamGroup.With(string, double)"/>).</summary>
    /// <param name="groups">The param groups.</param>
    /// <param name="lr">torch's <c>lr</c>.</param>
    /// <param name="beta1">torch's <c>beta1</c>.</param>
    /// <param name="beta2">torch's <c>beta2</c>.</param>
    /// <param name="eps">torch's <c>eps</c>.</param>
    /// <param name="correctBias">torch's <c>correct_bias</c>.</param>
    /// <param name="weightDecay">torch's <c>weight_decay</c>.</param>
    public LaProp(
        IEnumerable<ParamGroup> groups,
        double lr = 4e-4,
        double beta1 = 0.9,
        double beta2 = 0.999,
        double eps = 1e-15,
        bool correctBias = true,
        double weightDecay = 0.0)
        : base(nameof(LaProp), new HyperArgs("laprop", nameof(LaProp))
            .Real("lr", lr)
            .Real("beta1", beta1)
            .Real("beta2", beta2)
            .Real("eps", eps)
            .Flag("correct_bias", correctBias)
            .Real("weight_decay", weightDecay), groups)
    {
    }
}
