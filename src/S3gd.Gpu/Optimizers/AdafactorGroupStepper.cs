using S3gd.Gpu.Adafactor;
using S3gd.Gpu.Elementwise;

namespace S3gd.Gpu.Optimizers;

/// <summary>
/// A group of <see cref="Optimizers.Adafactor"/>: one <see cref="AdafactorConfig"/> from the group's hyperparameters,
/// torch's zeroed state per parameter (row_var and col_var, or variance, float32), and <see cref="AdafactorPlan"/>s built
/// on first use and reused: one over the group, one per parameter stepped alone (each tensor is stepped on its own in
/// either, so both give the same bits).
/// </summary>
public sealed class AdafactorGroupStepper : GroupStepper
{
    private readonly AdafactorConfig config;
    private readonly AdafactorTensor[] tensors;
    private readonly AdafactorPlan?[] single;
    private AdafactorPlan? plan;

    /// <summary>Checks the group (float32 parameters and gradients, float32 maths and state, nearest update), fixes its configuration and allocates the state.</summary>
    public AdafactorGroupStepper(OptimizerGroup group) : base(group)
    {
        var where = $"param group {group.Index}";
        foreach (var p in group.Parameters)
            if (p.Param.ElementType != ElementType.Float32 || p.Grad.ElementType != ElementType.Float32)
                throw new ArgumentException(
                    $"{where}: Adafactor steps float32 parameters and gradients; '{p.Name}' is {p.Param.ElementType.Name()} with {p.Grad.ElementType.Name()} gradients",
                    nameof(group));
        var source = group.Source;
        if (source.Math != ElementType.Float32)
            throw new ArgumentException($"{where}: Adafactor computes in fp32, Math was {source.Math.Name()}", nameof(group));
        if (source.ParamUpdate != ParamUpdate.Nearest)
            throw new ArgumentException($"{where}: Adafactor's float32 parameters round to nearest, ParamUpdate was {source.ParamUpdate.Name()}", nameof(group));
        if (source.States is { } states && states.Any(s => s != StateFormat.Fp32))
            throw new ArgumentException(
                $"{where}: Adafactor keeps its state in fp32, States was [{string.Join(", ", states.Select(s => s.Name))}]", nameof(group));
        config = AdafactorConfig.Of(group.Hypers.Spec);
        tensors = new AdafactorTensor[group.Parameters.Count];
        single = new AdafactorPlan?[tensors.Length];
        try
        {
            for (var i = 0; i < tensors.Length; i++)
            {
                var p = group.Parameters[i];
                var (rowVar, colVar, variance) = p.Backend.AllocateAdafactorState(p.Shape);
                tensors[i] = new AdafactorTensor(p.Param, p.Grad, p.Shape, rowVar, colVar, variance);
            }
        }
        catch
        {
            FreeState();
            throw;
        }
    }

    /// <summary>The group's Adafactor configuration (its lr is the group's; a schedule's value replaces it per step).</summary>
    public AdafactorConfig Config => config;

    /// <inheritdoc />
    public override string Precision => "rule=adafactor math=fp32 states=fp32";

    /// <inheritdoc />
    public override IReadOnlyList<NamedBuffer> StateOf(int index) => [.. tensors[index].State.Select(s => new NamedBuffer(s.Name, s.Buffer))];

    /// <inheritdoc />
    public override void Step(int step, double lr) => (plan ??= Group.Parameters[0].Backend.PlanAdafactor(config, tensors)).Step(step, lr);

    /// <inheritdoc />
    public override void Step(int index, int step, double lr) =>
        (single[index] ??= Group.Parameters[0].Backend.PlanAdafactor(config, [tensors[index]])).Step(step, lr);

    /// <inheritdoc />
    protected override void DisposeInternal()
    {
        plan?.Dispose();
        foreach (var s in single) s?.Dispose();
        FreeState();
    }

    private void FreeState()
    {
        foreach (var t in tensors)
        {
            t?.RowVar?.Dispose();
            t?.ColVar?.Dispose();
            t?.Variance?.Dispose();
        }
    }
}
