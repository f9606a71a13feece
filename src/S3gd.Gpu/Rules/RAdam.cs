using System.Runtime.CompilerServices;
using S3gd.Gpu.Elementwise;
using S3gd.Gpu.Maths;

namespace S3gd.Gpu.Rules;

/// <summary>
/// torch.optim.RAdam per element, both of torch's branches in one formula: both moments as Adam's; then
/// p -= (a + b/(sqrt(v) + eps)) * m, with a = lr/bc1 on the unrectified steps and b = lr*sqrt(bc2)*r_t/bc1 on the
/// rectified ones, the other zero (b/(sqrt(v) + eps) is taken as 0 where b is, so no 0/0 arises with eps = 0).
/// </summary>
public readonly struct RAdamStep : IElementwiseRule
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
        var adaptive = m.ZeroWhereZero(sc.Alpha, m.Div(sc.Alpha, m.Add(m.Root(s1), sc.Eps)));
        p = m.Madd(m.Add(sc.NegStepSize, m.Neg(adaptive)), s0, p);
    }
}

/// <summary>
/// RAdam's host side: slots exp_avg, exp_avg_sq; weight decay coupled, or decoupled with decoupled_weight_decay. Whether
/// a step is rectified depends on the step alone (the spec's <c>RAdam.rectification</c>): its unrectified step size
/// lr/bc1 goes in the step size, its rectified one lr*sqrt(bc2)*r_t/bc1 in <see cref="StepScalarValues.Alpha"/>.
/// </summary>
public sealed class RAdamRule : ElementwiseRuleDefinition
{
    /// <inheritdoc />
    public override IReadOnlyList<string?> SlotNames { get; } = ["exp_avg", "exp_avg_sq", null];

    /// <inheritdoc />
    public override ElementwiseChoice Choose(string name, HyperSet h) =>
        ElementwiseChoice.Torch(typeof(RAdamStep), [true, true, false], h, decoupled: h.Flag("decoupled_weight_decay"));

    /// <inheritdoc />
    public override void Scalars(string name, HyperSet h, int step, double lr, StepScalarValues v)
    {
        var wd = h.Real("weight_decay");
        v.Wd = wd;
        v.Decay = 1.0 - lr * wd;
        v.Beta1 = h.Real("beta1");
        v.Beta2 = h.Real("beta2");
        v.OneMinusBeta1 = 1.0 - v.Beta1;
        v.OneMinusBeta2 = 1.0 - v.Beta2;
        v.Eps = h.Real("eps");
        var stepSize = lr / (1.0 - Math.Pow(v.Beta1, step));
        var rect = Spec.Rules.RAdam.rectification(v.Beta2, step);
        if (rect is null)
            v.StepSize = stepSize;
        else
            v.Alpha = stepSize * Math.Sqrt(1.0 - Math.Pow(v.Beta2, step)) * rect.Value;
    }
}
