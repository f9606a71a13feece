namespace S3gd.Gpu.Optimizers;

/// <summary>torch.optim.SGD: momentum, dampening, Nesterov, coupled weight decay, maximize. Spec rule <c>sgd</c>; names and defaults as the reference.</summary>
public sealed class Sgd : ElementwiseOptimizer
{
    /// <summary>The optimizer over <paramref name="groups"/>; each group may override any value (<see cref="ParamGroup.With(string, double)"/>).</summary>
    /// <param name="groups">The param groups.</param>
    /// <param name="lr">torch's <c>lr</c>.</param>
    /// <param name="momentum">torch's <c>momentum</c>.</param>
    /// <param name="dampening">torch's <c>dampening</c>.</param>
    /// <param name="weightDecay">torch's <c>weight_decay</c>.</param>
    /// <param name="nesterov">torch's <c>nesterov</c>.</param>
    /// <param name="maximize">torch's <c>maximize</c>.</param>
    public Sgd(
        IEnumerable<ParamGroup> groups,
        double lr = 1e-3,
        double momentum = 0.0,
        double dampening = 0.0,
        double weightDecay = 0.0,
        bool nesterov = false,
        bool maximize = false)
        : base(nameof(Sgd), new HyperArgs("sgd", nameof(Sgd))
            .Real("lr", lr)
            .Real("momentum", momentum)
            .Real("dampening", dampening)
            .Real("weight_decay", weightDecay)
            .Flag("nesterov", nesterov)
            .Flag("maximize", maximize), groups)
    {
    }
}
