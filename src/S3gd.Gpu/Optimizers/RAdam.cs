namespace S3gd.Gpu.Optimizers;

/// <summary>torch.optim.RAdam: rectified adaptive learning rate, maximize, coupled weight decay (or decoupled with decoupledWeightDecay). Spec rule <c>radam</c>; names and defaults as the reference.</summary>
public sealed class RAdam : ElementwiseOptimizer
{
    /// <summary>The optimizer over <paramref name="groups"/>; each group may override any value (<see cref="ParamGroup.With(string, double)"/>).</summary>
    /// <param name="groups">The param groups.</param>
    /// <param name="lr">torch's <c>lr</c>.</param>
    /// <param name="beta1">torch's <c>beta1</c>.</param>
    /// <param name="beta2">torch's <c>beta2</c>.</param>
    /// <param name="eps">torch's <c>eps</c>.</param>
    /// <param name="weightDecay">torch's <c>weight_decay</c>.</param>
    /// <param name="decoupledWeightDecay">torch's <c>decoupled_weight_decay</c>.</param>
    /// <param name="maximize">torch's <c>maximize</c>.</param>
    public RAdam(
        IEnumerable<ParamGroup> groups,
        double lr = 1e-3,
        double beta1 = 0.9,
        double beta2 = 0.999,
        double eps = 1e-8,
        double weightDecay = 0.0,
        bool decoupledWeightDecay = false,
        bool maximize = false)
        : base(nameof(RAdam), new HyperArgs("radam", nameof(RAdam))
            .Real("lr", lr)
            .Real("beta1", beta1)
            .Real("beta2", beta2)
            .Real("eps", eps)
            .Real("weight_decay", weightDecay)
            .Flag("decoupled_weight_decay", decoupledWeightDecay)
            .Flag("maximize", maximize), groups)
    {
    }
}
