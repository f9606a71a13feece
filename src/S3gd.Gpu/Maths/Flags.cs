namespace S3gd.Gpu.Maths;

/// <summary>
/// A compile-time switch: a rule's option (AMSGrad, Nesterov, ...) as a type parameter, so every combination compiles
/// to its own code with the branch folded away (ILGPU kernels and the CPU backend's loops alike).
/// </summary>
public interface IFlag
{
    /// <summary>Whether the option is on.</summary>
    bool IsOn { get; }
}

/// <summary>The option is on.</summary>
public readonly struct On : IFlag
{
    /// <inheritdoc />
    public bool IsOn => true;
}

/// <summary>The option is off.</summary>
public readonly struct Off : IFlag
{
    /// <inheritdoc />
    public bool IsOn => false;
}

/// <summary>The flag type of a boolean, for building specialised types at run time.</summary>
public static class Flags
{
    /// <summary><see cref="On"/> or <see cref="Off"/>.</summary>
    public static Type Of(bool on) => on ? typeof(On) : typeof(Off);
}
