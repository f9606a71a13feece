using Microsoft.FSharp.Collections;
using S3gd.Spec.Rules;

namespace S3gd.Gpu.Optimizers;

/// <summary>
/// Hyperparameter values given to an optimizer class or a param group, each checked against the spec's definition when
/// added: an unknown name, NaN, infinity or a value out of range is an <see cref="ArgumentException"/> naming it and its value.
/// </summary>
public sealed class HyperArgs
{
    private readonly Dictionary<string, HyperValue> values = new(StringComparer.Ordinal);

    /// <summary>Starts an empty set for the rule named <paramref name="rule"/> (sgd, adamw, ...; an unknown name is an error listing the known ones), whose errors are prefixed by <paramref name="owner"/> (the optimizer type).</summary>
    public HyperArgs(string rule, string owner)
        : this(SpecRegistry.Named(rule, nameof(rule)), owner)
    {
    }

    internal HyperArgs(RuleInfo rule, string owner)
    {
        ArgumentNullException.ThrowIfNull(rule);
        ArgumentNullException.ThrowIfNull(owner);
        Rule = rule;
        Owner = owner;
    }

    /// <summary>The spec's rule the values are for.</summary>
    internal RuleInfo Rule { get; }

    /// <summary>Who the values are for, as errors name it (the optimizer type, "param group 1", ...).</summary>
    public string Owner { get; }

    /// <summary>The values given so far, by torch.optim's names.</summary>
    internal IReadOnlyDictionary<string, HyperValue> Values => values;

    /// <summary>Adds a real value (lr, betas, eps, ...).</summary>
    public HyperArgs Real(string name, double value) => Add(name, HyperValue.NewReal(value));

    /// <summary>Adds a boolean switch (nesterov, amsgrad, ...).</summary>
    public HyperArgs Flag(string name, bool value) => Add(name, HyperValue.NewFlag(value));

    /// <summary>Adds a whole number (warm-up steps, ...).</summary>
    public HyperArgs Whole(string name, int value) => Add(name, HyperValue.NewWhole(value));

    /// <summary>Adds one of a fixed set of words (Adam-mini's partition, ...).</summary>
    public HyperArgs Word(string name, string value) => Add(name, HyperValue.NewWord(value));

    /// <summary>Adds a value of any kind, checked against the rule's definition of <paramref name="name"/>.</summary>
    internal HyperArgs Add(string name, HyperValue value)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(value);
        var def = Rule.Hypers.FirstOrDefault(d => d.Name == name) ?? throw new ArgumentException(
            $"{Owner}: unknown hyperparameter '{name}' for rule {Rule.Name} (known: {string.Join(", ", Rule.Hypers.Select(d => d.Name))})", name);
        if (!def.Valid.Invoke(value))
            throw new ArgumentException($"{Owner}: {name}={Hyper.show(value)} is out of range (valid: {def.Range})", name);
        values[name] = value;
        return this;
    }

    /// <summary>The values overlaid on <paramref name="baseline"/> (later values win), resolved against the rule's defaults and checked as a whole.</summary>
    internal HyperSet Resolve(IReadOnlyDictionary<string, HyperValue>? baseline = null)
    {
        var merged = new Dictionary<string, HyperValue>(baseline ?? new Dictionary<string, HyperValue>(), StringComparer.Ordinal);
        foreach (var (k, v) in values) merged[k] = v;
        var map = MapModule.OfSeq(merged.Select(kv => Tuple.Create(kv.Key, kv.Value)));
        var resolved = Hyper.resolve(Rule.Hypers, map);
        if (resolved.IsError) throw new ArgumentException($"{Owner}: {resolved.ErrorValue}", "hypers");
        var created = Rule.Create.Invoke(resolved.ResultValue);
        if (created.IsError) throw new ArgumentException($"{Owner}: {created.ErrorValue}", "hypers");
        return new HyperSet(resolved.ResultValue);
    }
}
