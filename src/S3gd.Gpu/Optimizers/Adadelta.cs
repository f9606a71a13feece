namespace S3gd.Gpu.Optimizers;

/// <summary>torch.optim.Adadelta: maximize, coupled weight decay. Spec rule <c>adadelta</c>; names and defaults as the reference.</summary>
public sealed class Adadelta : ElementwiseOptimizer
{
    /// <summary>The optimizer over <paramref name="groups"/>; each group may override any value (<see cref="ParamGroup.With(string, double)"/>).</summary>
    /// <param name="groups">The param groups.</param>
    /// <param name="lr">torch's <c>lr</c>.</param>
    /// <param name="rho">torch's <c>rho</c>.</param>
    /// <param name="eps">torch's <c>eps</c>.</param>
    /// <param name="weightDecay">torch's <c>weight_decay</c>.</param>
    /// <param name="maximize">torch's <c>maximize</c>.</param>
    public Adadelta(
        IEnumerable<ParamGroup> groups,
        double lr = 1.0,
        double rho = 0.9,
        double eps = 1e-6,
        double weightDecay = 0.0,
        bool maximize = false)
        : base(nameof(Adadelta), new HyperArgs("adadelta", nameof(Adadelta))
            .Real("lr", lr)
            .Real("rho", rho)
            .Real("eps", eps)
            .Real("weight_decay", weightDecay)
            .Flag("maximize", maximize), groups)
    {
    }
}
