using System.Runtime.CompilerServices;
using S3gd.Gpu.Elementwise;
using S3gd.Gpu.Maths;

namespace S3gd.Gpu.Rules;

/// <summary>
/// torch.optim.Adadelta per element: square_avg &lt;- rho*square_avg + (1 - rho)*g*g; delta = sqrt(acc_delta + eps) /
/// sqrt(square_avg + eps) * g; acc_delta &lt;- rho*acc_delta + (1 - rho)*delta*delta; p -= lr*delta.
/// </summary>
public readonly struct AdadeltaStep : IElementwiseRule
{
    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Step<T, M>(in ElementwiseScalars<T, M> sc, ref T p, T g, ref T s0, ref T s1, ref T s2)
        where T : struct
        where M : struct, IMaths<T>
    {
        M m = default;
        // torch: square_avg.mul_(rho).addcmul_(grad, grad, value=1 - rho); delta = sqrt(acc_delta + eps) / sqrt(square_avg + eps) * grad;
        // acc_delta.mul_(rho).addcmul_(delta, delta, value=1 - rho); param.add_(delta, alpha=-lr).
        s0 = TorchOps.Addcmul<T, M>(m.Mul(s0, sc.Beta1), g, g, sc.OneMinusBeta1);
        var delta = m.Mul(m.Div(m.Root(m.Add(s1, sc.Eps)), m.Root(m.Add(s0, sc.Eps))), g);
        s1 = TorchOps.Addcmul<T, M>(m.Mul(s1, sc.Beta1), delta, delta, sc.OneMinusBeta1);
        p = TorchOps.AddAlpha<T, M>(p, delta, sc.NegLr);
    }
}

/// <summary>Adadelta's host side: slots square_avg, acc_delta; beta1 = rho for both averages; coupled weight decay.</summary>
public sealed class AdadeltaRule : ElementwiseRuleDefinition
{
    /// <inheritdoc />
    public override IReadOnlyList<string?> SlotNames { get; } = ["square_avg", "acc_delta", null];

    /// <inheritdoc />
    public override ElementwiseChoice Choose(string name, HyperSet h) =>
        ElementwiseChoice.Torch(typeof(AdadeltaStep), [true, true, false], h);

    /// <inheritdoc />
    public override void Scalars(string name, HyperSet h, int step, double lr, StepScalarValues v)
    {
        v.Wd = h.Real("weight_decay");
        v.Beta1 = h.Real("rho");
        v.OneMinusBeta1 = 1.0 - v.Beta1;
        v.Eps = h.Real("eps");
    }
}
