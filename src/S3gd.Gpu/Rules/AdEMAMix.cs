using System.Runtime.CompilerServices;
using S3gd.Gpu.Elementwise;
using S3gd.Gpu.Maths;
using S3gd.Spec.Rules;

namespace S3gd.Gpu.Rules;

/// <summary>AdEMAMix per element: a fast and a slow EMA of g over the RMS; p -= lr*(fast/bc1 + alpha*slow) / (sqrt(v)/sqrt(bc2) + eps).</summary>
/// <typeparam name="TFastIsGrad">beta_fast = 0: the fast moment is the gradient itself (slot 0 untouched).</typeparam>
public readonly struct AdEMAMixStep<TFastIsGrad> : IElementwiseRule
    where TFastIsGrad : struct, IFlag
{
    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Step<T, M>(in ElementwiseScalars<T, M> sc, ref T p, T g, ref T s0, ref T s1, ref T s2)
        where T : struct
        where M : struct, IMaths<T>
    {
        M m = default;
        var fast = g;
        if (!default(TFastIsGrad).IsOn)
        {
            s0 = m.Madd(sc.Beta1, s0, m.Mul(sc.OneMinusBeta1, g));
            fast = s0;
        }
        s1 = m.Madd(sc.Beta3, s1, m.Mul(sc.OneMinusBeta3, g));
        s2 = m.Madd(sc.Beta2, s2, m.Mul(sc.OneMinusBeta2, m.Mul(g, g)));
        var denom = m.Madd(m.Root(s2), sc.InvSqrtBc2, sc.Eps);
        p = m.Madd(sc.NegLr, m.Div(m.Madd(sc.Alpha, s1, m.Mul(fast, sc.InvBc1)), denom), p);
    }
}

/// <summary>AdEMAMix's host side: slots exp_avg_fast, exp_avg_slow, exp_avg_sq; beta3 and alpha scheduled; decoupled decay.</summary>
public sealed class AdEMAMixRule : ElementwiseRuleDefinition
{
    /// <inheritdoc />
    public override IReadOnlyList<string?> SlotNames { get; } = ["exp_avg_fast", "exp_avg_slow", "exp_avg_sq"];

    /// <inheritdoc />
    public override ElementwiseChoice Choose(string name, HyperSet h) =>
        new(Specialise(typeof(AdEMAMixStep<>), h.Real("beta_fast") == 0.0), [true, true, true], WeightDecayDecoupled: h.Real("weight_decay") != 0.0);

    /// <inheritdoc />
    public override void Scalars(string name, HyperSet h, int step, double lr, StepScalarValues v)
    {
        v.Beta1 = h.Real("beta_fast");
        v.Beta2 = h.Real("beta2");
        v.OneMinusBeta1 = 1.0 - v.Beta1;
        v.OneMinusBeta2 = 1.0 - v.Beta2;
        v.Beta3 = Schedules.linearHalfLife(step, h.Real("beta_slow"), v.Beta1, h.Whole("num_beta_slow_warmup_steps"));
        v.OneMinusBeta3 = 1.0 - v.Beta3;
        v.Alpha = Schedules.linear(step, h.Real("alpha"), 0.0, h.Whole("num_alpha_warmup_steps"));
        var correct = h.Flag("correct_bias");
        v.InvBc1 = 1.0 / (correct ? 1.0 - Math.Pow(v.Beta1, step) : 1.0);
        v.InvSqrtBc2 = 1.0 / Math.Sqrt(correct ? 1.0 - Math.Pow(v.Beta2, step) : 1.0);
        v.Eps = h.Real("eps");
        v.Decay = 1.0 - h.Real("weight_decay") * lr;
    }
}
