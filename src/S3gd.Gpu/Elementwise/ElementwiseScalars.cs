using System.Runtime.CompilerServices;
using S3gd.Gpu.Maths;

namespace S3gd.Gpu.Elementwise;

/// <summary>
/// One step's <see cref="StepScalars"/> as values of the maths M (broadcast to every lane), made once per step (the CPU
/// backend) or once per thread (a kernel): what a rule's per-element maths reads. Negated rates are negated once here.
/// </summary>
/// <typeparam name="T">The maths' value type.</typeparam>
/// <typeparam name="M">The maths.</typeparam>
public readonly struct ElementwiseScalars<T, M>
    where T : struct
    where M : struct, IMaths<T>
{
    /// <summary>Broadcasts every scalar of <paramref name="sc"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public ElementwiseScalars(in StepScalars sc)
    {
        M m = default;
        NegLr = m.Broadcast(-sc.Lr);
        Decay = m.Broadcast(sc.Decay);
        Wd = m.Broadcast(sc.Wd);
        Beta1 = m.Broadcast(sc.Beta1);
        OneMinusBeta1 = m.Broadcast(sc.OneMinusBeta1);
        Beta2 = m.Broadcast(sc.Beta2);
        OneMinusBeta2 = m.Broadcast(sc.OneMinusBeta2);
        NegStepSize = m.Broadcast(-sc.StepSize);
        InvSqrtBc2 = m.Broadcast(sc.InvSqrtBc2);
        NesterovM = m.Broadcast(sc.NesterovM);
        NesterovG = m.Broadcast(sc.NesterovG);
        Beta3 = m.Broadcast(sc.Beta3);
        OneMinusBeta3 = m.Broadcast(sc.OneMinusBeta3);
        Alpha = m.Broadcast(sc.Alpha);
        InvBc1 = m.Broadcast(sc.InvBc1);
        Eps = m.Broadcast(sc.Eps);
        GradScale = m.Broadcast(sc.GradScale);
        Bc1 = m.Broadcast(sc.Bc1);
        Bc2 = m.Broadcast(sc.Bc2);
        SqrtBc2 = m.Broadcast(sc.SqrtBc2);
        One = m.Broadcast(1f);
        FirstStep = sc.FirstStep != 0;
        LerpFromEnd = sc.LerpFromEnd != 0;
        Branch = sc.Branch != 0;
    }

    /// <summary>-lr (Rprop: minus the step size every element starts at).</summary>
    public readonly T NegLr;

    /// <summary>The decoupled decay factor 1 - lr*wd; ASGD's decay term 1 - lambd*eta.</summary>
    public readonly T Decay;

    /// <summary>The coupled weight decay wd.</summary>
    public readonly T Wd;

    /// <summary>The first decay (see <see cref="StepScalars.Beta1"/>; Adadelta's rho; ASGD's averaging weight mu, 0 on copying steps; Rprop's etaminus).</summary>
    public readonly T Beta1;

    /// <summary>1 - beta1 (SGD: 1 - dampening).</summary>
    public readonly T OneMinusBeta1;

    /// <summary>The second decay (Rprop's etaplus).</summary>
    public readonly T Beta2;

    /// <summary>1 - beta2.</summary>
    public readonly T OneMinusBeta2;

    /// <summary>-step_size.</summary>
    public readonly T NegStepSize;

    /// <summary>1 / sqrt(1 - beta2^t).</summary>
    public readonly T InvSqrtBc2;

    /// <summary>Signum's Nesterov coefficient of the momentum; NAdam's addcdiv value of the momentum.</summary>
    public readonly T NesterovM;

    /// <summary>Signum's Nesterov coefficient of the gradient; NAdam's addcdiv value of the gradient.</summary>
    public readonly T NesterovG;

    /// <summary>AdEMAMix's slow decay at this step; Rprop's step_size_max.</summary>
    public readonly T Beta3;

    /// <summary>1 - beta3.</summary>
    public readonly T OneMinusBeta3;

    /// <summary>
    /// AdEMAMix's slow weight; MAdam's storage scale root c; RAdam's rectification r_t (0 on unrectified steps);
    /// Adagrad's initial_accumulator_value; ASGD's copy flag (1 while mu = 1, else 0); Rprop's step_size_min.
    /// </summary>
    public readonly T Alpha;

    /// <summary>1 / the first moment's bias correction.</summary>
    public readonly T InvBc1;

    /// <summary>Added to the denominator.</summary>
    public readonly T Eps;

    /// <summary>The gradient is divided by it.</summary>
    public readonly T GradScale;

    /// <summary>1 - beta1^t, a divisor.</summary>
    public readonly T Bc1;

    /// <summary>1 - beta2^t, a divisor.</summary>
    public readonly T Bc2;

    /// <summary>(1 - beta2^t)^0.5.</summary>
    public readonly T SqrtBc2;

    /// <summary>1.</summary>
    public readonly T One;

    /// <summary>Whether this is the first step (SGD's momentum buffer starts as the gradient).</summary>
    public readonly bool FirstStep;

    /// <summary>Whether the rule's lerp weight is 0.5 or more, where torch's lerp works from the end (<see cref="Rules.TorchOps.Lerp"/>).</summary>
    public readonly bool LerpFromEnd;

    /// <summary>A rule's branch of the step (RAdam: rectified).</summary>
    public readonly bool Branch;
}
