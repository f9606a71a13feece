namespace S3gd.Gpu.Optimizers;

/// <summary>MAdam (NVIDIA emerging_optimizers): Adam without eps, the second moment stored scaled by 2^scaleLog2, no step where the momentum is zero. Spec rule <c>madam</c>; names and defaults as the reference.</summary>
public sealed class MAdam : ElementwiseOptimizer
{
    /// <summary>The optimizer over <paramref name="groups"/>; each group may override any value (<see cref="ParamGroup.With(string, double)"/>).</summary>
    /// <param name="groups">The param groups.</param>
    /// <param name="lr">torch's <c>lr</c>.</param>
    /// <param name="beta1">torch's <c>beta1</c>.</param>
    /// <param name="beta2">torch's <c>beta2</c>.</param>
    /// <param name="correctBias">torch's <c>correct_bias</c>.</param>
    /// <param name="scaleLog2">torch's <c>scale_log2</c>.</param>
    /// <param name="weightDecay">torch's <c>weight_decay</c>.</param>
    public MAdam(
        IEnumerable<ParamGroup> groups,
        double lr = 1e-3,
        double beta1 = 0.9,
        double beta2 = 0.999,
        bool correctBias = true,
        int scaleLog2 = 0,
        double weightDecay = 0.0)
        : base(nameof(MAdam), new HyperArgs("madam", nameof(MAdam))
            .Real("lr", lr)
            .Real("beta1", beta1)
            .Real("beta2", beta2)
            .Flag("correct_bias", correctBias)
            .Whole("scale_log2", scaleLog2)
            .Real("weight_decay", weightDecay), groups)
    {
    }
}
