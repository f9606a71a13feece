namespace S3gd.Gpu.Optimizers;

/// <summary>torch.optim.ASGD: decaying rate, averaged iterate ax from step t0 on, maximize, coupled weight decay. Spec rule <c>asgd</c>; names and defaults as the reference.</summary>
public sealed class Asgd : ElementwiseOptimizer
{
    /// <summary>The optimizer over <paramref name="groups"/>; each group may override any value (<see cref="ParamGroup.With(string, double)"/>).</summary>
    /// <param name="groups">The param groups.</param>
    /// <param name="lr">torch's <c>lr</c>.</param>
    /// <param name="lambd">torch's <c>lambd</c>.</param>
    /// <param name="alpha">torch's <c>alpha</c>.</param>
    /// <param name="t0">torch's <c>t0</c>.</param>
    /// <param name="weightDecay">torch's <c>weight_decay</c>.</param>
    /// <param name="maximize">torch's <c>maximize</c>.</param>
    public Asgd(
        IEnumerable<ParamGroup> groups,
        double lr = 1e-2,
        double lambd = 1e-4,
        double alpha = 0.75,
        double t0 = 1e6,
        double weightDecay = 0.0,
        bool maximize = false)
        : base(nameof(Asgd), new HyperArgs("asgd", nameof(Asgd))
            .Real("lr", lr)
            .Real("lambd", lambd)
            .Real("alpha", alpha)
            .Real("t0", t0)
            .Real("weight_decay", weightDecay)
            .Flag("maximize", maximize), groups)
    {
    }
}
