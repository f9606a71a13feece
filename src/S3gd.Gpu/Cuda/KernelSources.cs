namespace S3gd.Gpu.Cuda;

/// <summary>The CUDA C sources embedded from <c>Cuda/Kernels/*.cu</c>.</summary>
internal static class KernelSources
{
    /// <summary>The text of the kernel file <paramref name="fileName"/>, e.g. "Convert.cu".</summary>
    internal static string Load(string fileName)
    {
        var resource = "S3gd.Gpu.Kernels." + fileName;
        using var stream = typeof(KernelSources).Assembly.GetManifestResourceStream(resource)
            ?? throw new ArgumentException($"no embedded kernel source '{resource}'", nameof(fileName));
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }
}
