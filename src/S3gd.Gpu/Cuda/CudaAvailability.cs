using static S3gd.Gpu.Cuda.CudaDriver;

namespace S3gd.Gpu.Cuda;

/// <summary>Whether the CUDA backend can run here: the driver and its devices, or why not (the kernels need nothing else: ILGPU compiles them).</summary>
/// <param name="IsAvailable">Whether a CUDA backend can be created.</param>
/// <param name="Reason">Why it is unavailable; a summary of what was found when it is.</param>
/// <param name="DriverVersion">The driver's CUDA version (e.g. 13000 for 13.0), when the driver loaded.</param>
/// <param name="Devices">The GPUs the driver sees.</param>
public sealed record CudaAvailability(bool IsAvailable, string Reason, int? DriverVersion, IReadOnlyList<CudaDevice> Devices)
{
    private static readonly Lazy<CudaAvailability> Probed = new(Probe);

    /// <summary>The result of probing this machine, once per process.</summary>
    public static CudaAvailability Current => Probed.Value;

    /// <summary>The version of ILGPU that compiles the kernels.</summary>
    public static string IlgpuVersion => typeof(ILGPU.Context).Assembly.GetName().Version?.ToString(3) ?? "unknown";

    private static CudaAvailability Probe()
    {
        NativeLibraries.Install();
        int? driver = null;
        IReadOnlyList<CudaDevice> devices = [];
        string? driverProblem = null;
        try
        {
            ThrowIfFailed(cuInit(0));
            ThrowIfFailed(cuDriverGetVersion(out var version));
            driver = version;
            devices = CudaDevice.Enumerate();
            if (devices.Count == 0) driverProblem = "the CUDA driver sees no device";
        }
        catch (DllNotFoundException)
        {
            driverProblem = $"the CUDA driver library {Library} could not be loaded (no NVIDIA driver installed?)";
        }
        catch (Exception e) when (e is EntryPointNotFoundException or BadImageFormatException)
        {
            driverProblem = $"the CUDA driver library {Library} is unusable: {e.Message}";
        }
        catch (CudaException e)
        {
            driverProblem = $"the CUDA driver failed: {e.Message}";
        }

        var reason = driverProblem ?? $"driver CUDA {driver / 1000}.{driver % 1000 / 10}, {devices.Count} device(s), kernels compiled by ILGPU {IlgpuVersion}";
        return new CudaAvailability(driverProblem is null, reason, driver, devices);
    }
}
