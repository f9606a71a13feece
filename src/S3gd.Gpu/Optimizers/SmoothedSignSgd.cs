namespace S3gd.Gpu.Optimizers;

/// <summary>S3GD, smoothed SignSGD (WhyPhyLabs/s3gd): an EMA of gradient signs as the step. Spec rule <c>s3gd</c>; names and defaults as the reference.</summary>
public sealed class SmoothedSignSgd : ElementwiseOptimizer
{
    /// <summary>The optimizer over <paramref name="groups"/>; each group may override any value (<see cref="ParamGroup.With(string, double)"/>).</summary>
    /// <param name="groups">The param groups.</param>
    /// <param name="lr">torch's <c>lr</c>.</param>
    /// <param name="beta">torch's <c>beta</c>.</param>
    /// <param name="weightDecay">torch's <c>weight_decay</c>.</param>
    /// <param name="decoupledWeightDecay">torch's <c>decoupled_weight_decay</c>.</param>
    /// <param name="initialLr">torch's <c>initial_lr</c>.</param>
    public SmoothedSignSgd(
        IEnumerable<ParamGroup> groups,
        double lr = 1e-4,
        double beta = 0.9,
        double weightDecay = 0.0,
        bool decoupledWeightDecay = false,
        double initialLr = 0.0)
        : base(nameof(SmoothedSignSgd), new HyperArgs("s3gd", nameof(SmoothedSignSgd))
            .Real("lr", lr)
            .Real("beta", beta)
            .Real("weight_decay", weightDecay)
            .Flag("decoupled_weight_decay", decoupledWeightDecay)
            .Real("initial_lr", initialLr), groups)
    {
    }
}
