using S3gd.Gpu.Elementwise;
using S3gd.Gpu.Rules;
using S3gd.Spec.Rules;
using SpecRules = S3gd.Spec.Rules;

namespace S3gd.Gpu.Optimizers;

/// <summary>Which kernels step a rule.</summary>
public enum RuleFamily
{
    /// <summary>The fused elementwise step (<see cref="ElementwiseRuleDefinition"/>).</summary>
    Elementwise,
    /// <summary>The structured steps: a reduction over a tensor or block, then the update (StableAdamW, Adam-mini).</summary>
    Structured,
    /// <summary>Muon's Newton–Schulz orthogonalisation of 2-D parameters.</summary>
    Muon,
    /// <summary>OAdamW: the Newton–Schulz projection of matrix gradients into the StableAdamW step.</summary>
    OAdamW,
    /// <summary>Adafactor: row and column sums over the last two dims, then per-tensor sums of squares, then the update.</summary>
    Adafactor,
}

/// <summary>
/// One rule's registration, the only one: its specification (identity, hyperparameters, reference), the kernels that
/// step it (and, for the elementwise family, its definition beside its maths in <c>Rules/</c>), its optimizer class, and
/// what the tools do with it.
/// </summary>
public sealed class RuleEntry
{
    internal RuleEntry(
        RuleInfo spec,
        RuleFamily family,
        Func<IEnumerable<ParamGroup>, Optimizer> create,
        double? trainingLr = null,
        bool bench = false,
        ElementwiseRuleDefinition? elementwise = null)
    {
        Spec = spec;
        Family = family;
        Create = create;
        TrainingLr = trainingLr;
        Bench = bench;
        Elementwise = elementwise;
    }

    /// <summary>The rule's spec module's entry.</summary>
    internal RuleInfo Spec { get; }

    /// <summary>The rule's command-line name.</summary>
    public string Name => Spec.Name;

    /// <summary>The kernels that step it.</summary>
    public RuleFamily Family { get; }

    /// <summary>Its optimizer class with every hyperparameter at its default.</summary>
    public Func<IEnumerable<ParamGroup>, Optimizer> Create { get; }

    /// <summary>The learning rate `s3gd train` uses unless told (null: the rule's default).</summary>
    public double? TrainingLr { get; }

    /// <summary>Whether `s3gd bench` times it unless told which rules.</summary>
    public bool Bench { get; }

    /// <summary>The elementwise rule's definition (the elementwise family only).</summary>
    public ElementwiseRuleDefinition? Elementwise { get; }
}

/// <summary>Every rule of S3gd, registered once, in the order tools list them.</summary>
public static class OptimizerCatalog
{
    /// <summary>Adam and AdamW share one definition: the name decides the weight decay's form.</summary>
    private static readonly AdamRule AdamDefinition = new();

    // Training rates: torch.optim's defaults (1e-3 for most rules) are made for long runs of large models; the training
    // example's small model in a few thousand steps wants larger steps for the adaptive rules and plain SGD, and the sign
    // rules (whose every step moves each weight by about lr) smaller ones. Adafactor's step is relative (lr times the
    // parameter RMS), so it takes a larger one.

    /// <summary>Every rule.</summary>
    public static IReadOnlyList<RuleEntry> Rules { get; } =
    [
        new(SpecRules.Sgd.info, RuleFamily.Elementwise, g => new Sgd(g), 0.3, true, new SgdRule()),
        new(SpecRules.RmsProp.info, RuleFamily.Elementwise, g => new RmsProp(g), 3e-3, true, new RmsPropRule()),
        new(SpecRules.Adam.info, RuleFamily.Elementwise, g => new Adam(g), 1e-2, true, AdamDefinition),
        new(SpecRules.AdamW.info, RuleFamily.Elementwise, g => new AdamW(g), 1e-2, true, AdamDefinition),
        new(SpecRules.SmoothedSignSgd.info, RuleFamily.Elementwise, g => new SmoothedSignSgd(g), 3e-3, true, new S3gdRule()),
        new(SpecRules.Signum.info, RuleFamily.Elementwise, g => new Signum(g), 3e-3, true, new SignumRule()),
        new(SpecRules.Lion.info, RuleFamily.Elementwise, g => new Lion(g), 3e-3, true, new LionRule()),
        new(SpecRules.LaProp.info, RuleFamily.Elementwise, g => new LaProp(g), 1e-2, true, new LaPropRule()),
        new(SpecRules.AdEMAMix.info, RuleFamily.Elementwise, g => new AdEMAMix(g), 1e-2, true, new AdEMAMixRule()),
        new(SpecRules.SimAdEMAMix.info, RuleFamily.Elementwise, g => new SimplifiedAdEMAMix(g), 1e-3, true, new SimAdEMAMixRule()),
        new(SpecRules.MAdam.info, RuleFamily.Elementwise, g => new MAdam(g), 1e-2, true, new MAdamRule()),
        new(SpecRules.Adamax.info, RuleFamily.Elementwise, g => new Adamax(g), 1e-2, false, new AdamaxRule()),
        new(SpecRules.NAdam.info, RuleFamily.Elementwise, g => new NAdam(g), 1e-2, false, new NAdamRule()),
        new(SpecRules.RAdam.info, RuleFamily.Elementwise, g => new RAdam(g), 1e-2, false, new RAdamRule()),
        new(SpecRules.Adagrad.info, RuleFamily.Elementwise, g => new Adagrad(g), 0.1, false, new AdagradRule()),
        new(SpecRules.Adadelta.info, RuleFamily.Elementwise, g => new Adadelta(g), null, false, new AdadeltaRule()),
        new(SpecRules.Asgd.info, RuleFamily.Elementwise, g => new Asgd(g), 0.3, false, new AsgdRule()),
        new(SpecRules.Rprop.info, RuleFamily.Elementwise, g => new Rprop(g), null, false, new RpropRule()),
        new(SpecRules.StableAdamW.info, RuleFamily.Structured, g => new StableAdamW(g), 1e-2),
        new(SpecRules.AdamMini.info, RuleFamily.Structured, g => new AdamMini(g), 1e-2),
        new(SpecRules.Muon.info, RuleFamily.Muon, g => new Muon(g)),
        new(SpecRules.OAdamW.info, RuleFamily.OAdamW, g => new OAdamW(g)),
        new(SpecRules.Adafactor.info, RuleFamily.Adafactor, g => new Adafactor(g), 0.1),
    ];

    /// <summary>Every rule by its command-line name.</summary>
    public static IReadOnlyDictionary<string, RuleEntry> Entries { get; } = Rules.ToDictionary(r => r.Name, StringComparer.Ordinal);

    /// <summary>A constructor with every hyperparameter at its default, by rule name.</summary>
    public static IReadOnlyDictionary<string, Func<IEnumerable<ParamGroup>, Optimizer>> ByName { get; } =
        Rules.ToDictionary(r => r.Name, r => r.Create, StringComparer.Ordinal);

    /// <summary>The names of the rules of a family, in catalog order.</summary>
    public static IReadOnlyList<string> Family(RuleFamily family) => [.. Rules.Where(r => r.Family == family).Select(r => r.Name)];

    /// <summary>The optimizer named <paramref name="name"/> over <paramref name="groups"/>; an unknown name is an error listing the known ones.</summary>
    public static Optimizer Create(string name, IEnumerable<ParamGroup> groups)
    {
        ArgumentNullException.ThrowIfNull(name);
        return ByName.TryGetValue(name, out var create)
            ? create(groups)
            : throw new ArgumentException($"optimizer '{name}' is not one of {string.Join(", ", ByName.Keys)}", nameof(name));
    }
}
