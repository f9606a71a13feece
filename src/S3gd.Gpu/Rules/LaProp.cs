using System.Runtime.CompilerServices;
using S3gd.Gpu.Elementwise;
using S3gd.Gpu.Maths;

namespace S3gd.Gpu.Rules;

/// <summary>LaProp per element: v first, then the momentum of g / (sqrt(v)/sqrt(bc2) + eps); p -= (lr/bc1)*m.</summary>
public readonly struct LaPropStep : IElementwiseRule
{
    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Step<T, M>(in ElementwiseScalars<T, M> sc, ref T p, T g, ref T s0, ref T s1, ref T s2)
        where T : struct
        where M : struct, IMaths<T>
    {
        M m = default;
        s1 = m.Madd(sc.Beta2, s1, m.Mul(sc.OneMinusBeta2, m.Mul(g, g)));
        var denom = m.Madd(m.Root(s1), sc.InvSqrtBc2, sc.Eps);
        s0 = m.Madd(sc.Beta1, s0, m.Mul(sc.OneMinusBeta1, m.Div(g, denom)));
        p = m.Madd(sc.NegStepSize, s0, p);
    }
}

/// <summary>LaProp's host side: slots exp_avg, exp_avg_sq; step_size = lr / bc1; decoupled decay.</summary>
public sealed class LaPropRule : ElementwiseRuleDefinition
{
    /// <inheritdoc />
    public override IReadOnlyList<string?> SlotNames { get; } = ["exp_avg", "exp_avg_sq", null];

    /// <inheritdoc />
    public override ElementwiseChoice Choose(string name, HyperSet h) =>
        new(typeof(LaPropStep), [true, true, false], WeightDecayDecoupled: h.Real("weight_decay") != 0.0);

    /// <inheritdoc />
    public override void Scalars(string name, HyperSet h, int step, double lr, StepScalarValues v)
    {
        v.Beta1 = h.Real("beta1");
        v.Beta2 = h.Real("beta2");
        v.OneMinusBeta1 = 1.0 - v.Beta1;
        v.OneMinusBeta2 = 1.0 - v.Beta2;
        var correct = h.Flag("correct_bias");
        v.StepSize = lr / (correct ? 1.0 - Math.Pow(v.Beta1, step) : 1.0);
        v.InvSqrtBc2 = 1.0 / Math.Sqrt(correct ? 1.0 - Math.Pow(v.Beta2, step) : 1.0);
        v.Eps = h.Real("eps");
        v.Decay = 1.0 - h.Real("weight_decay") * lr;
    }
}
