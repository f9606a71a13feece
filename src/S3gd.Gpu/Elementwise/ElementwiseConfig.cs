using System.Globalization;
using S3gd.Spec.Formats;
using S3gd.Spec.Rules;

namespace S3gd.Gpu.Elementwise;

/// <summary>
/// One fused elementwise step's fixed choices: the rule with its resolved hyperparameters, the parameter,
/// gradient and maths formats, and each state buffer's format. Everything is checked at construction, with
/// errors naming the argument and its value; <see cref="Defines"/> specialises <c>elementwise.cu</c> for it.
/// </summary>
public sealed class ElementwiseConfig
{
    /// <summary>
    /// Checks and fixes a configuration. <paramref name="rule"/> is the spec's registry entry (its name must be one of
    /// <see cref="ElementwiseRules.ByName"/>); <paramref name="hypers"/> are given values, resolved against its
    /// definitions. <paramref name="states"/> holds one format for every state buffer, or one per buffer the rule
    /// keeps (<see cref="StateNames"/>); null means fp32. Unscaled fp8 is only for bounded state (S3GD's momentum).
    /// <paramref name="paramUpdate"/> other than Nearest needs bf16 parameters and float32 maths.
    /// </summary>
    public ElementwiseConfig(
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
        if (!ElementwiseRules.ByName.TryGetValue(rule.Name, out var kernelRule))
            throw new ArgumentException(
                $"rule '{rule.Name}' has no fused elementwise kernel (these do: {string.Join(", ", ElementwiseRules.ByName.Keys)})", nameof(rule));
        var resolved = Hyper.resolve(rule.Hypers, hypers);
        if (resolved.IsError) throw new ArgumentException($"rule {rule.Name}: {resolved.ErrorValue}", nameof(hypers));
        var created = rule.Create.Invoke(resolved.ResultValue);
        if (created.IsError) throw new ArgumentException($"rule {rule.Name}: {created.ErrorValue}", nameof(hypers));

        RuleInfo = rule;
        Rule = kernelRule;
        Hypers = resolved.ResultValue;
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

        double Real(string name) => Hyper.getReal(Hypers, name);
        bool Flag(string name) => Hyper.getFlag(Hypers, name);
        var wd = Real("weight_decay");
        var used = new bool[3];
        switch (kernelRule)
        {
            case ElementwiseRule.Sgd:
                Maximize = Flag("maximize");
                WeightDecayCoupled = wd != 0.0;
                Momentum = Real("momentum") != 0.0;
                Nesterov = Flag("nesterov");
                used[0] = Momentum;
                break;
            case ElementwiseRule.Adam:
                Maximize = Flag("maximize");
                var decoupled = rule.Name == "adamw" || Flag("decoupled_weight_decay");
                WeightDecayCoupled = wd != 0.0 && !decoupled;
                WeightDecayDecoupled = wd != 0.0 && decoupled;
                Amsgrad = Flag("amsgrad");
                used[0] = used[1] = true;
                used[2] = Amsgrad;
                break;
            case ElementwiseRule.RmsProp:
                Maximize = Flag("maximize");
                WeightDecayCoupled = wd != 0.0;
                Momentum = Real("momentum") > 0.0;
                Centered = Flag("centered");
                used[0] = true;
                used[1] = Momentum;
                used[2] = Centered;
                break;
            case ElementwiseRule.S3gd:
            case ElementwiseRule.Lion:
                WeightDecayDecoupled = wd != 0.0;
                used[0] = true;
                break;
            case ElementwiseRule.LaProp:
            case ElementwiseRule.SimAdEMAMix:
            case ElementwiseRule.MAdam:
                WeightDecayDecoupled = wd != 0.0;
                used[0] = used[1] = true;
                break;
            case ElementwiseRule.AdEMAMix:
                WeightDecayDecoupled = wd != 0.0;
                FastIsGrad = Real("beta_fast") == 0.0;
                used[0] = used[1] = used[2] = true;
                break;
            case ElementwiseRule.Signum:
                if (Flag("use_shape_scaling"))
                    throw new ArgumentException("rule signum: use_shape_scaling=true is not supported by the fused elementwise kernel", nameof(hypers));
                WeightDecayDecoupled = wd != 0.0;
                Nesterov = Flag("nesterov");
                used[0] = true;
                break;
        }

        var slotNames = ElementwiseRules.SlotNames(kernelRule);
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
                throw new ArgumentException($"state {slotNames[k]}: {StorageFormatModule.name(f.Format)} cannot be block-scaled (only fp8 is)", nameof(states));
            if (f.IsFp8 && !f.BlockScaled && !(kernelRule == ElementwiseRule.S3gd && k == 0))
                throw new ArgumentException(
                    $"state {slotNames[k]} of rule {rule.Name}: {f.Name} is unscaled fp8, which saturates unbounded state; use block-scaled {StorageFormatModule.name(f.Format)}",
                    nameof(states));
            slots[k] = f;
        }
        States = slots;
    }

    /// <summary>The spec's registry entry of the rule.</summary>
    public RuleInfo RuleInfo { get; }

    /// <summary>The kernel's rule.</summary>
    public ElementwiseRule Rule { get; }

    /// <summary>The resolved hyperparameters (every definition of the rule has a value).</summary>
    public Hypers Hypers { get; }

    /// <summary>The parameter format: fp32 or bf16.</summary>
    public StorageFormat Param { get; }

    /// <summary>The gradient format: fp32 or bf16.</summary>
    public StorageFormat Grad { get; }

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

    /// <summary>Adam's AMSGrad (state slot 2 is max_exp_avg_sq).</summary>
    public bool Amsgrad { get; }

    /// <summary>SGD's or Signum's Nesterov form.</summary>
    public bool Nesterov { get; }

    /// <summary>RMSprop's centered form (state slot 2 is grad_avg).</summary>
    public bool Centered { get; }

    /// <summary>SGD or RMSprop keeps a momentum buffer.</summary>
    public bool Momentum { get; }

    /// <summary>AdEMAMix with beta_fast = 0: the fast moment is the gradient itself.</summary>
    public bool FastIsGrad { get; }

    /// <summary>Whether the configuration keeps state slot k.</summary>
    public bool HasState(int k) => States[k] is not null;

    /// <summary>Whether any state buffer is fp8 (the device needs fp8 conversion instructions).</summary>
    public bool UsesFp8 => States.Any(s => s is { IsFp8: true });

    /// <summary>The compile-time defines that specialise <c>elementwise.cu</c> for this configuration (-DNAME=VALUE).</summary>
    public IReadOnlyList<string> Defines()
    {
        static string B(bool b) => b ? "1" : "0";
        var d = new List<string>
        {
            $"-DRULE={(int)Rule}",
            $"-DPARAM_T={DtypeCode(Param)}",
            $"-DGRAD_T={DtypeCode(Grad)}",
            $"-DMATH_BF16={B(MathBf16)}",
            $"-DMAXIMIZE={B(Maximize)}",
            $"-DWD_COUPLED={B(WeightDecayCoupled)}",
            $"-DWD_DECOUPLED={B(WeightDecayDecoupled)}",
            $"-DAMSGRAD={B(Amsgrad)}",
            $"-DNESTEROV={B(Nesterov)}",
            $"-DCENTERED={B(Centered)}",
            $"-DMOMENTUM={B(Momentum)}",
            $"-DGRAD_SCALE={B(GradScale)}",
            $"-DFOUND_INF={B(FoundInf)}",
            $"-DFAST_IS_GRAD={B(FastIsGrad)}",
            $"-DPARAM_UPDATE={(int)ParamUpdate}",
        };
        for (var k = 0; k < 3; k++)
        {
            if (States[k] is not { } s) continue;
            d.Add($"-DS{k}_T={DtypeCode(s.Format)}");
            d.Add($"-DS{k}_SCALED={B(s.BlockScaled)}");
        }
        return d;
    }

    /// <summary>A short description: rule, formats, flags (for tables and errors).</summary>
    public override string ToString()
    {
        var states = string.Join("/", States.Where(s => s is not null).Select(s => s!.Value.Name));
        return string.Create(CultureInfo.InvariantCulture,
            $"{RuleInfo.Name} p={StorageFormatModule.name(Param)} g={StorageFormatModule.name(Grad)} math={(MathBf16 ? "bf16" : "fp32")} state={(states.Length == 0 ? "none" : states)}{(ParamUpdate == ParamUpdate.Nearest ? "" : " update=" + ParamUpdate.Name())}");
    }

    /// <summary>The kernel's DT_* code of a storage format: 0 fp32, 1 bf16, 2 fp8 e4m3, 3 fp8 e5m2.</summary>
    public static int DtypeCode(StorageFormat format) => format.Tag;

    private static StorageFormat CheckWide(StorageFormat format, string name)
    {
        ArgumentNullException.ThrowIfNull(format, name);
        if (!format.IsFp32 && !format.IsBf16)
            throw new ArgumentException($"{name} must be fp32 or bf16, was {StorageFormatModule.name(format)}", name);
        return format;
    }
}
