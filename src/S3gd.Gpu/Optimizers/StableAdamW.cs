namespace S3gd.Gpu.Optimizers;

/// <summary>
/// optimi's StableAdamW: debiased betas, the learning rate clipped by each tensor's update RMS, decoupled weight decay,
/// optional Kahan-compensated bf16 parameters. Spec rule <c>stableadamw</c>; names and defaults as optimi (lr 1e-3).
/// </summary>
public sealed class StableAdamW : StructuredOptimizer
{
    /// <summary>The optimizer over <paramref name="groups"/>; each group may override any value (<see cref="ParamGroup.With(string, double)"/>).</summary>
    /// <param name="groups">The param groups (fp32 or bf16 parameters; moments fp32 or bf16 through <see cref="ParamGroup.States"/>).</param>
    /// <param name="lr">optimi's <c>lr</c> (the maximum; clipped by the update RMS).</param>
    /// <param name="beta1">optimi's <c>betas[0]</c>.</param>
    /// <param name="beta2">optimi's <c>betas[1]</c>.</param>
    /// <param name="weightDecay">optimi's <c>weight_decay</c>.</param>
    /// <param name="eps">optimi's <c>eps</c>.</param>
    /// <param name="decoupleLr">optimi's <c>decouple_lr</c>.</param>
    /// <param name="maxLr">optimi's <c>max_lr</c>; 0 stands for None (lr).</param>
    /// <param name="kahanSum">optimi's <c>kahan_sum</c> (bf16 parameters only; keeps <c>kahan_comp</c>).</param>
    public StableAdamW(
        IEnumerable<ParamGroup> groups,
        double lr = 1e-3,
        double beta1 = 0.9,
        double beta2 = 0.99,
        double weightDecay = 1e-2,
        double eps = 1e-6,
        bool decoupleLr = false,
        double maxLr = 0.0,
        bool kahanSum = false)
        : base(nameof(StableAdamW), new HyperArgs("stableadamw", nameof(StableAdamW))
            .Real("lr", lr)
            .Real("beta1", beta1)
            .Real("beta2", beta2)
            .Real("weight_decay", weightDecay)
            .Real("eps", eps)
            .Flag("decouple_lr", decoupleLr)
            .Real("max_lr", maxLr)
            .Flag("kahan_sum", kahanSum), groups)
    {
    }
}
