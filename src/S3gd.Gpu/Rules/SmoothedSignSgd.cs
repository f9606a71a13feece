using System.Runtime.CompilerServices;
using S3gd.Gpu.Elementwise;
using S3gd.Gpu.Maths;

namespace S3gd.Gpu.Rules;

/// <summary>S3GD (smoothed SignSGD) per element: m &lt;- beta*m + (1 - beta)*sign(g); p -= lr*m.</summary>
public readonly struct S3gdStep : IElementwiseRule
{
    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Step<T, M>(in ElementwiseScalars<T, M> sc, ref T p, T g, ref T s0, ref T s1, ref T s2)
        where T : struct
        where M : struct, IMaths<T>
    {
        M m = default;
        s0 = m.Madd(sc.Beta1, s0, m.Mul(sc.OneMinusBeta1, m.Sign(g)));
        p = m.Madd(sc.NegLr, s0, p);
    }
}

/// <summary>S3GD's host side: slot exp_avg (bounded in [-1, 1]: unscaled fp8 allowed), decoupled decay.</summary>
public sealed class S3gdRule : ElementwiseRuleDefinition
{
    /// <inheritdoc />
    public override IReadOnlyList<string?> SlotNames { get; } = ["exp_avg", null, null];

    /// <inheritdoc />
    public override bool Bounded(int slot) => slot == 0;

    /// <inheritdoc />
    public override ElementwiseChoice Choose(string name, HyperSet h) =>
        new(typeof(S3gdStep), [true, false, false], WeightDecayDecoupled: h.Real("weight_decay") != 0.0);

    /// <inheritdoc />
    public override void Scalars(string name, HyperSet h, int step, double lr, StepScalarValues v)
    {
        v.Beta1 = h.Real("beta");
        v.OneMinusBeta1 = 1.0 - v.Beta1;
        v.Decay = 1.0 - lr * SignDecay.Effective(h);
    }
}

/// <summary>S3GD's and Lion's weight decay: wd, or wd / initial_lr with decoupled_weight_decay (initial_lr 0 meaning the lr).</summary>
internal static class SignDecay
{
    /// <summary>The decay's weight of lr.</summary>
    public static double Effective(HyperSet h)
    {
        var wd = h.Real("weight_decay");
        if (!h.Flag("decoupled_weight_decay")) return wd;
        var initial = h.Real("initial_lr");
        return wd / (initial == 0.0 ? h.Real("lr") : initial);
    }
}
