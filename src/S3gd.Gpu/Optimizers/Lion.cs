namespace S3gd.Gpu.Optimizers;

/// <summary>Lion (Chen et al. 2023, lucidrains/lion-pytorch): the sign of an interpolated momentum. Spec rule <c>lion</c>; names and defaults as the reference.</summary>
public sealed class Lion : ElementwiseOptimizer
{
    /// <summary>The optimizer over <paramref name="groups"/>; each group may override any value (<see cref="ParamGroup.With(string, double)"/>).</summary>
    /// <param name="groups">The param groups.</param>
    /// <param name="lr">torch's <c>lr</c>.</param>
    /// <param name="beta1">torch's <c>beta1</c>.</param>
    /// <param name="beta2">torch's <c>beta2</c>.</param>
    /// <param name="weightDecay">torch's <c>weight_decay</c>.</param>
    /// <param name="decoupledWeightDecay">torch's <c>decoupled_weight_decay</c>.</param>
    /// <param name="initialLr">torch's <c>initial_lr</c>.</param>
    public Lion(
        IEnumerable<ParamGroup> groups,
        double lr = 1e-4,
        double beta1 = 0.9,
        double beta2 = 0.99,
        double weightDecay = 0.0,
        bool decoupledWeightDecay = false,
        double initialLr = 0.0)
        : base(nameof(Lion), new HyperArgs("lion", nameof(Lion))
            .Real("lr", lr)
            .Real("beta1", beta1)
            .Real("beta2", beta2)
            .Real("weight_decay", weightDecay)
            .Flag("decoupled_weight_decay", decoupledWeightDecay)
            .Real("initial_lr", initialLr), groups)
    {
    }
}
