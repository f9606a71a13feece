namespace S3gd.Gpu.Elementwise;

/// <summary>The elementwise rules by the spec's command-line names, as <see cref="Optimizers.OptimizerCatalog"/> registers them.</summary>
public static class ElementwiseRules
{
    /// <summary>Every elementwise rule's definition by its spec name.</summary>
    public static IReadOnlyDictionary<string, ElementwiseRuleDefinition> ByName { get; } =
        Optimizers.OptimizerCatalog.Rules.Where(r => r.Elementwise is not null).ToDictionary(r => r.Name, r => r.Elementwise!, StringComparer.Ordinal);
}

/// <summary>
/// A computation over a configuration's specialised types (<see cref="ElementwiseConfig.Accept{TResult}"/>): the rule's maths
/// and the gradient's preparation as type arguments, so the caller's code is compiled for exactly that combination.
/// </summary>
/// <typeparam name="TResult">What the computation returns.</typeparam>
public interface IElementwiseVisitor<out TResult>
{
    /// <summary>The computation for one combination.</summary>
    TResult Visit<TRule, TPrep>()
        where TRule : struct, IElementwiseRule
        where TPrep : struct, IGradientPrep;
}
