using System.Runtime.CompilerServices;
using S3gd.Gpu.Elementwise;
using S3gd.Gpu.Maths;

namespace S3gd.Gpu.Rules;

/// <summary>Lion per element: p -= lr*sign(beta1*m + (1 - beta1)*g); then m &lt;- beta2*m + (1 - beta2)*g.</summary>
public readonly struct LionStep : IElementwiseRule
{
    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Step<T, M>(in ElementwiseScalars<T, M> sc, ref T p, T g, ref T s0, ref T s1, ref T s2)
        where T : struct
        where M : struct, IMaths<T>
    {
        M m = default;
        var u = m.Sign(m.Madd(sc.Beta1, s0, m.Mul(sc.OneMinusBeta1, g)));
        p = m.Madd(sc.NegLr, u, p);
        s0 = m.Madd(sc.Beta2, s0, m.Mul(sc.OneMinusBeta2, g));
    }
}

/// <summary>Lion's host side: slot exp_avg, decoupled decay (S3GD's form).</summary>
public sealed class LionRule : ElementwiseRuleDefinition
{
    /// <inheritdoc />
    public override IReadOnlyList<string?> SlotNames { get; } = ["exp_avg", null, null];

    /// <inheritdoc />
    public override ElementwiseChoice Choose(string name, HyperSet h) =>
        new(typeof(LionStep), [true, false, false], WeightDecayDecoupled: h.Real("weight_decay") != 0.0);

    /// <inheritdoc />
    public override void Scalars(string name, HyperSet h, int step, double lr, StepScalarValues v)
    {
        v.Beta1 = h.Real("beta1");
        v.Beta2 = h.Real("beta2");
        v.OneMinusBeta1 = 1.0 - v.Beta1;
        v.OneMinusBeta2 = 1.0 - v.Beta2;
        v.Decay = 1.0 - lr * SignDecay.Effective(h);
    }
}
