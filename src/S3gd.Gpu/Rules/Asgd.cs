using System.Runtime.CompilerServices;
using S3gd.Gpu.Elementwise;
using S3gd.Gpu.Maths;

namespace S3gd.Gpu.Rules;

/// <summary>
/// torch.optim.ASGD per element: p &lt;- p*(1 - lambd*eta); p -= eta*g; ax &lt;- p while mu = 1, else ax + (p - ax)*mu.
/// Whether the step copies or averages is the host's (mu from the step number): the average is taken where its weight
/// <see cref="ElementwiseScalars{T, M}.Beta1"/> (mu, or 0 on copying steps) is not zero, p where the copy flag
/// <see cref="ElementwiseScalars{T, M}.Alpha"/> (1 on copying steps, else 0) is not; the other term is an exact 0.
/// </summary>
public readonly struct AsgdStep : IElementwiseRule
{
    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Step<T, M>(in ElementwiseScalars<T, M> sc, ref T p, T g, ref T s0, ref T s1, ref T s2)
        where T : struct
        where M : struct, IMaths<T>
    {
        M m = default;
        p = m.Madd(sc.NegStepSize, g, m.Mul(p, sc.Decay));
        var average = m.Add(s0, m.Mul(m.Add(p, m.Neg(s0)), sc.Beta1));
        s0 = m.Add(m.ZeroWhereZero(sc.Beta1, average), m.ZeroWhereZero(sc.Alpha, p));
    }
}

/// <summary>
/// ASGD's host side: slot ax; coupled weight decay. torch's eta and mu (0-dim state there) follow from the step number
/// (the spec's <c>Asgd.eta</c>, <c>Asgd.mu</c>: those stored after the previous step): step size eta, decay
/// 1 - lambd*eta (applied by the rule, not as decoupled weight decay), beta1 = mu on averaging steps, alpha = 1 on copying
/// ones. eta follows this step's learning rate (torch's, set one step earlier, differs only under a schedule).
/// </summary>
public sealed class AsgdRule : ElementwiseRuleDefinition
{
    /// <inheritdoc />
    public override IReadOnlyList<string?> SlotNames { get; } = ["ax", null, null];

    /// <inheritdoc />
    public override ElementwiseChoice Choose(string name, HyperSet h) =>
        ElementwiseChoice.Torch(typeof(AsgdStep), [true, false, false], h);

    /// <inheritdoc />
    public override void Scalars(string name, HyperSet h, int step, double lr, StepScalarValues v)
    {
        v.Wd = h.Real("weight_decay");
        var eta = Spec.Rules.Asgd.eta(lr, h.Real("lambd"), h.Real("alpha"), step - 1);
        var mu = Spec.Rules.Asgd.mu(h.Real("t0"), step - 1);
        v.StepSize = eta;
        v.Decay = 1.0 - h.Real("lambd") * eta;
        if (mu != 1.0)
            v.Beta1 = mu;
        else
            v.Alpha = 1.0;
    }
}
