namespace S3gd.Gpu.Elementwise;

/// <summary>
/// How a bf16 parameter takes the float32 update the rule computes (named as optimi and torchao name them); the kernel's
/// PARAM_UPDATE define. Only bf16 parameters with float32 maths have a choice: fp32 parameters round nothing away.
/// </summary>
public enum ParamUpdate
{
    /// <summary>Round the updated parameter to the nearest bf16 (ties to even): updates below half an ulp are lost.</summary>
    Nearest = 0,

    /// <summary>
    /// Kahan summation (optimi): a bf16 compensation buffer c per parameter keeps what rounding lost;
    /// c &lt;- c + delta; prev = p; p &lt;- bf16(p + c); c &lt;- bf16(c + (prev - p)). delta is the rule's whole float32
    /// update of p (p_new - p, so decoupled weight decay too, for every rule alike); optimi rounds the decay into p
    /// directly and compensates only the step, so small decays stall there but not here.
    /// </summary>
    Kahan = 1,

    /// <summary>
    /// Stochastic rounding (torchao, optimi): 16 random bits added to the low half of the float32 bits, then truncated,
    /// so the expected bf16 value is the float32 one; the bits come from a counter-based hash of (seed, step, tensor,
    /// element), equal on every backend.
    /// </summary>
    Stochastic = 2,
}

/// <summary>Parsing and naming of <see cref="ParamUpdate"/> (lower-case names: nearest, kahan, stochastic).</summary>
public static class ParamUpdates
{
    /// <summary>Every mode by its lower-case name.</summary>
    public static IReadOnlyDictionary<string, ParamUpdate> ByName { get; } = new Dictionary<string, ParamUpdate>
    {
        ["nearest"] = ParamUpdate.Nearest,
        ["kahan"] = ParamUpdate.Kahan,
        ["stochastic"] = ParamUpdate.Stochastic,
    };

    /// <summary>The lower-case name of a mode.</summary>
    public static string Name(this ParamUpdate mode) => mode.ToString().ToLowerInvariant();

    /// <summary>A mode from its name (case-insensitive); the error names the argument and the value.</summary>
    public static ParamUpdate Parse(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        return ByName.TryGetValue(name.ToLowerInvariant(), out var mode)
            ? mode
            : throw new ArgumentException($"param update '{name}' is not one of {string.Join(", ", ByName.Keys)}", nameof(name));
    }
}
