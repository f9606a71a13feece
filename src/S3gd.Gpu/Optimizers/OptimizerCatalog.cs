namespace S3gd.Gpu.Optimizers;

/// <summary>The optimizer classes by the spec's command-line rule name, each with its defaults (for command lines and examples).</summary>
public static class OptimizerCatalog
{
    /// <summary>A constructor with every hyperparameter at its default, by rule name.</summary>
    public static IReadOnlyDictionary<string, Func<IEnumerable<ParamGroup>, Optimizer>> ByName { get; } =
        new Dictionary<string, Func<IEnumerable<ParamGroup>, Optimizer>>(StringComparer.Ordinal)
        {
            ["sgd"] = g => new Sgd(g),
            ["rmsprop"] = g => new RmsProp(g),
            ["adam"] = g => new Adam(g),
            ["adamw"] = g => new AdamW(g),
            ["s3gd"] = g => new SmoothedSignSgd(g),
            ["signum"] = g => new Signum(g),
            ["lion"] = g => new Lion(g),
            ["laprop"] = g => new LaProp(g),
            ["ademamix"] = g => new AdEMAMix(g),
            ["sim-ademamix"] = g => new SimplifiedAdEMAMix(g),
            ["madam"] = g => new MAdam(g),
            ["stableadamw"] = g => new StableAdamW(g),
            ["adam-mini"] = g => new AdamMini(g),
        };

    /// <summary>The optimizer named <paramref name="name"/> over <paramref name="groups"/>; an unknown name is an error listing the known ones.</summary>
    public static Optimizer Create(string name, IEnumerable<ParamGroup> groups)
    {
        ArgumentNullException.ThrowIfNull(name);
        return ByName.TryGetValue(name, out var create)
            ? create(groups)
            : throw new ArgumentException($"optimizer '{name}' is not one of {string.Join(", ", ByName.Keys)}", nameof(name));
    }
}
