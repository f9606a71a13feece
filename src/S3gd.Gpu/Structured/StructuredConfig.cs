using System.Globalization;
using S3gd.Gpu.Elementwise;
using S3gd.Spec.Formats;
using S3gd.Spec.Rules;

namespace S3gd.Gpu.Structured;

/// <summary>
/// One structured step's fixed choices: StableAdamW or Adam-mini with resolved hyperparameters, the parameter and gradient
/// formats, the moments' formats and whether the bf16 parameter is Kahan-compensated. Checked at construction, errors
/// naming the argument and its value; <see cref="RuleType"/> and the formats specialise the kernels. The maths is float32.
/// </summary>
public sealed class StructuredConfig
{
    /// <summary>The structured rule of a spec rule's name (the spec modules' own names), or null where it has none.</summary>
    public static StructuredRule? RuleOf(string name) =>
        name == S3gd.Spec.Rules.StableAdamW.info.Name ? StructuredRule.StableAdamW
        : name == S3gd.Spec.Rules.AdamMini.info.Name ? StructuredRule.AdamMini
        : null;

    /// <summary>
    /// Checks and fixes a configuration. <paramref name="rule"/> is the rule's name (stableadamw or adam-mini);
    /// <paramref name="hypers"/> are given values by torch's names (double, bool, int or string), the others at the
    /// rule's defaults. <paramref name="moment"/> is the format of the
    /// per-element first moment (exp_avg, m) and <paramref name="secondMoment"/> of StableAdamW's per-element exp_avg_sq
    /// (fp32 or bf16; Adam-mini's vmean, one per block, is always fp32; Adam-mini's m may also be fp8e4m3, block-scaled
    /// with bf16 fallback, keeping a <see cref="MomentFallback"/> per tensor). StableAdamW's kahan_sum=true needs bf16 parameters
    /// and keeps a bf16 compensation buffer per parameter. <paramref name="telemetry"/> makes each step count non-finite
    /// gradients and the largest |update| per tensor on the device (<see cref="StructuredPlan.ReadTelemetry"/>).
    /// </summary>
    public StructuredConfig(
        string rule,
        IReadOnlyDictionary<string, object>? hypers = null,
        ElementType param = ElementType.Float32,
        ElementType grad = ElementType.Float32,
        ElementType moment = ElementType.Float32,
        ElementType? secondMoment = null,
        bool telemetry = false)
        : this(SpecRegistry.Named(rule, nameof(rule)), HyperSet.SpecOf(hypers), param.ToFormat(), grad.ToFormat(), moment.ToFormat(), secondMoment?.ToFormat(), telemetry)
    {
    }

    /// <summary>The same configuration from the spec's rule entry, values and storage formats (the F# tools' form).</summary>
    internal StructuredConfig(
        RuleInfo rule,
        Hypers hypers,
        StorageFormat? param = null,
        StorageFormat? grad = null,
        StorageFormat? moment = null,
        StorageFormat? secondMoment = null,
        bool telemetry = false)
    {
        ArgumentNullException.ThrowIfNull(rule);
        ArgumentNullException.ThrowIfNull(hypers);
        Rule = RuleOf(rule.Name)
            ?? throw new ArgumentException($"rule '{rule.Name}' has no structured kernel (these do: stableadamw, adam-mini)", nameof(rule));
        var resolved = Hyper.resolve(rule.Hypers, hypers);
        if (resolved.IsError) throw new ArgumentException($"rule {rule.Name}: {resolved.ErrorValue}", nameof(hypers));
        var created = rule.Create.Invoke(resolved.ResultValue);
        if (created.IsError) throw new ArgumentException($"rule {rule.Name}: {created.ErrorValue}", nameof(hypers));
        RuleInfo = rule;
        Hypers = new HyperSet(resolved.ResultValue);
        Param = CheckWide(param ?? StorageFormat.Fp32, nameof(param));
        Grad = CheckWide(grad ?? StorageFormat.Fp32, nameof(grad));
        Moment = moment is not null && moment.IsFp8E4M3 && Rule == StructuredRule.AdamMini
            ? moment
            : CheckWide(moment ?? StorageFormat.Fp32, nameof(moment), Rule == StructuredRule.AdamMini ? " (adam-mini: or fp8e4m3, block-scaled with bf16 fallback)" : "");
        if (Rule == StructuredRule.AdamMini && secondMoment is not null && !secondMoment.IsFp32)
            throw new ArgumentException(
                $"adam-mini keeps vmean (one per block) in fp32; secondMoment was {StorageFormatModule.name(secondMoment)}", nameof(secondMoment));
        SecondMoment = CheckWide(secondMoment ?? StorageFormat.Fp32, nameof(secondMoment));
        Telemetry = telemetry;
        var wd = Hypers.Real("weight_decay");
        WeightDecay = wd != 0.0;
        if (Rule == StructuredRule.StableAdamW && Hypers.Flag("kahan_sum"))
        {
            if (!Param.IsBf16)
                throw new ArgumentException(
                    $"rule stableadamw: kahan_sum=true compensates bf16 parameters, param was {StorageFormatModule.name(Param)}", nameof(param));
            HasCompensation = true;
        }
    }

    /// <summary>The spec's registry entry of the rule.</summary>
    internal RuleInfo RuleInfo { get; }

    /// <summary>The kernel's rule.</summary>
    public StructuredRule Rule { get; }

    /// <summary>The resolved hyperparameters.</summary>
    public HyperSet Hypers { get; }

    /// <summary>The parameter format: fp32 or bf16.</summary>
    internal StorageFormat Param { get; }

    /// <summary>The gradient format: fp32 or bf16.</summary>
    internal StorageFormat Grad { get; }

    /// <summary>The per-element first moment's format (exp_avg, m): fp32 or bf16; Adam-mini's also fp8e4m3 (<see cref="MomentFallback"/>).</summary>
    internal StorageFormat Moment { get; }

    /// <summary>Whether the first moment is fp8 with bf16 fallback (Adam-mini only), keeping a <see cref="MomentFallback"/> per tensor.</summary>
    public bool MomentIsFp8 => Moment.IsFp8E4M3;

    /// <summary>The second moment's format: StableAdamW's exp_avg_sq fp32 or bf16; Adam-mini's vmean fp32.</summary>
    internal StorageFormat SecondMoment { get; }

    /// <summary>Whether each bf16 parameter has a bf16 Kahan compensation buffer (StableAdamW's kahan_sum).</summary>
    public bool HasCompensation { get; }

    /// <summary>Whether weight decay is non-zero (the update multiplies p by the decay factor).</summary>
    public bool WeightDecay { get; }

    /// <summary>Whether steps count non-finite gradients and the largest |update| per tensor on the device.</summary>
    public bool Telemetry { get; }

    /// <summary>The spec's names of the state buffers, in order (first moment, second moment).</summary>
    public IReadOnlyList<string> StateNames => Rule == StructuredRule.StableAdamW ? ["exp_avg", "exp_avg_sq"] : ["m", "vmean"];

    /// <summary>The rule's maths for the kernels and the CPU twin (<see cref="StableAdamWStep"/> or <see cref="AdamMiniStep"/>).</summary>
    public Type RuleType => Rule == StructuredRule.StableAdamW ? typeof(StableAdamWStep) : typeof(AdamMiniStep);

    /// <summary>A short description: rule and formats (for tables and errors).</summary>
    public override string ToString() =>
        string.Create(CultureInfo.InvariantCulture,
            $"{RuleInfo.Name} p={StorageFormatModule.name(Param)} g={StorageFormatModule.name(Grad)} state={StorageFormatModule.name(Moment)}/{StorageFormatModule.name(SecondMoment)}{(HasCompensation ? " update=kahan" : "")}");

    private static StorageFormat CheckWide(StorageFormat format, string name, string alternative = "")
    {
        ArgumentNullException.ThrowIfNull(format, name);
        if (!format.IsFp32 && !format.IsBf16)
            throw new ArgumentException($"{name} must be fp32 or bf16{alternative}, was {StorageFormatModule.name(format)}", name);
        return format;
    }
}
