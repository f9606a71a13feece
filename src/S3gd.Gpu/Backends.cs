using S3gd.Gpu.Cpu;
using S3gd.Gpu.Cuda;
using S3gd.Gpu.IlgpuCpu;

namespace S3gd.Gpu;

/// <summary>A backend and why it was chosen.</summary>
/// <param name="Backend">The backend created.</param>
/// <param name="Reason">Why this backend: explicit, the environment override, or best available (and why not CUDA).</param>
public sealed record BackendSelection(Backend Backend, string Reason);

/// <summary>
/// Creating backends: explicitly by kind, or the best available (CUDA where it can run, else the CPU,
/// with the reason), which the environment variable <c>S3GD_BACKEND=cpu|cuda|ilgpu-cpu</c> overrides.
/// </summary>
public static class Backends
{
    /// <summary>The environment variable that overrides the best-available choice.</summary>
    public const string EnvironmentVariable = "S3GD_BACKEND";

    /// <summary>Whether a backend of <paramref name="kind"/> can be created here, and the reason when not.</summary>
    public static (bool IsAvailable, string Reason) Availability(BackendKind kind) => kind switch
    {
        BackendKind.Cpu => (true, "always available"),
        BackendKind.IlgpuCpu => (true, "always available (ILGPU's CPU accelerator: slow, for checking the kernels)"),
        BackendKind.Cuda => (CudaAvailability.Current.IsAvailable, CudaAvailability.Current.Reason),
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "unknown backend kind"),
    };

    /// <summary>Creates a backend of <paramref name="kind"/>; throws <see cref="BackendUnavailableException"/> when it cannot run here.</summary>
    public static Backend Create(BackendKind kind) => kind switch
    {
        BackendKind.Cpu => new CpuBackend(),
        BackendKind.IlgpuCpu => new IlgpuCpuBackend(),
        BackendKind.Cuda => new CudaBackend(),
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "unknown backend kind"),
    };

    /// <summary>Parses a backend name: cpu, cuda or ilgpu-cpu (case-insensitive); null for anything else.</summary>
    public static BackendKind? Parse(string? name) => name?.Trim().ToLowerInvariant() switch
    {
        "cpu" => BackendKind.Cpu,
        "cuda" => BackendKind.Cuda,
        "ilgpu-cpu" => BackendKind.IlgpuCpu,
        _ => null,
    };

    /// <summary>A backend kind's command-line name: cpu, cuda or ilgpu-cpu.</summary>
    public static string Name(this BackendKind kind) => kind switch
    {
        BackendKind.Cpu => "cpu",
        BackendKind.Cuda => "cuda",
        BackendKind.IlgpuCpu => "ilgpu-cpu",
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "unknown backend kind"),
    };

    /// <summary>The best available backend, unless <c>S3GD_BACKEND</c> names one (an unknown value is an error naming it).</summary>
    public static BackendSelection Best()
    {
        var configured = Environment.GetEnvironmentVariable(EnvironmentVariable);
        if (!string.IsNullOrWhiteSpace(configured))
        {
            var kind = Parse(configured) ?? throw new ArgumentException(
                $"{EnvironmentVariable}='{configured}' is not a backend (expected cpu, cuda or ilgpu-cpu)", EnvironmentVariable);
            return new BackendSelection(Create(kind), $"{EnvironmentVariable}={configured}");
        }
        var (cuda, reason) = Availability(BackendKind.Cuda);
        return cuda
            ? new BackendSelection(Create(BackendKind.Cuda), $"best available: CUDA ({reason})")
            : new BackendSelection(Create(BackendKind.Cpu), $"best available: CPU, because {reason}");
    }
}
