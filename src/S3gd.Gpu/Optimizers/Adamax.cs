namespace S3gd.Gpu.Optimizers;

/// <summary>torch.optim.Adamax: maximize, coupled weight decay. Spec rule <c>adamax</c>; names and defaults as the reference.</summary>
public sealed class Adamax : ElementwiseOptimizer
{
    /// <summary>The optimizer over <paramref name="groups"/>; each group may override any value (<see cref="ParamGroup.With(string, double)"/>).</summary>
    /// <param name="groups">The param groups.</param>
    /// <param name="lr">torch's <c>lr</c>.</param>
    /// <param name="beta1">torch's <c>beta1</c>.</param>
    /// <param name="beta2">torch's <c>beta2</c>.</param>
    /// <param name="eps">torch's <c>eps</c>.</param>
    /// <param name="weightDecay">torch's <c>weight_decay</c>.</param>
    /// <param name="maximize">torch's <c>maximize</c>.</param>
    public Adamax(
        IEnumerable<ParamGroup> groups,
        double lr = 2e-3,
        double beta1 = 0.9,
        double beta2 = 0.999,
        double eps = 1e-8,
        double weightDecay = 0.0,
        bool maximize = false)
        : base(nameof(Adamax), new HyperArgs("adamax", nameof(Adamax))
            .Real("lr", lr)
            .Real("beta1", beta1)
            .Real("beta2", beta2)
            .Real("eps", eps)
            .Real("weight_decay", weightDecay)
            .Flag("maximize", maximize), groups)
    {
    }
}
