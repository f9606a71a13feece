using System.Runtime.CompilerServices;
using S3gd.Gpu.Elementwise;
using S3gd.Gpu.Maths;

namespace S3gd.Gpu.Rules;

/// <summary>
/// torch.optim.RAdam per element in torch's float32 operations: both moments as Adam's; m̂ = m / bc1; on a rectified
/// step p -= ((m̂ * lr) * (sqrt(bc2) / (sqrt(v) + eps))) * r_t, on the others p -= m̂ * lr (<see cref="ElementwiseScalars{T, M}.Branch"/>).
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
        s0 = TorchOps.Lerp<T, M>(s0, g, sc.OneMinusBeta1, sc.One, sc.LerpFromEnd);
        s1 = TorchOps.Addcmul<T, M>(m.Mul(s1, sc.Beta2), g, g, sc.OneMinusBeta2);
        var step = m.Mul(m.Div(s0, sc.Bc1), m.Neg(sc.NegLr));
        if (sc.Branch) step = m.Mul(m.Mul(step, m.Div(sc.SqrtBc2, m.Add(m.Root(s1), sc.Eps))), sc.Alpha);
        p = m.Add(p, m.Neg(step));
    }
}

/// <summary>
/// RAdam's host side: slots exp_avg, exp_avg_sq; weight decay coupled, or decoupled with decoupled_weight_decay. Whether
/// a step is rectified (rho_t &gt; 5) and its rectification r_t (in <see cref="StepScalarValues.Alpha"/>) depend on the
/// step alone, computed in float64 in torch's order.
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
        v.Bc1 = 1.0 - Math.Pow(v.Beta1, step);
        v.Bc2 = 1.0 - Math.Pow(v.Beta2, step);
        v.SqrtBc2 = Math.Pow(v.Bc2, 0.5);
        v.LerpWeight = v.OneMinusBeta1;
        // torch's rho_inf, rho_t and rectification, operation for operation; rectified where rho_t > 5.
        var rhoInf = 2.0 / (1.0 - v.Beta2) - 1.0;
        var rhoT = rhoInf - 2.0 * step * Math.Pow(v.Beta2, step) / v.Bc2;
        v.Branch = rhoT > 5.0;
        v.Alpha = v.Branch ? Math.Pow((rhoT - 4.0) * (rhoT - 2.0) * rhoInf / ((rhoInf - 4.0) * (rhoInf - 2.0) * rhoT), 0.5) : 0.0;
    }
}
