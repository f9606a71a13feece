namespace S3gd.Gpu.Optimizers;

/// <summary>torch.optim.Adam: AMSGrad, maximize, coupled weight decay (or decoupled with decoupledWeightDecay). Spec rule <c>adam</c>; names and defaults as the reference.</summary>
public sealed class Adam : ElementwiseOptimizer
{
    /// <summary>The optimizer over <paramref name="groups"/>; each group may override any value (<see cref="ParamGroup.With(string, double)"/>).</summary>
    /// <param name="groups">The param groups.</param>
    /// <param name="lr">torch's <c>lr</c>.</param>
    /// <param name="beta1">torch's <c>beta1</c>.</param>
    /// <param name="beta2">torch's <c>beta2</c>.</param>
    /// <param name="eps">torch's <c>eps</c>.</param>
    /// <param name="weightDecay">torch's <c>weight_decay</c>.</param>
    /// <param name="amsgrad">torch's <c>amsgrad</c>.</param>
    /// <param name="maximize">torch's <c>maximize</c>.</param>
    /// <param name="decoupledWeightDecay">torch's <c>decoupled_weight_decay</c>.</param>
    public Adam(
        IEnumerable<ParamGroup> groups,
        double lr = 1e-3,
        double beta1 = 0.9,
        double beta2 = 0.999,
        double eps = 1e-8,
        double weightDecay = 0.0,
        bool amsgrad = false,
        bool maximize = false,
        bool decoupledWeightDecay = false)
        : base(nameof(Adam), new HyperArgs("adam", nameof(Adam))
            .Real("lr", lr)
            .Real("beta1", beta1)
            .Real("beta2", beta2)
            .Real("eps", eps)
            .Real("weight_decay", weightDecay)
            .Flag("amsgrad", amsgrad)
            .Flag("maximize", maximize)
            .Flag("decoupled_weight_decay", decoupledWeightDecay), groups)
    {
    }
}
