using System.Runtime.CompilerServices;
using S3gd.Gpu.Elementwise;
using S3gd.Gpu.Maths;

namespace S3gd.Gpu.Rules;

/// <summary>
/// torch.optim.Adagrad per element: sum &lt;- sum + g*g; p -= clr * g/(sqrt(sum) + eps). State starts at zero here, so
/// the first step adds g*g to initial_accumulator_value (in <see cref="ElementwiseScalars{T, M}.Alpha"/>) instead of the
/// slot: the same sum torch's state, filled with that value, gives.
/// </summary>
public readonly struct AdagradStep : IElementwiseRule
{
    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Step<T, M>(in ElementwiseScalars<T, M> sc, ref T p, T g, ref T s0, ref T s1, ref T s2)
        where T : struct
        where M : struct, IMaths<T>
    {
        M m = default;
        // torch: state_sum.addcmul_(grad, grad, value=1); std = state_sum.sqrt().add_(eps); param.addcdiv_(grad, std, value=-clr).
        s0 = m.Madd(g, g, sc.FirstStep ? sc.Alpha : s0);
        p = TorchOps.Addcdiv<T, M>(p, g, m.Add(m.Root(s0), sc.Eps), sc.NegStepSize);
    }
}

/// <summary>
/// Adagrad's host side: slot sum; coupled weight decay; step size clr = lr/(1 + (t-1)*lr_decay); alpha =
/// initial_accumulator_value (read on the first step only).
/// </summary>
public sealed class AdagradRule : ElementwiseRuleDefinition
{
    /// <inheritdoc />
    public override IReadOnlyList<string?> SlotNames { get; } = ["sum", null, null];

    /// <inheritdoc />
    public override ElementwiseChoice Choose(string name, HyperSet h) =>
        ElementwiseChoice.Torch(typeof(AdagradStep), [true, false, false], h);

    /// <inheritdoc />
    public override void Scalars(string name, HyperSet h, int step, double lr, StepScalarValues v)
    {
        v.Wd = h.Real("weight_decay");
        v.StepSize = Spec.Rules.Adagrad.clr(lr, h.Real("lr_decay"), step);
        v.Eps = h.Real("eps");
        v.Alpha = h.Real("initial_accumulator_value");
    }
}
