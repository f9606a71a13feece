namespace S3gd.Gpu.Optimizers;

/// <summary>torch.optim.RMSprop: momentum, centered, coupled weight decay, maximize. Spec rule <c>rmsprop</c>; names and defaults as the reference.</summary>
public sealed class RmsProp : ElementwiseOptimizer
{
    /// <summary>The optimizer over <paramref name="groups"/>; each group may override any value (<see cref="ParamGroup.With(string, double)"/>).</summary>
    /// <param name="groups">The param groups.</param>
    /// <param name="lr">torch's <c>lr</c>.</param>
    /// <param name="alpha">torch's <c>alpha</c>.</param>
    /// <param name="eps">torch's <c>eps</c>.</param>
    /// <param name="weightDecay">torch's <c>weight_decay</c>.</param>
    /// <param name="momentum">torch's <c>momentum</c>.</param>
    /// <param name="centered">torch's <c>centered</c>.</param>
    /// <param name="maximize">torch's <c>maximize</c>.</param>
    public RmsProp(
        IEnumerable<ParamGroup> groups,
        double lr = 1e-2,
        double alpha = 0.99,
        double eps = 1e-8,
        double weightDecay = 0.0,
        double momentum = 0.0,
        bool centered = false,
        bool maximize = false)
        : base(nameof(RmsProp), new HyperArgs("rmsprop", nameof(RmsProp))
            .Real("lr", lr)
            .Real("alpha", alpha)
            .Real("eps", eps)
            .Real("weight_decay", weightDecay)
            .Real("momentum", momentum)
            .Flag("centered", centered)
            .Flag("maximize", maximize), groups)
    {
    }
}
