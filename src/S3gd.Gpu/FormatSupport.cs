namespace S3gd.Gpu;

/// <summary>What to do when a state format is requested on a device that cannot convert it.</summary>
public enum Fp8Fallback
{
    /// <summary>Fail with an <see cref="UnsupportedFormatException"/> naming the device and its capability.</summary>
    None,
    /// <summary>Store the state in bf16 instead, and report it in <see cref="FormatChoice.Notice"/>.</summary>
    Bf16,
}

/// <summary>The format chosen for a requested state format.</summary>
/// <param name="Requested">What the caller asked for.</param>
/// <param name="Actual">What will be stored.</param>
/// <param name="Notice">Why <paramref name="Actual"/> differs from <paramref name="Requested"/>; null when they are equal.</param>
public sealed record FormatChoice(ElementType Requested, ElementType Actual, string? Notice)
{
    /// <summary>Whether the documented fallback replaced the requested format.</summary>
    public bool IsFallback => Requested != Actual;
}

/// <summary>A format was requested that the device cannot convert (fp8 before sm_89).</summary>
public sealed class UnsupportedFormatException(string message) : Exception(message);

/// <summary>The rule deciding which state formats a device can hold, and the fp8 -> bf16 fallback.</summary>
public static class FormatSupport
{
    /// <summary>
    /// Chooses the stored format for <paramref name="requested"/> on a device described by
    /// <paramref name="device"/> (name and capability, used in messages).
    /// </summary>
    public static FormatChoice Choose(ElementType requested, Fp8Fallback fallback, string device, bool supportsFp8)
    {
        ArgumentNullException.ThrowIfNull(device);
        if (!requested.IsFp8() || supportsFp8) return new FormatChoice(requested, requested, null);
        return fallback switch
        {
            Fp8Fallback.Bf16 => new FormatChoice(requested, ElementType.BFloat16,
                $"{requested.Name()} state requested on {device}, which has no fp8 conversion instructions (sm_89+): stored as bf16 instead"),
            Fp8Fallback.None => throw new UnsupportedFormatException(
                $"{requested.Name()} needs fp8 conversion instructions (sm_89+), which {device} lacks; pass Fp8Fallback.Bf16 to store bf16 instead"),
            _ => throw new ArgumentOutOfRangeException(nameof(fallback), fallback, "unknown fallback"),
        };
    }
}
