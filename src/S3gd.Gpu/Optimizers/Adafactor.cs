namespace S3gd.Gpu.Optimizers;

/// <summary>
/// torch.optim.Adafactor (PyTorch 2.11): second moments factored into row and column means over the last two dims
/// (leading dims a batch of matrices; vectors keep one per element), the relative step size min(lr, 1/sqrt(t)) times the
/// parameter RMS, the update clipped by its RMS over d, decoupled weight decay; float32 parameters, gradients and state.
/// Spec rule <c>adafactor</c>; names and defaults as torch (its <c>eps</c> pair as eps1 and eps2). Each group is one
/// <see cref="AdafactorGroupStepper"/>.
/// </summary>
public sealed class Adafactor : Optimizer
{
    /// <summary>The optimizer over <paramref name="groups"/>; each group may override any value (<see cref="ParamGroup.With(string, double)"/>).</summary>
    /// <param name="groups">The param groups: float32 parameters of any shape with float32 gradients.</param>
    /// <param name="lr">torch's <c>lr</c>: the largest relative step size and the decay's rate.</param>
    /// <param name="beta2Decay">torch's <c>beta2_decay</c>: the moments' lerp weight is t^beta2_decay.</param>
    /// <param name="eps1">torch's <c>eps[0]</c>, the floor of the row mean and (squared) of V; null is torch's None, float32's machine epsilon.</param>
    /// <param name="eps2">torch's <c>eps[1]</c>, the floor of the parameter RMS.</param>
    /// <param name="d">torch's <c>d</c>, the clipping threshold of the update RMS.</param>
    /// <param name="weightDecay">torch's <c>weight_decay</c>: p &lt;- p (1 - lr weight_decay).</param>
    /// <param name="maximize">torch's <c>maximize</c>.</param>
    public Adafactor(
        IEnumerable<ParamGroup> groups,
        double lr = 1e-2,
        double beta2Decay = -0.8,
        double? eps1 = null,
        double eps2 = 1e-3,
        double d = 1.0,
        double weightDecay = 0.0,
        bool maximize = false)
        : base(nameof(Adafactor), new HyperArgs("adafactor", nameof(Adafactor))
            .Real("lr", lr)
            .Real("beta2_decay", beta2Decay)
            .Real("eps1", eps1 ?? S3gd.Spec.Rules.Adafactor.noneEps1)
            .Real("eps2", eps2)
            .Real("d", d)
            .Real("weight_decay", weightDecay)
            .Flag("maximize", maximize), groups)
    {
    }

    /// <inheritdoc />
    protected override GroupStepper CreateStepper(OptimizerGroup group) => new AdafactorGroupStepper(group);
}
