using S3gd.Gpu.Elementwise;

namespace S3gd.Gpu.Optimizers;

/// <summary>
/// A group of an elementwise rule: one <see cref="ElementwiseConfig"/> (the group's hyperparameters and formats), the
/// state allocated as the backend allocates it (zero, block scales 1), the group's plan built on its first step and
/// reused (one launch per step), and one single-tensor plan per parameter stepped alone. Stochastic rounding is seeded
/// by the group's index; its bits depend on the parameter's place in the plan, so a parameter stepped alone rounds
/// differently from the same parameter stepped with its group.
/// </summary>
public sealed class ElementwiseGroupStepper : GroupStepper
{
    private readonly ElementwiseConfig config;
    private readonly ElementwiseTensor[] tensors;
    private readonly ElementwisePlan?[] single;
    private ElementwisePlan? plan;

    /// <summary>Checks the group (every parameter with the same param and grad formats), fixes its configuration and allocates its state.</summary>
    internal ElementwiseGroupStepper(OptimizerGroup group, S3gd.Spec.Rules.RuleInfo rule) : base(group)
    {
        ArgumentNullException.ThrowIfNull(rule);
        var first = group.Parameters[0];
        foreach (var p in group.Parameters)
            if (p.Param.ElementType != first.Param.ElementType || p.Grad.ElementType != first.Grad.ElementType)
                throw new ArgumentException(
                    $"param group {group.Index}: parameter '{p.Name}' is {p.Param.ElementType.Name()} with {p.Grad.ElementType.Name()} gradients, " +
                    $"'{first.Name}' {first.Param.ElementType.Name()} with {first.Grad.ElementType.Name()}; a group has one param and one grad format",
                    nameof(group));
        var source = group.Source;
        config = new ElementwiseConfig(
            rule, group.Hypers.Spec, first.Param.ElementType.ToFormat(), first.Grad.ElementType.ToFormat(), source.Math.ToFormat(),
            source.States, paramUpdate: source.ParamUpdate);
        var backend = first.Backend;
        tensors = new ElementwiseTensor[group.Parameters.Count];
        single = new ElementwisePlan?[tensors.Length];
        try
        {
            for (var i = 0; i < tensors.Length; i++)
            {
                var p = group.Parameters[i];
                var (states, scales) = backend.AllocateElementwiseState(config, p.Length);
                tensors[i] = new ElementwiseTensor(p.Param, p.Grad, states, scales, backend.AllocateCompensation(config, p.Length));
            }
        }
        catch
        {
            FreeState();
            throw;
        }
    }

    /// <summary>The group's fused-step configuration.</summary>
    public ElementwiseConfig Config => config;

    /// <inheritdoc />
    public override string Precision =>
        $"rule={config.RuleInfo.Name} math={(config.MathBf16 ? "bf16" : "fp32")} states={string.Join(",", config.States.Where(s => s is not null).Select(s => s!.Value.Name))} param_update={config.ParamUpdate.Name()}";

    /// <inheritdoc />
    public override IReadOnlyList<NamedBuffer> StateOf(int index)
    {
        var t = tensors[index];
        var slots = config.SlotNames;
        var named = new List<NamedBuffer>();
        for (var k = 0; k < 3; k++)
        {
            if (t.States[k] is not { } s) continue;
            named.Add(new NamedBuffer(slots[k]!, s));
            if (t.Scales[k] is { } scales) named.Add(new NamedBuffer(slots[k] + ".scales", scales));
        }
        if (t.Compensation is { } c) named.Add(new NamedBuffer("compensation", c));
        return named;
    }

    /// <inheritdoc />
    public override void Step(int step, double lr)
    {
        plan ??= Group.Parameters[0].Backend.PlanElementwise(config, tensors);
        plan.Step(StepScalars.For(config, step, lr, seed: (uint)Group.Index));
    }

    /// <inheritdoc />
    public override void Step(int index, int step, double lr)
    {
        single[index] ??= Group.Parameters[0].Backend.PlanElementwise(config, [tensors[index]]);
        single[index]!.Step(StepScalars.For(config, step, lr, seed: (uint)Group.Index));
    }

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
            if (t is null) continue;
            foreach (var s in t.States) s?.Dispose();
            foreach (var s in t.Scales) s?.Dispose();
            t.Compensation?.Dispose();
        }
    }
}
