using System.Runtime.CompilerServices;
using S3gd.Gpu.Elementwise;
using S3gd.Gpu.Maths;

namespace S3gd.Gpu.Rules;

/// <summary>torch.optim.Adam/AdamW per element: both moments, AMSGrad's running maximum, p -= step_size * m / (sqrt(v)/sqrt(bc2) + eps).</summary>
/// <typeparam name="TAmsgrad">amsgrad (slot 2 is max_exp_avg_sq).</typeparam>
public readonly struct AdamStep<TAmsgrad> : IElementwiseRule
    where TAmsgrad : struct, IFlag
{
    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Step<T, M>(in ElementwiseScalars<T, M> sc, ref T p, T g, ref T s0, ref T s1, ref T s2)
        where T : struct
        where M : struct, IMaths<T>
    {
        M m = default;
        s0 = m.Madd(sc.Beta1, s0, m.Mul(sc.OneMinusBeta1, g));
        s1 = m.Madd(sc.Beta2, s1, m.Mul(sc.OneMinusBeta2, m.Mul(g, g)));
        var v = s1;
        if (default(TAmsgrad).IsOn)
        {
            s2 = m.Max(s2, s1);
            v = s2;
        }
        var denom = m.Madd(m.Root(v), sc.InvSqrtBc2, sc.Eps);
        p = m.Madd(sc.NegStepSize, m.Div(s0, denom), p);
    }
}

/// <summary>
/// Adam's and AdamW's host side: slots exp_avg, exp_avg_sq, max_exp_avg_sq; adamw (or adam with decoupled_weight_decay)
/// decays p by 1 - lr*wd, adam adds wd*p to g.
/// </summary>
public sealed class AdamRule : ElementwiseRuleDefinition
{
    /// <inheritdoc />
    public override IReadOnlyList<string?> SlotNames { get; } = ["exp_avg", "exp_avg_sq", "max_exp_avg_sq"];

    /// <inheritdoc />
    public override ElementwiseChoice Choose(string name, HyperSet h)
    {
        var amsgrad = h.Flag("amsgrad");
        return ElementwiseChoice.Torch(Specialise(typeof(AdamStep<>), amsgrad), [true, true, amsgrad], h,
            decoupled: name == "adamw" || h.Flag("decoupled_weight_decay"));
    }

    /// <inheritdoc />
    public override void Scalars(string name, HyperSet h, int step, double lr, StepScalarValues v)
    {
        var wd = h.Real("weight_decay");
        v.Wd = wd;
        v.Beta1 = h.Real("beta1");
        v.Beta2 = h.Real("beta2");
        v.OneMinusBeta1 = 1.0 - v.Beta1;
        v.OneMinusBeta2 = 1.0 - v.Beta2;
        v.StepSize = lr / (1.0 - Math.Pow(v.Beta1, step));
        v.InvSqrtBc2 = 1.0 / Math.Sqrt(1.0 - Math.Pow(v.Beta2, step));
        v.Eps = h.Real("eps");
        v.Decay = 1.0 - lr * wd;
    }
}
