using System.Reflection;
using System.Runtime.InteropServices;

namespace S3gd.Gpu.Cuda;

/// <summary>
/// Finds NVRTC for this assembly's imports: <c>S3GD_NVRTC_PATH</c> (a file or a folder) first, then
/// libnvrtc.so, .so.13 and .so.12 on the loader path and in the usual CUDA folders. The driver
/// library is left to the system loader.
/// </summary>
internal static class NativeLibraries
{
    /// <summary>The environment variable naming NVRTC's file or folder.</summary>
    internal const string NvrtcPathVariable = "S3GD_NVRTC_PATH";

    private static readonly string[] NvrtcNames = ["libnvrtc.so", "libnvrtc.so.13", "libnvrtc.so.12"];

    private static readonly string[] CudaFolders =
        ["/usr/local/cuda/lib64", "/usr/local/cuda/targets/x86_64-linux/lib", "/usr/lib/x86_64-linux-gnu"];

    private static int installed;

    /// <summary>Where the last NVRTC search looked, for the "unavailable" reason.</summary>
    internal static string NvrtcSearched { get; private set; } = "";

    /// <summary>Installs the resolver, once, before the first import is called.</summary>
    internal static void Install()
    {
        if (Interlocked.Exchange(ref installed, 1) == 0)
            NativeLibrary.SetDllImportResolver(typeof(NativeLibraries).Assembly, Resolve);
    }

    private static nint Resolve(string name, Assembly assembly, DllImportSearchPath? searchPath) =>
        name == Nvrtc.Library ? LoadNvrtc() : 0;

    private static nint LoadNvrtc()
    {
        var candidates = new List<string>();
        var configured = Environment.GetEnvironmentVariable(NvrtcPathVariable);
        if (!string.IsNullOrEmpty(configured))
        {
            if (Directory.Exists(configured)) candidates.AddRange(NvrtcNames.Select(n => Path.Combine(configured, n)));
            else candidates.Add(configured);
        }
        candidates.AddRange(NvrtcNames);
        var cudaPath = Environment.GetEnvironmentVariable("CUDA_PATH");
        var folders = string.IsNullOrEmpty(cudaPath) ? CudaFolders : [Path.Combine(cudaPath, "lib64"), .. CudaFolders];
        candidates.AddRange(folders.SelectMany(f => NvrtcNames.Select(n => Path.Combine(f, n))));
        NvrtcSearched = $"{string.Join(", ", NvrtcNames)} on the loader path and in {string.Join(", ", folders)}"
            + (string.IsNullOrEmpty(configured) ? "" : $", after {NvrtcPathVariable}={configured}");
        foreach (var candidate in candidates)
            if (NativeLibrary.TryLoad(candidate, out var handle)) return handle;
        return 0;
    }
}
