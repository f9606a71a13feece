namespace S3gd.Gpu.Optimizers;

/// <summary>torch.optim.Rprop: per-element step sizes from the gradient's sign changes, maximize. Spec rule <c>rprop</c>; names and defaults as the reference (etas and step_sizes split).</summary>
public sealed class Rprop : ElementwiseOptimizer
{
    /// <summary>The optimizer over <paramref name="groups"/>; each group may override any value (<see cref="ParamGroup.With(string, double)"/>).</summary>
    /// <param name="groups">The param groups.</param>
    /// <param name="lr">torch's <c>lr</c>.</param>
    /// <param name="etaminus">torch's <c>etas[0]</c>.</param>
    /// <param name="etaplus">torch's <c>etas[1]</c>.</param>
    /// <param name="stepSizeMin">torch's <c>step_sizes[0]</c>.</param>
    /// <param name="stepSizeMax">torch's <c>step_sizes[1]</c>.</param>
    /// <param name="maximize">torch's <c>maximize</c>.</param>
    public Rprop(
        IEnumerable<ParamGroup> groups,
        double lr = 1e-2,
        double etaminus = 0.5,
        double etaplus = 1.2,
        double stepSizeMin = 1e-6,
        double stepSizeMax = 50.0,
        bool maximize = false)
        : base(nameof(Rprop), new HyperArgs("rprop", nameof(Rprop))
            .Real("lr", lr)
            .Real("etaminus", etaminus)
            .Real("etaplus", etaplus)
            .Real("step_size_min", stepSizeMin)
            .Real("step_size_max", stepSizeMax)
            .Flag("maximize", maximize), groups)
    {
    }
}
