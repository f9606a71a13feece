namespace S3gd.Gpu.Optimizers;

/// <summary>
/// torch.optim.Muon (PyTorch 2.11): Nesterov momentum orthogonalised by Newton–Schulz, for 2-D parameters only (float32;
/// the CUDA backend iterates in bf16 with float32 accumulation, the CPU in float32), the lr scaled by shape, decoupled
/// weight decay. Spec rule <c>muon</c>; names and defaults as torch. Each group is one <see cref="MuonGroupStepper"/>.
/// </summary>
public sealed class Muon : Optimizer
{
    /// <summary>The optimizer over <paramref name="groups"/>; each group may override any value (<see cref="ParamGroup.With(string, double)"/>).</summary>
    /// <param name="groups">The param groups: 2-D float32 parameters with float32 gradients (torch rejects other shapes too).</param>
    /// <param name="lr">torch's <c>lr</c> (before <c>adjust_lr_fn</c>'s scaling by shape).</param>
    /// <param name="weightDecay">torch's <c>weight_decay</c>: p &lt;- p (1 - lr weight_decay).</param>
    /// <param name="momentum">torch's <c>momentum</c>.</param>
    /// <param name="nesterov">torch's <c>nesterov</c>.</param>
    /// <param name="nsCoefficients">torch's <c>ns_coefficients</c> by name: "quintic" (3.4445, -4.7750, 2.0315, torch's default) or "cubic" (1.5, -0.5, 0).</param>
    /// <param name="eps">torch's <c>eps</c>: the floor of the Frobenius norm in X / max(||X||_F, eps).</param>
    /// <param name="nsSteps">torch's <c>ns_steps</c>.</param>
    /// <param name="adjustLrFn">torch's <c>adjust_lr_fn</c>: "original" (torch's None) or "match_rms_adamw".</param>
    public Muon(
        IEnumerable<ParamGroup> groups,
        double lr = 1e-3,
        double weightDecay = 0.1,
        double momentum = 0.95,
        bool nesterov = true,
        string nsCoefficients = "quintic",
        double eps = 1e-7,
        int nsSteps = 5,
        string adjustLrFn = "original")
        : base(nameof(Muon), new HyperArgs("muon", nameof(Muon))
            .Real("lr", lr)
            .Real("weight_decay", weightDecay)
            .Real("momentum", momentum)
            .Flag("nesterov", nesterov)
            .Word("ns_coefficients", nsCoefficients)
            .Real("eps", eps)
            .Whole("ns_steps", nsSteps)
            .Word("adjust_lr_fn", adjustLrFn), groups)
    {
    }

    /// <inheritdoc />
    protected override GroupStepper CreateStepper(OptimizerGroup group) => new MuonGroupStepper(group);
}
