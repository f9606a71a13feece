namespace S3gd.Gpu.Optimizers;

/// <summary>Simplified AdEMAMix (NVIDIA emerging_optimizers): the gradient plus a momentum sum over the RMS. Spec rule <c>sim-ademamix</c>; names and defaults as the reference.</summary>
public sealed class SimplifiedAdEMAMix : ElementwiseOptimizer
{
    /// <summary>The optimizer over <paramref name="groups"/>; each group may override any value (<see cref="ParamGroup.With(string, double)"/>).</summary>
    /// <param name="groups">The param groups.</param>
    /// <param name="lr">torch's <c>lr</c>.</param>
    /// <param name="betaFast">torch's <c>beta_fast</c>.</param>
    /// <param name="beta2">torch's <c>beta2</c>.</param>
    /// <param name="eps">torch's <c>eps</c>.</param>
    /// <param name="alpha">torch's <c>alpha</c>.</param>
    /// <param name="correctBias">torch's <c>correct_bias</c>.</param>
    /// <param name="numBetaFastWarmupSteps">torch's <c>num_beta_fast_warmup_steps</c>.</param>
    /// <param name="minBetaFast">torch's <c>min_beta_fast</c>.</param>
    /// <param name="weightDecay">torch's <c>weight_decay</c>.</param>
    public SimplifiedAdEMAMix(
        IEnumerable<ParamGroup> groups,
        double lr = 1e-3,
        double betaFast = 0.99,
        double beta2 = 0.95,
        double eps = 1e-8,
        double alpha = 2.0,
        bool correctBias = true,
        int numBetaFastWarmupSteps = 0,
        double minBetaFast = 0.9,
        double weightDecay = 0.0)
        : base(nameof(SimplifiedAdEMAMix), new HyperArgs("sim-ademamix", nameof(SimplifiedAdEMAMix))
            .Real("lr", lr)
            .Real("beta_fast", betaFast)
            .Real("beta2", beta2)
            .Real("eps", eps)
            .Real("alpha", alpha)
            .Flag("correct_bias", correctBias)
            .Whole("num_beta_fast_warmup_steps", numBetaFastWarmupSteps)
            .Real("min_beta_fast", minBetaFast)
            .Real("weight_decay", weightDecay), groups)
    {
    }
}
