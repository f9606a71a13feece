using static S3gd.Gpu.Cuda.CudaDriver;

namespace S3gd.Gpu.Cuda;

/// <summary>One CUDA GPU and the capabilities S3gd's kernels need.</summary>
/// <param name="Ordinal">The driver's device index.</param>
/// <param name="Name">The device name, e.g. "NVIDIA H100 80GB HBM3".</param>
/// <param name="Major">Compute capability, major part.</param>
/// <param name="Minor">Compute capability, minor part.</param>
/// <param name="MultiprocessorCount">Streaming multiprocessors (SMs).</param>
/// <param name="TotalMemoryBytes">Device memory in bytes.</param>
public sealed record CudaDevice(int Ordinal, string Name, int Major, int Minor, int MultiprocessorCount, long TotalMemoryBytes)
{
    /// <summary>The exact architecture the kernels are compiled for, e.g. sm_90.</summary>
    public string Architecture => $"sm_{Major}{Minor}";

    /// <summary>Whether the device has bf16 conversion and maths instructions (sm_80+).</summary>
    public bool SupportsBf16 => Major >= 8;

    /// <summary>Whether the device has fp8 e4m3/e5m2 conversion instructions (sm_89+).</summary>
    public bool SupportsFp8 => Major * 10 + Minor >= 89;

    /// <summary>Name, architecture, SM count and memory in one line.</summary>
    public string Description => $"{Name} ({Architecture}, {MultiprocessorCount} SMs, {TotalMemoryBytes / (1024.0 * 1024 * 1024):F1} GiB)";

    /// <summary>Every device the driver sees (the driver must be initialised).</summary>
    internal static unsafe IReadOnlyList<CudaDevice> Enumerate()
    {
        ThrowIfFailed(cuDeviceGetCount(out var count));
        var devices = new List<CudaDevice>(count);
        // A device name is at most 256 bytes (cudaDeviceProp::name).
        const int nameLength = 256;
        var name = stackalloc byte[nameLength];
        for (var ordinal = 0; ordinal < count; ordinal++)
        {
            ThrowIfFailed(cuDeviceGet(out var device, ordinal));
            ThrowIfFailed(cuDeviceGetName(name, nameLength, device));
            ThrowIfFailed(cuDeviceGetAttribute(out var major, CUdevice_attribute.ComputeCapabilityMajor, device));
            ThrowIfFailed(cuDeviceGetAttribute(out var minor, CUdevice_attribute.ComputeCapabilityMinor, device));
            ThrowIfFailed(cuDeviceGetAttribute(out var sms, CUdevice_attribute.MultiprocessorCount, device));
            ThrowIfFailed(cuDeviceTotalMem(out var bytes, device));
            devices.Add(new CudaDevice(ordinal, new string((sbyte*)name), major, minor, sms, (long)bytes));
        }
        return devices;
    }
}
