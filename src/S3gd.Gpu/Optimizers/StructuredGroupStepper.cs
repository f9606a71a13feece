using Microsoft.FSharp.Collections;
using S3gd.Gpu.Elementwise;
using S3gd.Gpu.Structured;
using S3gd.Spec.Formats;
using S3gd.Spec.Rules;
using MiniSpec = S3gd.Spec.Rules.AdamMini;

namespace S3gd.Gpu.Optimizers;

/// <summary>
/// A group of a structured rule (StableAdamW, Adam-mini): one <see cref="StructuredConfig"/> from the group's
/// hyperparameters and formats, the state allocated as the backend allocates it (zero), and plans built on first use and
/// reused: one over the group, one per parameter stepped alone. A reduction never crosses a tensor, so a parameter stepped
/// alone equals the same parameter stepped with its group, bit for bit. With <see cref="GroupStepper.Measure"/> on, steps
/// run the telemetry plans (the same arithmetic, plus per-tensor counters) and <see cref="Readings"/> reports the largest
/// |update| and the non-finite gradient elements.
/// </summary>
public sealed class StructuredGroupStepper : GroupStepper
{
    private readonly StructuredConfig config;
    private readonly StructuredConfig measured;
    private readonly StructuredTensor[] tensors;
    private readonly StructuredPlan?[] single;
    private readonly StructuredPlan?[] singleMeasured;
    private StructuredPlan? plan;
    private StructuredPlan? planMeasured;
    private GroupReadings readings = GroupReadings.Unavailable;

    /// <summary>
    /// Checks the group (one param and one grad format, float32 maths, nearest parameter update; state formats fp32 or
    /// bf16: one for both moments or one each, Adam-mini's vmean always fp32), fixes its configuration, cuts each Adam-mini
    /// parameter into blocks by its name and shape (<c>AdamMiniPartition</c>) and allocates the state. Adam-mini's first
    /// moment may also be block-scaled fp8e4m3 with bf16 fallback.
    /// </summary>
    internal StructuredGroupStepper(OptimizerGroup group, RuleInfo rule) : base(group)
    {
        ArgumentNullException.ThrowIfNull(rule);
        var first = group.Parameters[0];
        var where = $"param group {group.Index}";
        foreach (var p in group.Parameters)
            if (p.Param.ElementType != first.Param.ElementType || p.Grad.ElementType != first.Grad.ElementType)
                throw new ArgumentException(
                    $"{where}: parameter '{p.Name}' is {p.Param.ElementType.Name()} with {p.Grad.ElementType.Name()} gradients, " +
                    $"'{first.Name}' {first.Param.ElementType.Name()} with {first.Grad.ElementType.Name()}; a group has one param and one grad format",
                    nameof(group));
        var source = group.Source;
        if (source.Math != ElementType.Float32)
            throw new ArgumentException($"{where}: {rule.Name} computes in fp32, Math was {source.Math.Name()}", nameof(group));
        if (source.ParamUpdate != ParamUpdate.Nearest)
            throw new ArgumentException(
                $"{where}: {rule.Name} rounds parameters to nearest, ParamUpdate was {source.ParamUpdate.Name()} (StableAdamW's Kahan compensation is its kahan_sum)",
                nameof(group));
        var states = source.States ?? [StateFormat.Fp32];
        var stable = rule.Name == "stableadamw";
        // Adam-mini's first moment may be fp8 e4m3, block-scaled with bf16 fallback (MomentFallback).
        var fp8Moment = !stable && states.Count >= 1 && states[0] == new StateFormat(StorageFormat.Fp8E4M3, true);
        if (states.Count is < 1 or > 2 || states.Skip(fp8Moment ? 1 : 0).Any(s => s.BlockScaled) || (states[0].IsFp8 && !fp8Moment))
            throw new ArgumentException(
                $"{where}: {rule.Name} takes one or two plain state formats (moment, second moment){(stable ? "" : "; the moment may be fp8e4m3 (block-scaled, bf16 fallback)")}, " +
                $"was [{string.Join(", ", states.Select(s => s.Name))}]",
                nameof(group));
        // Adam-mini's vmean is fp32 whatever the first moment's format; a second format given must say so.
        StorageFormat? second = states.Count == 2 ? states[1].Storage : stable ? states[0].Storage : null;
        config = new StructuredConfig(rule, group.Hypers.Spec, first.Param.ElementType.ToFormat(), first.Grad.ElementType.ToFormat(), states[0].Storage, second);
        measured = new StructuredConfig(rule, group.Hypers.Spec, config.Param, config.Grad, config.Moment, config.SecondMoment, telemetry: true);
        MiniSpec.Hyper? mini = null;
        if (!stable)
        {
            var h = MiniSpec.ofHypers(group.Hypers.Spec);
            mini = h.IsError ? throw new ArgumentException($"{where}: {h.ErrorValue}", nameof(group)) : h.ResultValue;
        }
        var backend = first.Backend;
        tensors = new StructuredTensor[group.Parameters.Count];
        single = new StructuredPlan?[tensors.Length];
        singleMeasured = new StructuredPlan?[tensors.Length];
        try
        {
            for (var i = 0; i < tensors.Length; i++)
            {
                var p = group.Parameters[i];
                var block = mini is null ? 0 : AdamMiniPartition.blockLengthOf(mini.Partition, mini.Model, p.Name, ListModule.OfSeq(p.Shape), p.Length);
                var decays = mini is null || AdamMiniPartition.decays(mini.Partition, p.Name);
                var (moment, secondMoment, compensation) = backend.AllocateStructuredState(config, p.Length, block);
                // Stored before the fallback buffers are allocated, so that a failure there frees the moments too.
                tensors[i] = new StructuredTensor(p.Param, p.Grad, moment, secondMoment, block, decays, compensation);
                tensors[i] = tensors[i] with { Fallback = backend.AllocateMomentFallback(config, p.Length, block) };
            }
        }
        catch
        {
            FreeState();
            throw;
        }
    }

    /// <summary>The group's structured-step configuration (telemetry off).</summary>
    public StructuredConfig Config => config;

    /// <inheritdoc />
    public override string Precision => $"rule={config.RuleInfo.Name} math=fp32 states={StorageFormatModule.name(config.Moment)},{StorageFormatModule.name(config.SecondMoment)} kahan={(config.HasCompensation ? "true" : "false")}";

    /// <inheritdoc />
    public override IReadOnlyList<NamedBuffer> StateOf(int index)
    {
        var t = tensors[index];
        var names = config.StateNames;
        var named = new List<NamedBuffer> { new(names[0], t.Moment), new(names[1], t.SecondMoment) };
        // optimi's name for StableAdamW's compensation buffer.
        if (t.Compensation is { } c) named.Add(new NamedBuffer("kahan_comp", c));
        if (t.Fallback is { } f)
        {
            named.Add(new NamedBuffer(names[0] + ".scales", f.Scales));
            named.Add(new NamedBuffer(names[0] + ".slots", f.Pool));
        }
        return named;
    }

    /// <summary>
    /// The largest |update| and the non-finite gradient elements of the last step taken with <see cref="GroupStepper.Measure"/>
    /// on, and with an fp8 first moment its blocks that fell back (else unavailable: no fallback exists).
    /// </summary>
    public override GroupReadings Readings => readings;

    /// <inheritdoc />
    public override void Step(int step, double lr)
    {
        var backend = Group.Parameters[0].Backend;
        if (Measure) Run(planMeasured ??= backend.PlanStructured(measured, tensors), step, lr);
        else Run(plan ??= backend.PlanStructured(config, tensors), step, lr);
    }

    /// <inheritdoc />
    public override void Step(int index, int step, double lr)
    {
        var backend = Group.Parameters[0].Backend;
        if (Measure) Run(singleMeasured[index] ??= backend.PlanStructured(measured, [tensors[index]]), step, lr);
        else Run(single[index] ??= backend.PlanStructured(config, [tensors[index]]), step, lr);
    }

    /// <inheritdoc />
    protected override void DisposeInternal()
    {
        plan?.Dispose();
        planMeasured?.Dispose();
        foreach (var s in single.Concat(singleMeasured)) s?.Dispose();
        FreeState();
    }

    private void Run(StructuredPlan p, int step, double lr)
    {
        p.Step(StructuredScalars.For(p.Config, step, lr));
        if (!p.Config.Telemetry)
        {
            readings = GroupReadings.Unavailable;
            return;
        }
        var counters = p.ReadTelemetry();
        readings = new GroupReadings(
            counters.Max(c => (double)c.MaxAbsUpdate), counters.Sum(c => c.NonFiniteGrads), p.Config.MomentIsFp8 ? counters.Sum(c => c.Fallbacks) : null);
    }

    private void FreeState()
    {
        foreach (var t in tensors)
        {
            if (t is null) continue;
            t.Moment.Dispose();
            t.SecondMoment.Dispose();
            t.Compensation?.Dispose();
            if (t.Fallback is { } f) foreach (var b in f.Buffers) b.Dispose();
        }
    }
}
