namespace S3gd.Gpu;

/// <summary>A backend was requested that cannot run on this machine; the message says why.</summary>
public sealed class BackendUnavailableException(BackendKind kind, string reason)
    : Exception($"the {kind} backend is unavailable: {reason}")
{
    /// <summary>The backend that was requested.</summary>
    public BackendKind Kind { get; } = kind;

    /// <summary>Why it is unavailable.</summary>
    public string Reason { get; } = reason;
}
