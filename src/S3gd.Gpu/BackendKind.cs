namespace S3gd.Gpu;

/// <summary>The kinds of backend S3gd runs kernels on.</summary>
public enum BackendKind
{
    /// <summary>The managed multi-threaded CPU backend, always available.</summary>
    Cpu,
    /// <summary>NVIDIA GPUs: the C# kernels compiled to PTX by ILGPU, run through the CUDA driver API.</summary>
    Cuda,
    /// <summary>The C# kernels' own code on ILGPU's CPU accelerator (slow: for checking the kernels without a GPU).</summary>
    IlgpuCpu,
}
