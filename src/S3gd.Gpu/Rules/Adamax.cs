using System.Runtime.CompilerServices;
using S3gd.Gpu.Elementwise;
using S3gd.Gpu.Maths;

namespace S3gd.Gpu.Rules;

/// <summary>
/// torch.optim.Adamax per element: m &lt;- beta1*m + (1 - beta1)*g; u &lt;- max(beta2*u, |g| + eps) (|g| as max(g, -g));
/// p -= clr * m/u. The maximum ignores a NaN operand where torch.maximum propagates it: with a NaN gradient exp_inf keeps
/// beta2*u (the parameter is NaN either way, through m).
/// </summary>
public readonly struct AdamaxStep : IElementwiseRule
{
    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Step<T, M>(in ElementwiseScalars<T, M> sc, ref T p, T g, ref T s0, ref T s1, ref T s2)
        where T : struct
        where M : struct, IMaths<T>
    {
        M m = default;
        // torch: exp_avg.lerp_(grad, 1 - beta1); max(exp_inf*beta2, |grad| + eps); param.addcdiv_(exp_avg, exp_inf, value=-clr).
        s0 = TorchOps.Lerp<T, M>(s0, g, sc.OneMinusBeta1, sc.One, sc.LerpFromEnd);
        s1 = m.Max(m.Mul(s1, sc.Beta2), m.Add(m.Max(g, m.Neg(g)), sc.Eps));
        p = TorchOps.Addcdiv<T, M>(p, s0, s1, sc.NegStepSize);
    }
}

/// <summary>Adamax's host side: slots exp_avg, exp_inf; coupled weight decay only (as torch); step size lr/(1 - beta1^t).</summary>
public sealed class AdamaxRule : ElementwiseRuleDefinition
{
    /// <inheritdoc />
    public override IReadOnlyList<string?> SlotNames { get; } = ["exp_avg", "exp_inf", null];

    /// <inheritdoc />
    public override ElementwiseChoice Choose(string name, HyperSet h) =>
        ElementwiseChoice.Torch(typeof(AdamaxStep), [true, true, false], h);

    /// <inheritdoc />
    public override void Scalars(string name, HyperSet h, int step, double lr, StepScalarValues v)
    {
        v.Wd = h.Real("weight_decay");
        v.Beta1 = h.Real("beta1");
        v.Beta2 = h.Real("beta2");
        v.OneMinusBeta1 = 1.0 - v.Beta1;
        v.LerpWeight = v.OneMinusBeta1;
        v.StepSize = lr / (1.0 - Math.Pow(v.Beta1, step));
        v.Eps = h.Real("eps");
    }
}
