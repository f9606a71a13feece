using S3gd.Gpu.Elementwise;
using S3gd.Spec.Rules;

namespace S3gd.Gpu.Optimizers;

/// <summary>
/// A param group, as torch.optim's: parameters with the hyperparameters that differ from the optimizer's (by torch's
/// names, checked when the optimizer is built), the maths and state formats, the bf16 parameter update and a learning
/// rate schedule. Immutable: <see cref="With(string, double)"/> returns a new group.
/// </summary>
public sealed class ParamGroup
{
    private readonly Dictionary<string, object> overrides;

    /// <summary>A group of <paramref name="parameters"/> (at least one) with the optimizer's hyperparameters, float32 maths and state.</summary>
    public ParamGroup(IEnumerable<Parameter> parameters)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        Parameters = [.. parameters];
        if (Parameters.Count == 0) throw new ArgumentException("a param group needs at least one parameter", nameof(parameters));
        for (var i = 0; i < Parameters.Count; i++)
            if (Parameters[i] is null) throw new ArgumentNullException(nameof(parameters), $"parameters[{i}] is null");
        overrides = new Dictionary<string, object>(StringComparer.Ordinal);
    }

    private ParamGroup(ParamGroup source, string name, object value)
    {
        ArgumentNullException.ThrowIfNull(name);
        Parameters = source.Parameters;
        overrides = new Dictionary<string, object>(source.overrides, StringComparer.Ordinal) { [name] = value };
        Math = source.Math;
        States = source.States;
        ParamUpdate = source.ParamUpdate;
        Schedule = source.Schedule;
    }

    /// <summary>The group's parameters, in order.</summary>
    public IReadOnlyList<Parameter> Parameters { get; }

    /// <summary>Hyperparameters that differ from the optimizer's, by torch.optim's names (lr, weight_decay, beta1, ...): each a double, bool, int or string.</summary>
    public IReadOnlyDictionary<string, object> Overrides => overrides;

    /// <summary>The arithmetic format: <see cref="ElementType.Float32"/> (default) or <see cref="ElementType.BFloat16"/> (every operation rounds to bf16).</summary>
    public ElementType Math { get; init; } = ElementType.Float32;

    /// <summary>One format for every state buffer, or one per buffer kept; null means float32 (see <see cref="ElementwiseConfig"/>).</summary>
    public IReadOnlyList<StateFormat>? States { get; init; }

    /// <summary>How bf16 parameters take their update (Nearest, Kahan, Stochastic).</summary>
    public ParamUpdate ParamUpdate { get; init; } = ParamUpdate.Nearest;

    /// <summary>The learning rate of each step (1-based), e.g. <see cref="Schedules.Cosine"/>; null keeps the group's lr.</summary>
    public Func<int, double>? Schedule { get; init; }

    /// <summary>This group with a real hyperparameter set (torch's name: "lr", "weight_decay", ...).</summary>
    public ParamGroup With(string name, double value) => new(this, name, value);

    /// <summary>This group with a boolean hyperparameter set ("nesterov", "amsgrad", ...).</summary>
    public ParamGroup With(string name, bool value) => new(this, name, value);

    /// <summary>This group with a whole-number hyperparameter set (warm-up steps, ...).</summary>
    public ParamGroup With(string name, int value) => new(this, name, value);

    /// <summary>This group with a word hyperparameter set (Adam-mini's "partition", Muon's "ns_coefficients", ...).</summary>
    public ParamGroup With(string name, string value) => new(this, name, value ?? throw new ArgumentNullException(nameof(value)));

    /// <summary>This group with a spec value of any kind set (the F# tools' values resolved from a command line, ...).</summary>
    internal ParamGroup With(string name, HyperValue value) => new(this, name, HyperSet.ToObject(value ?? throw new ArgumentNullException(nameof(value))));
}
