using S3gd.Gpu.Elementwise;
using S3gd.Gpu.Muon;
using S3gd.Spec.Rules;

namespace S3gd.Gpu.Optimizers;

/// <summary>
/// A group of <see cref="Optimizers.Muon"/>: one <see cref="MuonConfig"/> from the group's hyperparameters, a float32
/// momentum buffer per parameter (zero, as torch), and <see cref="MuonPlan"/>s built on first use and reused: one over
/// the group (same-shape matrices orthogonalised together), one per parameter stepped alone. The CPU orthogonalises
/// each matrix on its own, so there a parameter stepped alone equals the group's step bit for bit; on CUDA a batch of
/// one may take another cuBLAS algorithm than the group's batch (same bf16 bound, not the same bits).
/// </summary>
public sealed class MuonGroupStepper : GroupStepper
{
    private readonly MuonConfig config;
    private readonly MuonTensor[] tensors;
    private readonly MuonPlan?[] single;
    private MuonPlan? plan;

    /// <summary>
    /// Checks the group (2-D float32 parameters with float32 gradients, float32 maths and state, nearest update;
    /// ns_precision bf16: the spec's float64 iteration has no backend), fixes its configuration and allocates the momentum.
    /// </summary>
    public MuonGroupStepper(OptimizerGroup group) : base(group)
    {
        var where = $"param group {group.Index}";
        foreach (var p in group.Parameters)
        {
            if (p.Shape.Count != 2)
                throw new ArgumentException(
                    $"{where}: Muon takes 2-D parameters only (as torch.optim.Muon); '{p.Name}' has shape [{string.Join(", ", p.Shape)}]", nameof(group));
            if (p.Param.ElementType != ElementType.Float32 || p.Grad.ElementType != ElementType.Float32)
                throw new ArgumentException(
                    $"{where}: Muon steps float32 parameters and gradients; '{p.Name}' is {p.Param.ElementType.Name()} with {p.Grad.ElementType.Name()} gradients",
                    nameof(group));
        }
        var source = group.Source;
        if (source.Math != ElementType.Float32)
            throw new ArgumentException($"{where}: Muon's elementwise part computes in fp32, Math was {source.Math.Name()}", nameof(group));
        if (source.ParamUpdate != ParamUpdate.Nearest)
            throw new ArgumentException($"{where}: Muon's float32 parameters round to nearest, ParamUpdate was {source.ParamUpdate.Name()}", nameof(group));
        if (source.States is { } states && (states.Count != 1 || states[0] != StateFormat.Fp32))
            throw new ArgumentException(
                $"{where}: Muon keeps its momentum_buffer in fp32, States was [{string.Join(", ", states.Select(s => s.Name))}]", nameof(group));
        config = ConfigOf(group.Hypers.Spec, where);
        var backend = group.Parameters[0].Backend;
        tensors = new MuonTensor[group.Parameters.Count];
        single = new MuonPlan?[tensors.Length];
        try
        {
            for (var i = 0; i < tensors.Length; i++)
            {
                var p = group.Parameters[i];
                tensors[i] = new MuonTensor(p.Param, p.Grad, backend.AllocateMuonMomentum(p.Length), p.Shape[0], p.Shape[1]);
            }
        }
        catch
        {
            FreeState();
            throw;
        }
    }

    /// <summary>The group's Muon configuration (its lr is the group's; a schedule's value replaces it per step).</summary>
    public MuonConfig Config => config;

    /// <inheritdoc />
    public override string Precision => "rule=muon math=fp32 states=fp32";

    /// <inheritdoc />
    public override IReadOnlyList<NamedBuffer> StateOf(int index) => [new NamedBuffer("momentum_buffer", tensors[index].MomentumBuffer)];

    /// <inheritdoc />
    public override void Step(int step, double lr) => (plan ??= Group.Parameters[0].Backend.PlanMuon(config, tensors)).Step(lr);

    /// <inheritdoc />
    public override void Step(int index, int step, double lr) =>
        (single[index] ??= Group.Parameters[0].Backend.PlanMuon(config, [tensors[index]])).Step(lr);

    /// <inheritdoc />
    protected override void DisposeInternal()
    {
        plan?.Dispose();
        foreach (var s in single) s?.Dispose();
        FreeState();
    }

    /// <summary>The backend configuration of the spec's resolved Muon hyperparameters (torch.optim.Muon's names).</summary>
    internal static MuonConfig ConfigOf(Hypers hypers, string where)
    {
        if (Hyper.getWord(hypers, "ns_precision") != "bf16")
            throw new ArgumentException(
                $"{where}: ns_precision={Hyper.getWord(hypers, "ns_precision")} is the spec's exact iteration; the backends orthogonalise in bf16 (CUDA) or float32 (CPU), so it must be bf16",
                "ns_precision");
        var word = Hyper.getWord(hypers, "ns_coefficients");
        var k = NewtonSchulz.coefficientSets.First(c => c.Item1 == word).Item2;
        return new MuonConfig
        {
            Lr = Hyper.getReal(hypers, "lr"),
            WeightDecay = Hyper.getReal(hypers, "weight_decay"),
            Momentum = Hyper.getReal(hypers, "momentum"),
            Nesterov = Hyper.getFlag(hypers, "nesterov"),
            A = k.A,
            B = k.B,
            C = k.C,
            Eps = Hyper.getReal(hypers, "eps"),
            NsSteps = Hyper.getWhole(hypers, "ns_steps"),
            AdjustLr = Hyper.getWord(hypers, "adjust_lr_fn") == "match_rms_adamw" ? MuonLrAdjust.MatchRmsAdamW : MuonLrAdjust.Original,
        }.Validated();
    }

    private void FreeState()
    {
        foreach (var t in tensors) t?.MomentumBuffer.Dispose();
    }
}
