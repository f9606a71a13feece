using System.Runtime.CompilerServices;
using S3gd.Gpu.Maths;

namespace S3gd.Gpu.Structured;

/// <summary>
/// A structured rule's maths, written once for every backend (the ILGPU kernels on CUDA and on the CPU accelerator, the
/// CPU twin's scalars and Vector256 lanes): the summed term of one element, a group's two scalars from its sum, and the
/// update of one element. Every float32 operation is one of the maths' own (<see cref="IMaths{T}"/>), so none is
/// contracted. Implemented by a struct, called as <c>default(R).Term</c>, so each kernel specialisation is straight-line code.
/// </summary>
public interface IStructuredRule
{
    /// <summary>Whether the second moment is per element (StableAdamW's exp_avg_sq), not one per group (Adam-mini's vmean).</summary>
    bool SecondPerElement { get; }

    /// <summary>The summed term of one element from its gradient g and stored second moment v (Adam-mini ignores v).</summary>
    T Term<T, M>(in StructuredTermScalars<T, M> k, T g, T v)
        where T : struct
        where M : struct, IMaths<T>;

    /// <summary>
    /// A group's two scalars from the float32 sum of its terms over <paramref name="groupLength"/> elements (StableAdamW:
    /// lr_t and the decay factor 1 - lr_t*wd; Adam-mini: the denominator and 0, updating its vmean <paramref name="mean"/>).
    /// </summary>
    void Group<M>(in StructuredScalars sc, float sum, long groupLength, ref float mean, out float first, out float second)
        where M : struct, IMaths<float>;

    /// <summary>
    /// The update's scalars for a segment of a group with the group's two scalars, in a configuration with weight decay
    /// (<paramref name="weightDecay"/>) or not, of a tensor marked to decay (<paramref name="tensorDecays"/>) or not.
    /// </summary>
    StructuredUpdateScalars<T, M> UpdateScalars<T, M>(in StructuredScalars sc, bool weightDecay, bool tensorDecays, float first, float second)
        where T : struct
        where M : struct, IMaths<T>;

    /// <summary>Updates one element's parameter p, first moment m and (StableAdamW) second moment v from its gradient g.</summary>
    void Update<T, M>(in StructuredUpdateScalars<T, M> k, ref T p, T g, ref T m, ref T v)
        where T : struct
        where M : struct, IMaths<T>;
}

/// <summary>The scalars of the summed term, as values of the maths M.</summary>
/// <typeparam name="T">The maths' value type.</typeparam>
/// <typeparam name="M">The maths.</typeparam>
public readonly struct StructuredTermScalars<T, M>
    where T : struct
    where M : struct, IMaths<T>
{
    /// <summary>Broadcasts the term's scalars of <paramref name="sc"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public StructuredTermScalars(in StructuredScalars sc)
    {
        M m = default;
        Beta2 = m.Broadcast(sc.Beta2);
        OneMinusBeta2 = m.Broadcast(sc.OneMinusBeta2);
        EpsSquared = m.Broadcast(sc.EpsSquared);
    }

    /// <summary>The second moment's decay.</summary>
    public readonly T Beta2;

    /// <summary>1 - beta2.</summary>
    public readonly T OneMinusBeta2;

    /// <summary>eps^2, the floor of v in StableAdamW's RMS.</summary>
    public readonly T EpsSquared;
}

/// <summary>The scalars of one segment's update, as values of the maths M.</summary>
/// <typeparam name="T">The maths' value type.</typeparam>
/// <typeparam name="M">The maths.</typeparam>
public readonly struct StructuredUpdateScalars<T, M>
    where T : struct
    where M : struct, IMaths<T>
{
    /// <summary>Broadcasts the step's scalars of <paramref name="sc"/> and the group's decay factor, -lr and denominator.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public StructuredUpdateScalars(in StructuredScalars sc, bool decays, float factor, float negLr, float denom)
    {
        M m = default;
        Decays = decays;
        Factor = m.Broadcast(factor);
        NegLr = m.Broadcast(negLr);
        Denom = m.Broadcast(denom);
        Beta1 = m.Broadcast(sc.Beta1);
        OneMinusBeta1 = m.Broadcast(sc.OneMinusBeta1);
        Beta2 = m.Broadcast(sc.Beta2);
        OneMinusBeta2 = m.Broadcast(sc.OneMinusBeta2);
        Eps = m.Broadcast(sc.Eps);
    }

    /// <summary>
    /// Whether p is multiplied by <see cref="Factor"/> first: the configuration's weight decay, the same for every tensor
    /// (a tensor that does not decay has the factor 1, and p * 1 is p), so a kernel's maths never branch per element.
    /// </summary>
    public readonly bool Decays;

    /// <summary>The decay factor.</summary>
    public readonly T Factor;

    /// <summary>-lr (StableAdamW: the group's clipped lr_t; Adam-mini: the step size).</summary>
    public readonly T NegLr;

    /// <summary>Adam-mini: the group's denominator sqrt(vmean)/sqrt(1 - beta2^t) + eps.</summary>
    public readonly T Denom;

    /// <summary>The first moment's decay.</summary>
    public readonly T Beta1;

    /// <summary>1 - beta1.</summary>
    public readonly T OneMinusBeta1;

    /// <summary>The second moment's decay.</summary>
    public readonly T Beta2;

    /// <summary>1 - beta2.</summary>
    public readonly T OneMinusBeta2;

    /// <summary>Added to StableAdamW's denominator.</summary>
    public readonly T Eps;
}

/// <summary>
/// StableAdamW (optimi): the term g^2/max(v_new, eps^2) with v_new as the update computes it; lr_t = lr/max(1, sqrt(sum/n))
/// and the decay factor 1 - lr_t*wd per tensor; the update p*decay, m and v as Adam's, p -= lr_t * m/(sqrt(v) + eps).
/// </summary>
public readonly struct StableAdamWStep : IStructuredRule
{
    /// <inheritdoc />
    public bool SecondPerElement => true;

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public T Term<T, M>(in StructuredTermScalars<T, M> k, T g, T v)
        where T : struct
        where M : struct, IMaths<T>
    {
        M m = default;
        var gg = m.Mul(g, g);
        return m.Div(gg, m.Max(m.Madd(k.Beta2, v, m.Mul(k.OneMinusBeta2, gg)), k.EpsSquared));
    }

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Group<M>(in StructuredScalars sc, float sum, long groupLength, ref float mean, out float first, out float second)
        where M : struct, IMaths<float>
    {
        M m = default;
        var rms = m.Root(m.Div(sum, (float)groupLength));
        var lrT = m.Div(sc.Lr, m.Max(1.0f, rms));
        first = lrT;
        second = m.Madd(m.Neg(lrT), sc.WeightDecay, 1.0f);
    }

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public StructuredUpdateScalars<T, M> UpdateScalars<T, M>(in StructuredScalars sc, bool weightDecay, bool tensorDecays, float first, float second)
        where T : struct
        where M : struct, IMaths<T> =>
        new(sc, weightDecay, factor: second, negLr: -first, denom: 1.0f);

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Update<T, M>(in StructuredUpdateScalars<T, M> k, ref T p, T g, ref T m, ref T v)
        where T : struct
        where M : struct, IMaths<T>
    {
        M maths = default;
        if (k.Decays) p = maths.Mul(p, k.Factor);
        m = maths.Madd(k.Beta1, m, maths.Mul(k.OneMinusBeta1, g));
        v = maths.Madd(k.Beta2, v, maths.Mul(k.OneMinusBeta2, maths.Mul(g, g)));
        p = maths.Madd(k.NegLr, maths.Div(m, maths.Add(maths.Root(v), k.Eps)), p);
    }
}

/// <summary>
/// Adam-mini: the term g^2; per block vmean &lt;- beta2*vmean + (1-beta2)*sum/L and the denominator
/// sqrt(vmean)/sqrt(1-beta2^t) + eps; the update p*(1 - lr*wd) where the tensor decays, m as Adam's,
/// p -= lr/(1-beta1^t) * m/denominator.
/// </summary>
public readonly struct AdamMiniStep : IStructuredRule
{
    /// <inheritdoc />
    public bool SecondPerElement => false;

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public T Term<T, M>(in StructuredTermScalars<T, M> k, T g, T v)
        where T : struct
        where M : struct, IMaths<T> =>
        default(M).Mul(g, g);

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Group<M>(in StructuredScalars sc, float sum, long groupLength, ref float mean, out float first, out float second)
        where M : struct, IMaths<float>
    {
        M m = default;
        mean = m.Madd(sc.Beta2, mean, m.Mul(sc.OneMinusBeta2, m.Div(sum, (float)groupLength)));
        first = m.Madd(m.Root(mean), sc.InvSqrtBc2, sc.Eps);
        second = 0.0f;
    }

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public StructuredUpdateScalars<T, M> UpdateScalars<T, M>(in StructuredScalars sc, bool weightDecay, bool tensorDecays, float first, float second)
        where T : struct
        where M : struct, IMaths<T> =>
        new(sc, weightDecay, factor: tensorDecays ? sc.Decay : 1.0f, negLr: -sc.StepSize, denom: first);

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Update<T, M>(in StructuredUpdateScalars<T, M> k, ref T p, T g, ref T m, ref T v)
        where T : struct
        where M : struct, IMaths<T>
    {
        M maths = default;
        if (k.Decays) p = maths.Mul(p, k.Factor);
        m = maths.Madd(k.Beta1, m, maths.Mul(k.OneMinusBeta1, g));
        p = maths.Madd(k.NegLr, maths.Div(m, k.Denom), p);
    }
}
