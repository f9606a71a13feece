using Microsoft.FSharp.Collections;
using S3gd.Gpu.Muon;
using S3gd.Spec.Rules;

namespace S3gd.Gpu.Optimizers;

/// <summary>
/// A group of <see cref="OAdamW"/>: OAdamW's automatic grouping (<see cref="OAdamWGroups.Split"/>) sends the 2-D and
/// larger parameters through the Newton–Schulz projection (<see cref="OAdamWProjectionPlan"/>: scale * NS(g) into a
/// float32 <c>ns_cache</c> per matrix, recomputed every update_proj_gap steps), and a <see cref="StructuredGroupStepper"/>
/// of StableAdamW steps every parameter, the matrices taking their <c>ns_cache</c> as gradient. The CPU projects each
/// matrix on its own, so there a parameter stepped alone equals the group's step bit for bit. With telemetry on, the
/// non-finite count of a matrix is of its projected gradient (what the core reads), not of the raw one.
/// </summary>
public sealed class OAdamWGroupStepper : GroupStepper
{
    /// <summary>The state name of the orthogonalised gradient kept between recomputations (the spec's).</summary>
    private const string CacheName = "ns_cache";

    private readonly StructuredGroupStepper core;
    private readonly OAdamWMatrixConfig matrixConfig;
    private readonly OAdamWProjection[] projections;
    private readonly int?[] matrixOf;
    private readonly OAdamWProjectionPlan?[] single;
    private OAdamWProjectionPlan? plan;

    /// <summary>
    /// Checks the group (float32 gradients: the projection reads them as float32; the rest as <see cref="StructuredGroupStepper"/>
    /// checks StableAdamW's), splits it, allocates each matrix's <c>ns_cache</c> (zero) and the StableAdamW state.
    /// </summary>
    internal OAdamWGroupStepper(OptimizerGroup group, RuleInfo stableAdamW) : base(group)
    {
        ArgumentNullException.ThrowIfNull(stableAdamW);
        var where = $"param group {group.Index}";
        foreach (var p in group.Parameters)
            if (p.Grad.ElementType != ElementType.Float32)
                throw new ArgumentException(
                    $"{where}: OAdamW orthogonalises float32 gradients; '{p.Name}' has {p.Grad.ElementType.Name()} gradients", nameof(group));
        var hypers = group.Hypers;
        matrixConfig = new OAdamWMatrixConfig
        {
            NsSteps = hypers.Whole("ns_steps"),
            UpdateProjGap = hypers.Whole("update_proj_gap"),
            Scale = hypers.Real("scale"),
            Precision = hypers.Word("ns_precision") == "bf16" ? NsPrecision.BFloat16 : NsPrecision.Float32,
        }.Validated();
        var split = OAdamWGroups.Split([.. group.Parameters.Select(p => p.Shape)]);
        var backend = group.Parameters[0].Backend;
        projections = new OAdamWProjection[split.Matrices.Count];
        matrixOf = new int?[group.Parameters.Count];
        single = new OAdamWProjectionPlan?[projections.Length];
        try
        {
            for (var k = 0; k < projections.Length; k++)
            {
                var m = split.Matrices[k];
                var p = group.Parameters[m.Index];
                var cache = backend.Allocate(ElementType.Float32, p.Length);
                backend.Upload<float>(cache, new float[p.Length]);
                projections[k] = new OAdamWProjection(p.Grad, cache, m.Rows, m.Cols);
                matrixOf[m.Index] = k;
            }
            // The core's view of the group: each matrix's gradient is its ns_cache; the values are StableAdamW's.
            var fed = group.Parameters.Select((p, i) => matrixOf[i] is { } k ? new Parameter(p.Name, p.Shape, p.Param, projections[k].Output) : p);
            var source = group.Source;
            var view = new ParamGroup(fed) { Math = source.Math, States = source.States, ParamUpdate = source.ParamUpdate, Schedule = source.Schedule };
            var coreHypers = new HyperSet(MapModule.OfSeq(hypers.Spec.Where(kv => stableAdamW.Hypers.Any(d => d.Name == kv.Key)).Select(kv => Tuple.Create(kv.Key, kv.Value))));
            core = new StructuredGroupStepper(new OptimizerGroup(group.Index, view, coreHypers), stableAdamW);
        }
        catch
        {
            FreeCaches();
            throw;
        }
    }

    /// <inheritdoc />
    public override string Precision => $"rule=oadamw core=({core.Precision}) {CacheName}=fp32";

    /// <inheritdoc />
    public override IReadOnlyList<NamedBuffer> StateOf(int index) =>
        matrixOf[index] is { } k ? [.. core.StateOf(index), new NamedBuffer(CacheName, projections[k].Output)] : core.StateOf(index);

    /// <inheritdoc />
    public override GroupReadings Readings => core.Readings;

    /// <inheritdoc />
    public override void Step(int step, double lr)
    {
        // The first step always projects, so from the second on every ns_cache holds one (loaded from a checkpoint too).
        if (projections.Length > 0) (plan ??= Backend.PlanOAdamWProjection(matrixConfig, projections)).Step(step, cached: step > 1);
        core.Measure = Measure;
        core.Step(step, lr);
    }

    /// <inheritdoc />
    public override void Step(int index, int step, double lr)
    {
        if (matrixOf[index] is { } k) (single[k] ??= Backend.PlanOAdamWProjection(matrixConfig, [projections[k]])).Step(step, cached: step > 1);
        core.Measure = Measure;
        core.Step(index, step, lr);
    }

    /// <inheritdoc />
    protected override void DisposeInternal()
    {
        plan?.Dispose();
        foreach (var s in single) s?.Dispose();
        core.Dispose();
        FreeCaches();
    }

    private Backend Backend => Group.Parameters[0].Backend;

    private void FreeCaches()
    {
        foreach (var p in projections) p?.Output.Dispose();
    }
}
