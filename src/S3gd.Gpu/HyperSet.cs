using System.Collections;
using System.Diagnostics.CodeAnalysis;
using Microsoft.FSharp.Collections;
using S3gd.Spec.Rules;

namespace S3gd.Gpu;

/// <summary>
/// A rule's resolved hyperparameters by torch.optim's names, immutable: each value a <see cref="double"/> (real),
/// <see cref="bool"/> (flag), <see cref="int"/> (whole number) or <see cref="string"/> (word).
/// </summary>
public sealed class HyperSet : IReadOnlyDictionary<string, object>
{
    private readonly Dictionary<string, object> values;

    internal HyperSet(FSharpMap<string, HyperValue> spec)
    {
        Spec = spec;
        values = spec.ToDictionary(kv => kv.Key, kv => ToObject(kv.Value), StringComparer.Ordinal);
    }

    /// <summary>The same values as the spec's map.</summary>
    internal FSharpMap<string, HyperValue> Spec { get; }

    /// <summary>A real hyperparameter (lr, betas, eps, ...).</summary>
    public double Real(string name) => Hyper.getReal(Spec, name);

    /// <summary>A boolean hyperparameter (nesterov, amsgrad, ...).</summary>
    public bool Flag(string name) => Hyper.getFlag(Spec, name);

    /// <summary>A whole-number hyperparameter (warm-up steps, ...).</summary>
    public int Whole(string name) => Hyper.getWhole(Spec, name);

    /// <summary>A word hyperparameter (Adam-mini's partition, ...).</summary>
    public string Word(string name) => Hyper.getWord(Spec, name);

    /// <inheritdoc />
    public object this[string key] => values[key];

    /// <inheritdoc />
    public IEnumerable<string> Keys => values.Keys;

    /// <inheritdoc />
    public IEnumerable<object> Values => values.Values;

    /// <inheritdoc />
    public int Count => values.Count;

    /// <inheritdoc />
    public bool ContainsKey(string key) => values.ContainsKey(key);

    /// <inheritdoc />
    public bool TryGetValue(string key, [MaybeNullWhen(false)] out object value) => values.TryGetValue(key, out value);

    /// <inheritdoc />
    public IEnumerator<KeyValuePair<string, object>> GetEnumerator() => values.GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    /// <summary>The spec's map of C# values by name (none: an empty map).</summary>
    internal static FSharpMap<string, HyperValue> SpecOf(IReadOnlyDictionary<string, object>? values) =>
        MapModule.OfSeq((values ?? new Dictionary<string, object>()).Select(kv => Tuple.Create(kv.Key, FromObject(kv.Key, kv.Value))));

    /// <summary>The C# value of a spec value: double, bool, int or string.</summary>
    internal static object ToObject(HyperValue value) => value switch
    {
        HyperValue.Real r => r.Item,
        HyperValue.Flag f => f.Item,
        HyperValue.Whole w => w.Item,
        HyperValue.Word w => w.Item,
        _ => throw new ArgumentOutOfRangeException(nameof(value), value, "not a hyperparameter value"),
    };

    /// <summary>The spec value of a C# value: double (real), bool (flag), int (whole number) or string (word).</summary>
    internal static HyperValue FromObject(string name, object value) => value switch
    {
        double d => HyperValue.NewReal(d),
        bool b => HyperValue.NewFlag(b),
        int n => HyperValue.NewWhole(n),
        string s => HyperValue.NewWord(s),
        null => throw new ArgumentNullException(name, $"hyperparameter {name} is null"),
        _ => throw new ArgumentException($"hyperparameter {name}: a {value.GetType().Name} is not a double, bool, int or string", name),
    };
}
