using System.Runtime.CompilerServices;
using S3gd.Gpu.Elementwise;
using S3gd.Gpu.Maths;
using S3gd.Spec.Rules;

namespace S3gd.Gpu.Rules;

/// <summary>Simplified AdEMAMix per element: m &lt;- beta1*m + g (a sum); p -= lr*(alpha*g + m/bc1) / (sqrt(v)/sqrt(bc2) + eps).</summary>
public readonly struct SimAdEMAMixStep : IElementwiseRule
{
    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Step<T, M>(in ElementwiseScalars<T, M> sc, ref T p, T g, ref T s0, ref T s1, ref T s2)
        where T : struct
        where M : struct, IMaths<T>
    {
        M m = default;
        s0 = m.Madd(sc.Beta1, s0, g);
        s1 = m.Madd(sc.Beta2, s1, m.Mul(sc.OneMinusBeta2, m.Mul(g, g)));
        var denom = m.Madd(m.Root(s1), sc.InvSqrtBc2, sc.Eps);
        p = m.Madd(sc.NegLr, m.Div(m.Madd(sc.Alpha, g, m.Mul(s0, sc.InvBc1)), denom), p);
    }
}

/// <summary>Simplified AdEMAMix's host side: slots exp_avg, exp_avg_sq; beta1 scheduled; bc1 = (1 - b^t)/(1 - b); decoupled decay.</summary>
public sealed class SimAdEMAMixRule : ElementwiseRuleDefinition
{
    /// <inheritdoc />
    public override IReadOnlyList<string?> SlotNames { get; } = ["exp_avg", "exp_avg_sq", null];

    /// <inheritdoc />
    public override ElementwiseChoice Choose(string name, HyperSet h) =>
        new(typeof(SimAdEMAMixStep), [true, true, false], WeightDecayDecoupled: h.Real("weight_decay") != 0.0);

    /// <inheritdoc />
    public override void Scalars(string name, HyperSet h, int step, double lr, StepScalarValues v)
    {
        v.Beta1 = Schedules.linearHalfLife(step, h.Real("beta_fast"), h.Real("min_beta_fast"), h.Whole("num_beta_fast_warmup_steps"));
        v.Beta2 = h.Real("beta2");
        v.OneMinusBeta2 = 1.0 - v.Beta2;
        v.Alpha = h.Real("alpha");
        var correct = h.Flag("correct_bias");
        // bc1 = (1 - b^t) / (1 - b): the sum's weight after t steps.
        v.InvBc1 = correct ? (1.0 - v.Beta1) / (1.0 - Math.Pow(v.Beta1, step)) : 1.0;
        v.InvSqrtBc2 = 1.0 / Math.Sqrt(correct ? 1.0 - Math.Pow(v.Beta2, step) : 1.0);
        v.Eps = h.Real("eps");
        v.Decay = 1.0 - h.Real("weight_decay") * lr;
    }
}
