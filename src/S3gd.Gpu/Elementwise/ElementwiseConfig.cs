using System.Globalization;
using S3gd.Spec.Formats;
using S3gd.Spec.Rules;

namespace S3gd.Gpu.Elementwise;

/// <summary>
/// One fused elementwise step's fixed choices: the rule with its resolved hyperparameters, the parameter,
/// gradient and maths formats, and each state buffer's format. Everything is checked at construction, with
/// errors naming the argument and its value; <see cref="RuleType"/> and <see cref="PrepType"/> specialise the step for it.
/// </summary>
public sealed class ElementwiseConfig
{
    /// <summary>
    /// Checks and fixes a configuration. <paramref name="rule"/> is the rule's name (one of
    /// <see cref="ElementwiseRules.ByName"/>); <paramref name="hypers"/> are given values by torch's names (double, bool,
    /// int or string), the others at the rule's defaults. <paramref name="states"/> holds one format for every state buffer, or one per buffer the rule
    /// keeps (<see cref="StateNames"/>); null means fp32. Unscaled fp8 is only for bounded state (S3GD's momentum).
    /// <paramref name="paramUpdate"/> other than Nearest needs bf16 parameters and float32 maths.
    /// </summary>
    public ElementwiseConfig(
        string rule,
        IReadOnlyDictionary<string, object>? hypers = null,
        ElementType param = ElementType.Float32,
        ElementType grad = ElementType.Float32,
        ElementType math = ElementType.Float32,
        IReadOnlyList<StateFormat>? states = null,
        bool gradScale = false,
        bool foundInf = false,
        ParamUpdate paramUpdate = ParamUpdate.Nearest)
        : this(SpecRegistry.Named(rule, nameof(rule)), HyperSet.SpecOf(hypers), param.ToFormat(), grad.ToFormat(), math.ToFormat(), states, gradScale, foundInf, paramUpdate)
    {
    }

    /// <summary>The same configuration from the spec's rule entry, values and storage formats (the F# tools' form).</summary>
    internal ElementwiseConfig(
        RuleInfo rule,
        Hypers hypers,
        StorageFormat? param = null,
        StorageFormat? grad = null,
        StorageFormat? math = null,
        IReadOnlyList<StateFormat>? states = null,
        bool gradScale = false,
        bool foundInf = false,
        ParamUpdate paramUpdate = ParamUpdate.Nearest)
    {
        ArgumentNullException.ThrowIfNull(rule);
        ArgumentNullException.ThrowIfNull(hypers);
        if (!ElementwiseRules.ByName.TryGetValue(rule.Name, out var definition))
            throw new ArgumentException(
                $"rule '{rule.Name}' has no fused elementwise kernel (these do: {string.Join(", ", ElementwiseRules.ByName.Keys)})", nameof(rule));
        var resolved = Hyper.resolve(rule.Hypers, hypers);
        if (resolved.IsError) throw new ArgumentException($"rule {rule.Name}: {resolved.ErrorValue}", nameof(hypers));
        var created = rule.Create.Invoke(resolved.ResultValue);
        if (created.IsError) throw new ArgumentException($"rule {rule.Name}: {created.ErrorValue}", nameof(hypers));

        RuleInfo = rule;
        Definition = definition;
        Hypers = new HyperSet(resolved.ResultValue);
        Param = CheckWide(param ?? StorageFormat.Fp32, nameof(param));
        Grad = CheckWide(grad ?? StorageFormat.Fp32, nameof(grad));
        MathBf16 = CheckWide(math ?? StorageFormat.Fp32, nameof(math)).IsBf16;
        GradScale = gradScale;
        FoundInf = foundInf;
        if (!Enum.IsDefined(paramUpdate))
            throw new ArgumentOutOfRangeException(nameof(paramUpdate), paramUpdate, "not a ParamUpdate");
        if (paramUpdate != ParamUpdate.Nearest && !Param.IsBf16)
            throw new ArgumentException(
                $"paramUpdate={paramUpdate.Name()} needs bf16 parameters, param was {StorageFormatModule.name(Param)}", nameof(paramUpdate));
        if (paramUpdate != ParamUpdate.Nearest && MathBf16)
            throw new ArgumentException(
                $"paramUpdate={paramUpdate.Name()} needs float32 maths (with math=bf16 every operation already rounds the parameter to bf16)",
                nameof(paramUpdate));
        ParamUpdate = paramUpdate;

        var choice = definition.Choose(rule.Name, Hypers);
        RuleType = choice.Rule;
        Maximize = choice.Maximize;
        WeightDecayCoupled = choice.WeightDecayCoupled;
        WeightDecayDecoupled = choice.WeightDecayDecoupled;
        var used = choice.Slots;

        var slotNames = definition.SlotNames;
        var names = Enumerable.Range(0, 3).Where(k => used[k]).Select(k => slotNames[k]!).ToArray();
        StateNames = names;
        var given = states ?? [StateFormat.Fp32];
        if (given.Count != 1 && given.Count != names.Length)
            throw new ArgumentException(
                $"{given.Count} state formats given; rule {rule.Name} keeps {names.Length} buffer(s) here ({string.Join(", ", names)}): give 1 or {names.Length}",
                nameof(states));
        var slots = new StateFormat?[3];
        var next = 0;
        for (var k = 0; k < 3; k++)
        {
            if (!used[k]) continue;
            var f = given.Count == 1 ? given[0] : given[next];
            next++;
            if (f.BlockScaled && !f.IsFp8)
                throw new ArgumentException($"state {slotNames[k]}: {f.Format.Name()} cannot be block-scaled (only fp8 is)", nameof(states));
            if (f.IsFp8 && !f.BlockScaled && !definition.Bounded(k))
                throw new ArgumentException(
                    $"state {slotNames[k]} of rule {rule.Name}: {f.Name} is unscaled fp8, which saturates unbounded state; use block-scaled {f.Format.Name()}",
                    nameof(states));
            slots[k] = f;
        }
        States = slots;
    }

    /// <summary>The spec's registry entry of the rule.</summary>
    internal RuleInfo RuleInfo { get; }

    /// <summary>The rule's definition (<see cref="ElementwiseRules"/>).</summary>
    public ElementwiseRuleDefinition Definition { get; }

    /// <summary>The rule's maths specialised for the hyperparameters (a struct implementing <see cref="IElementwiseRule"/>).</summary>
    public Type RuleType { get; }

    /// <summary>The gradient's preparation specialised for the configuration (<see cref="GradientPrep{TScale, TMaximize, TCoupled, TDecoupled}"/>).</summary>
    public Type PrepType => typeof(GradientPrep<,,,>).MakeGenericType(
        Maths.Flags.Of(GradScale), Maths.Flags.Of(Maximize), Maths.Flags.Of(WeightDecayCoupled), Maths.Flags.Of(WeightDecayDecoupled));

    /// <summary>The spec's buffer name of each of the three state slots (null: the rule has no such slot).</summary>
    public IReadOnlyList<string?> SlotNames => Definition.SlotNames;

    /// <summary>The resolved hyperparameters (every definition of the rule has a value).</summary>
    public HyperSet Hypers { get; }

    /// <summary>The parameter format: fp32 or bf16.</summary>
    internal StorageFormat Param { get; }

    /// <summary>The gradient format: fp32 or bf16.</summary>
    internal StorageFormat Grad { get; }

    /// <summary>Whether every operation rounds to bf16 (otherwise the maths is float32).</summary>
    public bool MathBf16 { get; }

    /// <summary>The format of each of the kernel's three state slots; null for a slot the configuration does not keep.</summary>
    public IReadOnlyList<StateFormat?> States { get; }

    /// <summary>The spec's names of the state buffers kept, in slot order (the used slots only).</summary>
    public IReadOnlyList<string> StateNames { get; }

    /// <summary>Whether the step divides the gradient by a per-step scale.</summary>
    public bool GradScale { get; }

    /// <summary>Whether the step reads a device found-inf flag that turns it into a no-op.</summary>
    public bool FoundInf { get; }

    /// <summary>How the bf16 parameter takes its update: nearest, Kahan-compensated or stochastically rounded.</summary>
    public ParamUpdate ParamUpdate { get; }

    /// <summary>Whether each parameter carries a bf16 Kahan compensation buffer (<see cref="ParamUpdate.Kahan"/>).</summary>
    public bool HasCompensation => ParamUpdate == ParamUpdate.Kahan;

    /// <summary>The gradient is negated (maximize=true).</summary>
    public bool Maximize { get; }

    /// <summary>Coupled weight decay g &lt;- g + wd*p, with wd non-zero.</summary>
    public bool WeightDecayCoupled { get; }

    /// <summary>Decoupled weight decay p &lt;- p*(1 - lr*wd), with wd non-zero.</summary>
    public bool WeightDecayDecoupled { get; }

    /// <summary>Whether the configuration keeps state slot k.</summary>
    public bool HasState(int k) => States[k] is not null;

    /// <summary>Whether any state buffer is fp8 (the device needs fp8 conversion instructions).</summary>
    public bool UsesFp8 => States.Any(s => s is { IsFp8: true });

    /// <summary>Runs <paramref name="visitor"/> for this configuration's rule and preparation types.</summary>
    public TResult Accept<TResult>(IElementwiseVisitor<TResult> visitor)
    {
        ArgumentNullException.ThrowIfNull(visitor);
        var visit = typeof(IElementwiseVisitor<TResult>).GetMethod(nameof(IElementwiseVisitor<TResult>.Visit))!;
        try
        {
            return (TResult)visit.MakeGenericMethod(RuleType, PrepType).Invoke(visitor, null)!;
        }
        catch (System.Reflection.TargetInvocationException e) when (e.InnerException is not null)
        {
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(e.InnerException);
            throw;
        }
    }

    /// <summary>A short description: rule, formats, flags (for tables and errors).</summary>
    public override string ToString()
    {
        var states = string.Join("/", States.Where(s => s is not null).Select(s => s!.Value.Name));
        return string.Create(CultureInfo.InvariantCulture,
            $"{RuleInfo.Name} p={StorageFormatModule.name(Param)} g={StorageFormatModule.name(Grad)} math={(MathBf16 ? "bf16" : "fp32")} state={(states.Length == 0 ? "none" : states)}{(ParamUpdate == ParamUpdate.Nearest ? "" : " update=" + ParamUpdate.Name())}");
    }

    private static StorageFormat CheckWide(StorageFormat format, string name)
    {
        ArgumentNullException.ThrowIfNull(format, name);
        if (!format.IsFp32 && !format.IsBf16)
            throw new ArgumentException($"{name} must be fp32 or bf16, was {StorageFormatModule.name(format)}", name);
        return format;
    }
}
