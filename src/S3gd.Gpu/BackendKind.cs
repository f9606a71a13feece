namespace S3gd.Gpu;

/// <summary>The kinds of backend S3gd runs kernels on.</summary>
public enum BackendKind
{
    /// <summary>The managed multi-threaded CPU backend, always available.</summary>
    Cpu,
    /// <summary>NVIDIA GPUs through the CUDA driver API and NVRTC.</summary>
    Cuda,
}
