namespace S3gd.Gpu.Optimizers;

/// <summary>
/// An optimizer over one of the fused elementwise rules (<see cref="Elementwise.ElementwiseRules.ByName"/>): each group
/// is one <see cref="ElementwiseGroupStepper"/>. The named classes (<see cref="AdamW"/>, <see cref="Sgd"/>, ...) only fix the rule and
/// its hyperparameters.
/// </summary>
public abstract class ElementwiseOptimizer : Optimizer
{
    /// <summary>An optimizer of type <paramref name="typeName"/> with the rule and values in <paramref name="hypers"/>.</summary>
    protected ElementwiseOptimizer(string typeName, HyperArgs hypers, IEnumerable<ParamGroup> groups) : base(typeName, hypers, groups) { }

    /// <inheritdoc />
    protected override GroupStepper CreateStepper(OptimizerGroup group) => new ElementwiseGroupStepper(group, Rule);
}
