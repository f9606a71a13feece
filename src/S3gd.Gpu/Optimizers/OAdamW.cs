namespace S3gd.Gpu.Optimizers;

/// <summary>
/// OAdamW (jeb1399/OAdamW): StableAdamW whose 2-D and larger parameters take scale * NS(gradient) (MuonProjector:
/// X / (||X||_F + 1e-7), the quintic, ns_steps iterations in float32, or bf16 on request; recomputed every
/// update_proj_gap steps, reused in between) as their gradient; vectors and scalars take plain StableAdamW. Spec rule
/// <c>oadamw</c>; names and defaults as the reference. Each group is one <see cref="OAdamWGroupStepper"/> (the reference's automatic grouping within it).
/// </summary>
public sealed class OAdamW : Optimizer
{
    /// <summary>The optimizer over <paramref name="groups"/>; each group may override any value (<see cref="ParamGroup.With(string, double)"/>).</summary>
    /// <param name="groups">The param groups (any shapes; float32 gradients; fp32 or bf16 parameters and moments as <see cref="StableAdamW"/>).</param>
    /// <param name="lr">The reference's <c>lr</c>.</param>
    /// <param name="beta1">The reference's <c>betas[0]</c>.</param>
    /// <param name="beta2">The reference's <c>betas[1]</c>.</param>
    /// <param name="weightDecay">The reference's <c>weight_decay</c>.</param>
    /// <param name="eps">The reference's <c>eps</c>.</param>
    /// <param name="decoupleLr">optimi's <c>decouple_lr</c> (the StableAdamW core's).</param>
    /// <param name="maxLr">optimi's <c>max_lr</c>; 0 stands for None (lr).</param>
    /// <param name="kahanSum">optimi's <c>kahan_sum</c> (bf16 parameters only).</param>
    /// <param name="nsSteps">The reference's <c>ns_steps</c>: Newton–Schulz iterations per recomputation.</param>
    /// <param name="updateProjGap">The reference's <c>update_proj_gap</c>: steps between recomputations.</param>
    /// <param name="scale">The reference's <c>scale</c>: the factor on NS(g) (the spec applies it; 1 agrees with the reference).</param>
    /// <param name="nsPrecision">
    /// The Newton–Schulz arithmetic on a kernel backend: "float32" (the reference's, the default) or "bf16" (bf16 operands and
    /// results with float32 accumulation, as torch.optim.Muon); the CPU backend iterates in float32 either way.
    /// </param>
    public OAdamW(
        IEnumerable<ParamGroup> groups,
        double lr = 1e-3,
        double beta1 = 0.9,
        double beta2 = 0.99,
        double weightDecay = 1e-2,
        double eps = 1e-6,
        bool decoupleLr = false,
        double maxLr = 0.0,
        bool kahanSum = false,
        int nsSteps = 5,
        int updateProjGap = 1,
        double scale = 1.0,
        string nsPrecision = "float32")
        : base(nameof(OAdamW), new HyperArgs("oadamw", nameof(OAdamW))
            .Real("lr", lr)
            .Real("beta1", beta1)
            .Real("beta2", beta2)
            .Real("weight_decay", weightDecay)
            .Real("eps", eps)
            .Flag("decouple_lr", decoupleLr)
            .Real("max_lr", maxLr)
            .Flag("kahan_sum", kahanSum)
            .Whole("ns_steps", nsSteps)
            .Whole("update_proj_gap", updateProjGap)
            .Real("scale", scale)
            .Word("ns_precision", nsPrecision), groups)
    {
    }

    /// <inheritdoc />
    protected override GroupStepper CreateStepper(OptimizerGroup group) => new OAdamWGroupStepper(group, S3gd.Spec.Rules.StableAdamW.info);
}
