using S3gd.Gpu.Rules;

namespace S3gd.Gpu.Elementwise;

/// <summary>The elementwise rules by the spec's command-line names: each rule registered once, with its definition.</summary>
public static class ElementwiseRules
{
    /// <summary>Adam and AdamW share one definition: the name decides the weight decay's form.</summary>
    private static readonly AdamRule Adam = new();

    /// <summary>Every elementwise rule by its spec name.</summary>
    public static IReadOnlyDictionary<string, ElementwiseRuleDefinition> ByName { get; } = new Dictionary<string, ElementwiseRuleDefinition>
    {
        ["sgd"] = new SgdRule(),
        ["adam"] = Adam,
        ["adamw"] = Adam,
        ["rmsprop"] = new RmsPropRule(),
        ["s3gd"] = new S3gdRule(),
        ["lion"] = new LionRule(),
        ["signum"] = new SignumRule(),
        ["laprop"] = new LaPropRule(),
        ["ademamix"] = new AdEMAMixRule(),
        ["sim-ademamix"] = new SimAdEMAMixRule(),
        ["madam"] = new MAdamRule(),
    };
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
