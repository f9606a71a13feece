namespace S3gd.Gpu.Optimizers;

/// <summary>
/// An optimizer over one of the structured rules (a reduction, then an elementwise update: <see cref="StableAdamW"/>,
/// <see cref="AdamMini"/>): each group is one <see cref="StructuredGroupStepper"/>.
/// </summary>
public abstract class StructuredOptimizer : Optimizer
{
    /// <summary>An optimizer of type <paramref name="typeName"/> with the rule and values in <paramref name="hypers"/>.</summary>
    protected StructuredOptimizer(string typeName, HyperArgs hypers, IEnumerable<ParamGroup> groups) : base(typeName, hypers, groups) { }

    /// <inheritdoc />
    protected override GroupStepper CreateStepper(OptimizerGroup group) => new StructuredGroupStepper(group, Rule);
}
