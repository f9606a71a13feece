using System.Runtime.CompilerServices;
using S3gd.Gpu.Elementwise;
using S3gd.Gpu.Maths;

namespace S3gd.Gpu.Rules;

/// <summary>
/// torch.optim.Adam/AdamW per element: both moments, AMSGrad's running maximum, p -= step_size * m / (sqrt(v)/sqrt(bc2) + eps),
/// in torch's float32 operations (<see cref="TorchOps"/>).
/// </summary>
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
        // torch: exp_avg.lerp_(grad, 1 - beta1); exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1 - beta2).
        s0 = TorchOps.Lerp<T, M>(s0, g, sc.OneMinusBeta1, sc.One, sc.LerpFromEnd);
        s1 = TorchOps.Addcmul<T, M>(m.Mul(s1, sc.Beta2), g, g, sc.OneMinusBeta2);
        var v = s1;
        if (default(TAmsgrad).IsOn)
        {
            s2 = m.Max(s2, s1);
            v = s2;
        }
        // denom = (exp_avg_sq.sqrt() / bias_correction2_sqrt).add_(eps); param.addcdiv_(exp_avg, denom, value=-step_size).
        var denom = m.Add(m.Div(m.Root(v), sc.SqrtBc2), sc.Eps);
        p = TorchOps.Addcdiv<T, M>(p, s0, denom, sc.NegStepSize);
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
        v.SqrtBc2 = Math.Pow(1.0 - Math.Pow(v.Beta2, step), 0.5);
        v.LerpWeight = v.OneMinusBeta1;
        v.Eps = h.Real("eps");
        v.Decay = 1.0 - lr * wd;
    }
}
