using S3gd.Gpu.Maths;
using S3gd.Spec.Rules;

namespace S3gd.Gpu.Elementwise;

/// <summary>
/// The host side of one elementwise rule, beside its per-element maths (<see cref="IElementwiseRule"/>) in its file
/// under <c>Rules/</c>: the names of its state slots, the specialised maths type and the slots it keeps for given
/// hyperparameters, and its per-step scalars. <see cref="ElementwiseRules"/> registers each rule once by its names.
/// </summary>
public abstract class ElementwiseRuleDefinition
{
    /// <summary>The spec's buffer name of each of the three state slots (null: the rule has no such slot).</summary>
    public abstract IReadOnlyList<string?> SlotNames { get; }

    /// <summary>Whether the rule keeps slot <paramref name="slot"/> within [-1, 1], so unscaled fp8 may store it (S3GD's momentum).</summary>
    public virtual bool Bounded(int slot) => false;

    /// <summary>
    /// The maths type (a struct implementing <see cref="IElementwiseRule"/>, its options as <see cref="IFlag"/> type
    /// arguments), the slots kept and the gradient's preparation, for resolved hyperparameters of the rule registered as
    /// <paramref name="name"/>; unsupported values are an <see cref="ArgumentException"/> naming them.
    /// </summary>
    public abstract ElementwiseChoice Choose(string name, HyperSet hypers);

    /// <summary>Fills the per-step scalars of step <paramref name="step"/> (1-based) at learning rate <paramref name="lr"/>, in float64.</summary>
    public abstract void Scalars(string name, HyperSet hypers, int step, double lr, StepScalarValues values);

    /// <summary>The closed generic type of a rule's maths struct with its flag arguments.</summary>
    protected static Type Specialise(Type definition, params bool[] flags) =>
        definition.MakeGenericType([.. flags.Select(Flags.Of)]);
}

/// <summary>What a rule computes for given hyperparameters.</summary>
/// <param name="Rule">The specialised maths type (implements <see cref="IElementwiseRule"/>).</param>
/// <param name="Slots">Whether each of the three state slots is kept.</param>
/// <param name="Maximize">The gradient is negated.</param>
/// <param name="WeightDecayCoupled">g &lt;- g + wd*p.</param>
/// <param name="WeightDecayDecoupled">p &lt;- p*(1 - lr*wd).</param>
public sealed record ElementwiseChoice(Type Rule, bool[] Slots, bool Maximize = false, bool WeightDecayCoupled = false, bool WeightDecayDecoupled = false)
{
    /// <summary>
    /// A torch.optim rule's choice: <c>maximize</c> from <paramref name="h"/>, and a nonzero <c>weight_decay</c> coupled
    /// (g &lt;- g + wd*p) or, where <paramref name="decoupled"/>, decoupled (p &lt;- p*(1 - lr*wd)).
    /// </summary>
    public static ElementwiseChoice Torch(Type rule, bool[] slots, HyperSet h, bool decoupled = false)
    {
        ArgumentNullException.ThrowIfNull(h);
        var decay = h.Real("weight_decay") != 0.0;
        return new(rule, slots, h.Flag("maximize"), decay && !decoupled, decay && decoupled);
    }
}

/// <summary>
/// One step's scalars in float64, as a rule fills them (<see cref="ElementwiseRuleDefinition.Scalars"/>); rounded once to
/// <see cref="StepScalars"/>. Unset values are 0, except the decay factor (1).
/// </summary>
public sealed class StepScalarValues
{
    /// <summary>Learning rate.</summary>
    public double Lr;
    /// <summary>Decoupled decay factor 1 - lr*wd (ASGD: its decay term 1 - lambd*eta).</summary>
    public double Decay = 1.0;
    /// <summary>Coupled weight decay.</summary>
    public double Wd;
    /// <summary>First decay.</summary>
    public double Beta1;
    /// <summary>1 - beta1.</summary>
    public double OneMinusBeta1;
    /// <summary>Second decay.</summary>
    public double Beta2;
    /// <summary>1 - beta2.</summary>
    public double OneMinusBeta2;
    /// <summary>Step size.</summary>
    public double StepSize;
    /// <summary>1 / sqrt(second bias correction).</summary>
    public double InvSqrtBc2;
    /// <summary>Nesterov coefficient of the momentum (Signum; NAdam's addcdiv value of the momentum).</summary>
    public double NesterovM;
    /// <summary>Nesterov coefficient of the gradient (Signum; NAdam's addcdiv value of the gradient).</summary>
    public double NesterovG;
    /// <summary>Third decay.</summary>
    public double Beta3;
    /// <summary>1 - beta3.</summary>
    public double OneMinusBeta3;
    /// <summary>A rule's weight (see <see cref="StepScalars.Alpha"/>).</summary>
    public double Alpha;
    /// <summary>1 / first bias correction.</summary>
    public double InvBc1;
    /// <summary>Added to the denominator.</summary>
    public double Eps;
    /// <summary>The first bias correction 1 - beta1^t, a divisor (RAdam).</summary>
    public double Bc1 = 1.0;
    /// <summary>The second bias correction 1 - beta2^t, a divisor (NAdam).</summary>
    public double Bc2 = 1.0;
    /// <summary>(1 - beta2^t)^0.5 as Python computes it (Adam's divisor, RAdam's numerator).</summary>
    public double SqrtBc2 = 1.0;
    /// <summary>The weight of the rule's torch lerp (it picks lerp's form: <see cref="ElementwiseScalars{T, M}.LerpFromEnd"/>).</summary>
    public double LerpWeight;
    /// <summary>A rule's branch of the step (RAdam: the rectified step).</summary>
    public bool Branch;
}
