namespace S3gd.Gpu.Optimizers;

/// <summary>AdEMAMix (NVIDIA emerging_optimizers): a fast and a slow EMA of the gradient over the RMS, with warm-ups. Spec rule <c>ademamix</c>; names and defaults as the reference.</summary>
public sealed class AdEMAMix : ElementwiseOptimizer
{
    /// <summary>The optimizer over <paramref name="groups"/>; each group may override any value (<see cref="ParamGroup.With(string, double)"/>).</summary>
    /// <param name="groups">The param groups.</param>
    /// <param name="lr">torch's <c>lr</c>.</param>
    /// <param name="betaFast">torch's <c>beta_fast</c>.</param>
    /// <param name="beta2">torch's <c>beta2</c>.</param>
    /// <param name="betaSlow">torch's <c>beta_slow</c>.</param>
    /// <param name="eps">torch's <c>eps</c>.</param>
    /// <param name="alpha">torch's <c>alpha</c>.</param>
    /// <param name="correctBias">torch's <c>correct_bias</c>.</param>
    /// <param name="numBetaSlowWarmupSteps">torch's <c>num_beta_slow_warmup_steps</c>.</param>
    /// <param name="numAlphaWarmupSteps">torch's <c>num_alpha_warmup_steps</c>.</param>
    /// <param name="weightDecay">torch's <c>weight_decay</c>.</param>
    public AdEMAMix(
        IEnumerable<ParamGroup> groups,
        double lr = 1e-3,
        double betaFast = 0.9,
        double beta2 = 0.999,
        double betaSlow = 0.9999,
        double eps = 1e-8,
        double alpha = 2.0,
        bool correctBias = true,
        int numBetaSlowWarmupSteps = 0,
        int numAlphaWarmupSteps = 0,
        double weightDecay = 0.0)
        : base(nameof(AdEMAMix), new HyperArgs("ademamix", nameof(AdEMAMix))
            .Real("lr", lr)
            .Real("beta_fast", betaFast)
            .Real("beta2", beta2)
            .Real("beta_slow", betaSlow)
            .Real("eps", eps)
            .Real("alpha", alpha)
            .Flag("correct_bias", correctBias)
            .Whole("num_beta_slow_warmup_steps", numBetaSlowWarmupSteps)
            .Whole("num_alpha_warmup_steps", numAlphaWarmupSteps)
            .Real("weight_decay", weightDecay), groups)
    {
    }
}
