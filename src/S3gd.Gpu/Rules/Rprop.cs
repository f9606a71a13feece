using System.Runtime.CompilerServices;
using S3gd.Gpu.Elementwise;
using S3gd.Gpu.Maths;

namespace S3gd.Gpu.Rules;

/// <summary>
/// torch.optim.Rprop per element: s = sign(g*prev); step_size &lt;- clamp(step_size * (etaplus, etaminus or 1 where s
/// is positive, negative or zero), step_size_min, step_size_max); g &lt;- 0 where s &lt; 0; p -= sign(g)*step_size;
/// prev &lt;- g. Each choice is one of torch's masks, a comparison that is false for NaN: a NaN sign leaves the factor
/// (so the step size) NaN and g kept, as in torch. State starts at zero here, so the first step scales lr (-<see
/// cref="ElementwiseScalars{T, M}.NegLr"/>) instead of the slot: the step size torch's state, filled with lr, holds.
/// </summary>
public readonly struct RpropStep : IElementwiseRule
{
    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Step<T, M>(in ElementwiseScalars<T, M> sc, ref T p, T g, ref T s0, ref T s1, ref T s2)
        where T : struct
        where M : struct, IMaths<T>
    {
        M m = default;
        var zero = m.Broadcast(0.0f);
        var sign = m.Sign(m.Mul(g, s0));
        // torch sets the sign to etaplus where it is positive, etaminus where negative and 1 where zero; 1 + sign is that
        // 1 where the sign is zero, and NaN where it is NaN.
        var zeroSign = m.Add(m.Broadcast(1.0f), sign);
        var factor = m.WhereLess(sign, zero, sc.Beta1, m.WhereLess(zero, sign, sc.Beta2, zeroSign));
        var scaled = m.Mul(sc.FirstStep ? m.Neg(sc.NegLr) : s1, factor);
        // torch's clamp_(step_size_min, step_size_max): the larger with the minimum, then the smaller with the maximum.
        var atLeastMin = m.WhereLess(scaled, sc.Alpha, sc.Alpha, scaled);
        s1 = m.WhereLess(sc.Beta3, atLeastMin, sc.Beta3, atLeastMin);
        g = m.WhereLess(sign, zero, zero, g);
        p = m.Madd(m.Neg(m.Sign(g)), s1, p);
        s0 = g;
    }
}

/// <summary>
/// Rprop's host side: slots prev and step_size; maximize, no weight decay; beta1 = etaminus, beta2 = etaplus, alpha =
/// step_size_min, beta3 = step_size_max, and the learning rate (the step size every element starts at) read on the first
/// step only.
/// </summary>
public sealed class RpropRule : ElementwiseRuleDefinition
{
    /// <inheritdoc />
    public override IReadOnlyList<string?> SlotNames { get; } = ["prev", "step_size", null];

    /// <inheritdoc />
    public override ElementwiseChoice Choose(string name, HyperSet h) =>
        new(typeof(RpropStep), [true, true, false], Maximize: h.Flag("maximize"));

    /// <inheritdoc />
    public override void Scalars(string name, HyperSet h, int step, double lr, StepScalarValues v)
    {
        v.Beta1 = h.Real("etaminus");
        v.Beta2 = h.Real("etaplus");
        v.Alpha = h.Real("step_size_min");
        v.Beta3 = h.Real("step_size_max");
    }
}
