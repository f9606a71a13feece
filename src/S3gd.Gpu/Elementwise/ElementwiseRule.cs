namespace S3gd.Gpu.Elementwise;

/// <summary>The rules the fused elementwise kernel computes; the values are the kernel's <c>RULE_*</c> defines.</summary>
public enum ElementwiseRule
{
    /// <summary>torch.optim.SGD: momentum, dampening, Nesterov, coupled weight decay, maximize.</summary>
    Sgd = 1,
    /// <summary>torch.optim.Adam and AdamW: AMSGrad, maximize, coupled or decoupled weight decay.</summary>
    Adam = 2,
    /// <summary>torch.optim.RMSprop: momentum, centered, coupled weight decay, maximize.</summary>
    RmsProp = 3,
    /// <summary>S3GD, smoothed SignSGD: an EMA of gradient signs as the step.</summary>
    S3gd = 4,
    /// <summary>Lion: the sign of an interpolated momentum.</summary>
    Lion = 5,
    /// <summary>Signum: the sign of the (optionally Nesterov) momentum.</summary>
    Signum = 6,
    /// <summary>LaProp: momentum of the RMS-normalized gradient.</summary>
    LaProp = 7,
    /// <summary>AdEMAMix: a fast and a slow EMA of the gradient over the RMS.</summary>
    AdEMAMix = 8,
    /// <summary>Simplified AdEMAMix: the gradient plus a momentum sum over the RMS.</summary>
    SimAdEMAMix = 9,
    /// <summary>MAdam: Adam without eps, the second moment stored scaled, no step where the momentum is zero.</summary>
    MAdam = 10,
}

/// <summary>The spec's rule names of the elementwise rules, and the state buffers each keeps.</summary>
public static class ElementwiseRules
{
    /// <summary>The spec's command-line rule names the kernel computes, with their kernel rule.</summary>
    public static IReadOnlyDictionary<string, ElementwiseRule> ByName { get; } = new Dictionary<string, ElementwiseRule>
    {
        ["sgd"] = ElementwiseRule.Sgd,
        ["adam"] = ElementwiseRule.Adam,
        ["adamw"] = ElementwiseRule.Adam,
        ["rmsprop"] = ElementwiseRule.RmsProp,
        ["s3gd"] = ElementwiseRule.S3gd,
        ["lion"] = ElementwiseRule.Lion,
        ["signum"] = ElementwiseRule.Signum,
        ["laprop"] = ElementwiseRule.LaProp,
        ["ademamix"] = ElementwiseRule.AdEMAMix,
        ["sim-ademamix"] = ElementwiseRule.SimAdEMAMix,
        ["madam"] = ElementwiseRule.MAdam,
    };

    /// <summary>
    /// The spec's buffer name of each of the kernel's three state slots for a rule (null: slot not part of the rule).
    /// Which slots a configuration uses depends on its hyperparameters (<see cref="ElementwiseConfig.StateNames"/>).
    /// </summary>
    public static IReadOnlyList<string?> SlotNames(ElementwiseRule rule) => rule switch
    {
        ElementwiseRule.Sgd => ["momentum_buffer", null, null],
        ElementwiseRule.Adam => ["exp_avg", "exp_avg_sq", "max_exp_avg_sq"],
        ElementwiseRule.RmsProp => ["square_avg", "momentum_buffer", "grad_avg"],
        ElementwiseRule.S3gd or ElementwiseRule.Lion or ElementwiseRule.Signum => ["exp_avg", null, null],
        ElementwiseRule.LaProp or ElementwiseRule.SimAdEMAMix => ["exp_avg", "exp_avg_sq", null],
        ElementwiseRule.AdEMAMix => ["exp_avg_fast", "exp_avg_slow", "exp_avg_sq"],
        ElementwiseRule.MAdam => ["exp_avg", "exp_avg_sq_scaled", null],
        _ => throw new ArgumentOutOfRangeException(nameof(rule), rule, "unknown elementwise rule"),
    };
}
