namespace S3gd.Gpu.Optimizers;

/// <summary>torch.optim.Adagrad: lr decay, initial accumulator value, maximize, coupled weight decay. Spec rule <c>adagrad</c>; names and defaults as the reference.</summary>
public sealed class Adagrad : ElementwiseOptimizer
{
    /// <summary>The optimizer over <paramref name="groups"/>; each group may override any value (<see cref="ParamGroup.With(string, double)"/>).</summary>
    /// <param name="groups">The param groups.</param>
    /// <param name="lr">torch's <c>lr</c>.</param>
    /// <param name="lrDecay">torch's <c>lr_decay</c>.</param>
    /// <param name="weightDecay">torch's <c>weight_decay</c>.</param>
    /// <param name="initialAccumulatorValue">torch's <c>initial_accumulator_value</c>.</param>
    /// <param name="eps">torch's <c>eps</c>.</param>
    /// <param name="maximize">torch's <c>maximize</c>.</param>
    public Adagrad(
        IEnumerable<ParamGroup> groups,
        double lr = 1e-2,
        double lrDecay = 0.0,
        double weightDecay = 0.0,
        double initialAccumulatorValue = 0.0,
        double eps = 1e-10,
        bool maximize = false)
        : base(nameof(Adagrad), new HyperArgs("adagrad", nameof(Adagrad))
            .Real("lr", lr)
            .Real("lr_decay", lrDecay)
            .Real("weight_decay", weightDecay)
            .Real("initial_accumulator_value", initialAccumulatorValue)
            .Real("eps", eps)
            .Flag("maximize", maximize), groups)
    {
    }
}
