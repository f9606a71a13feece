using System.Runtime.CompilerServices;
using S3gd.Gpu.Elementwise;
using S3gd.Gpu.Maths;

namespace S3gd.Gpu.Rules;

/// <summary>
/// MAdam per element: Adam without eps on c*g (the second moment stored scaled by c^2, c = 2^(scale_log2/2)); no step
/// where the momentum is zero: p -= lr * c * (m/bc1) / (sqrt(v)/sqrt(bc2)).
/// </summary>
public readonly struct MAdamStep : IElementwiseRule
{
    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Step<T, M>(in ElementwiseScalars<T, M> sc, ref T p, T g, ref T s0, ref T s1, ref T s2)
        where T : struct
        where M : struct, IMaths<T>
    {
        M m = default;
        s0 = m.Madd(sc.Beta1, s0, m.Mul(sc.OneMinusBeta1, g));
        var cg = m.Mul(g, sc.Alpha);
        s1 = m.Madd(sc.Beta2, s1, m.Mul(sc.OneMinusBeta2, m.Mul(cg, cg)));
        var u = m.Mul(m.Div(m.Mul(s0, sc.InvBc1), m.Mul(m.Root(s1), sc.InvSqrtBc2)), sc.Alpha);
        p = m.Madd(sc.NegLr, m.ZeroWhereZero(s0, u), p);
    }
}

/// <summary>MAdam's host side: slots exp_avg, exp_avg_sq_scaled; alpha = c (exact: scale_log2 is even); decoupled decay.</summary>
public sealed class MAdamRule : ElementwiseRuleDefinition
{
    /// <inheritdoc />
    public override IReadOnlyList<string?> SlotNames { get; } = ["exp_avg", "exp_avg_sq_scaled", null];

    /// <inheritdoc />
    public override ElementwiseChoice Choose(string name, HyperSet h) =>
        new(typeof(MAdamStep), [true, true, false], WeightDecayDecoupled: h.Real("weight_decay") != 0.0);

    /// <inheritdoc />
    public override void Scalars(string name, HyperSet h, int step, double lr, StepScalarValues v)
    {
        v.Beta1 = h.Real("beta1");
        v.Beta2 = h.Real("beta2");
        v.OneMinusBeta1 = 1.0 - v.Beta1;
        v.OneMinusBeta2 = 1.0 - v.Beta2;
        v.Alpha = Math.Pow(2.0, h.Whole("scale_log2") / 2);
        var correct = h.Flag("correct_bias");
        v.InvBc1 = 1.0 / (correct ? 1.0 - Math.Pow(v.Beta1, step) : 1.0);
        v.InvSqrtBc2 = 1.0 / Math.Sqrt(correct ? 1.0 - Math.Pow(v.Beta2, step) : 1.0);
        v.Decay = 1.0 - h.Real("weight_decay") * lr;
    }
}
