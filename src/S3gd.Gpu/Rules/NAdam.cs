using System.Runtime.CompilerServices;
using S3gd.Gpu.Elementwise;
using S3gd.Gpu.Maths;

namespace S3gd.Gpu.Rules;

/// <summary>
/// torch.optim.NAdam per element: both moments as Adam's; denom = sqrt(v)/sqrt(bc2) + eps (Adam's form of torch's
/// sqrt(v/bc2) + eps, equal in exact arithmetic); p += c_g * g/denom, then p += c_m * m/denom, torch's two addcdivs.
/// </summary>
public readonly struct NAdamStep : IElementwiseRule
{
    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Step<T, M>(in ElementwiseScalars<T, M> sc, ref T p, T g, ref T s0, ref T s1, ref T s2)
        where T : struct
        where M : struct, IMaths<T>
    {
        M m = default;
        // torch: the moments as Adam's; denom = exp_avg_sq.div(bias_correction2).sqrt() + eps; two addcdiv_.
        s0 = TorchOps.Lerp<T, M>(s0, g, sc.OneMinusBeta1, sc.One, sc.LerpFromEnd);
        s1 = TorchOps.Addcmul<T, M>(m.Mul(s1, sc.Beta2), g, g, sc.OneMinusBeta2);
        var denom = m.Add(m.Root(m.Div(s1, sc.Bc2)), sc.Eps);
        p = TorchOps.Addcdiv<T, M>(p, g, denom, sc.NesterovG);
        p = TorchOps.Addcdiv<T, M>(p, s0, denom, sc.NesterovM);
    }
}

/// <summary>
/// NAdam's host side: slots exp_avg, exp_avg_sq; weight decay coupled, or decoupled with decoupled_weight_decay. torch's
/// mu_product is a function of the step, so it is no buffer: the two addcdiv values, which it enters, are computed here
/// by the spec's <c>NAdam.coefficients</c> and carried in the Nesterov coefficients.
/// </summary>
public sealed class NAdamRule : ElementwiseRuleDefinition
{
    /// <inheritdoc />
    public override IReadOnlyList<string?> SlotNames { get; } = ["exp_avg", "exp_avg_sq", null];

    /// <inheritdoc />
    public override ElementwiseChoice Choose(string name, HyperSet h) =>
        ElementwiseChoice.Torch(typeof(NAdamStep), [true, true, false], h, decoupled: h.Flag("decoupled_weight_decay"));

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
        v.Bc2 = 1.0 - Math.Pow(v.Beta2, step);
        v.LerpWeight = v.OneMinusBeta1;
        v.Eps = h.Real("eps");
        // The Nesterov coefficients of the gradient and of the momentum: torch's addcdiv values (negative).
        (v.NesterovG, v.NesterovM) = Spec.Rules.NAdam.coefficients(lr, v.Beta1, h.Real("momentum_decay"), step);
    }
}
