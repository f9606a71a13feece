using System.Reflection;
using System.Runtime.InteropServices;

namespace S3gd.Gpu.Cuda;

/// <summary>
/// Finds cuBLAS for this assembly's imports: <c>S3GD_CUBLAS_PATH</c> (a file or a folder) first, then the library's names
/// on the loader path, in the usual CUDA folders and in Python's site-packages, where the nvidia-cublas wheels put it.
/// The driver library is left to the system loader.
/// </summary>
internal static class NativeLibraries
{
    /// <summary>The environment variable naming cuBLAS's file or folder.</summary>
    internal const string CublasPathVariable = "S3GD_CUBLAS_PATH";

    /// <summary>cuBLAS 13 (CUDA 13), then whatever libcublas.so links to.</summary>
    private static readonly string[] CublasNames = ["libcublas.so.13", "libcublas.so"];

    /// <summary>cuBLAS's own dependency, loaded first from the folder cuBLAS is found in (its RUNPATH may not name it).</summary>
    private static readonly string[] CublasLtNames = ["libcublasLt.so.13", "libcublasLt.so"];

    private static readonly string[] CudaFolders =
        ["/usr/local/cuda/lib64", "/usr/local/cuda/targets/x86_64-linux/lib", "/usr/lib/x86_64-linux-gnu"];

    /// <summary>Where pip's CUDA wheels put cuBLAS under a site-packages folder (CUDA 12 and 13 layouts).</summary>
    private static readonly string[] WheelFolders = ["nvidia/cublas/lib", "nvidia/cu13/lib"];

    private static int installed;

    /// <summary>Where the last cuBLAS search looked, for the error when it is missing.</summary>
    internal static string CublasSearched { get; private set; } = "";

    /// <summary>Installs the resolver, once, before the first import is called.</summary>
    internal static void Install()
    {
        if (Interlocked.Exchange(ref installed, 1) == 0)
            NativeLibrary.SetDllImportResolver(typeof(NativeLibraries).Assembly, Resolve);
    }

    private static nint Resolve(string name, Assembly assembly, DllImportSearchPath? searchPath) => name switch
    {
        Cublas.Library => LoadCublas(),
        _ => 0,
    };

    private static nint LoadCublas()
    {
        var (handle, searched) = Search(CublasNames, CublasPathVariable, [.. CudaLibraryFolders(), .. SitePackagesFolders()], CublasLtNames);
        CublasSearched = searched;
        return handle;
    }

    /// <summary>CUDA_PATH's lib64, then the usual CUDA folders.</summary>
    private static string[] CudaLibraryFolders()
    {
        var cudaPath = Environment.GetEnvironmentVariable("CUDA_PATH");
        return string.IsNullOrEmpty(cudaPath) ? CudaFolders : [Path.Combine(cudaPath, "lib64"), .. CudaFolders];
    }

    /// <summary>The wheel folders under the site-packages of a virtual environment, the user and the system Pythons that exist.</summary>
    private static IEnumerable<string> SitePackagesFolders()
    {
        var home = Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
        var venv = Environment.GetEnvironmentVariable("VIRTUAL_ENV");
        string[] libs = [.. string.IsNullOrEmpty(venv) ? [] : new[] { Path.Combine(venv, "lib") },
            Path.Combine(home, ".local/lib"), "/usr/local/lib", "/usr/lib", "/opt/conda/lib"];
        foreach (var lib in libs.Where(Directory.Exists))
            foreach (var python in Directory.GetDirectories(lib, "python3*"))
                foreach (var site in new[] { "site-packages", "dist-packages" })
                    foreach (var wheel in WheelFolders)
                    {
                        var folder = Path.Combine(python, site, wheel);
                        if (Directory.Exists(folder)) yield return folder;
                    }
    }

    /// <summary>
    /// Loads the first of <paramref name="names"/> found: in the folder or file the variable names, on the loader path,
    /// then in <paramref name="folders"/>; from a folder, <paramref name="dependencies"/> there are loaded first.
    /// </summary>
    private static (nint Handle, string Searched) Search(string[] names, string variable, IReadOnlyList<string> folders, string[] dependencies)
    {
        var configured = Environment.GetEnvironmentVariable(variable);
        var searched = $"{string.Join(", ", names)} on the loader path and in {string.Join(", ", folders)}"
            + (string.IsNullOrEmpty(configured) ? "" : $", after {variable}={configured}");
        var candidates = new List<(string? Folder, string Path)>();
        if (!string.IsNullOrEmpty(configured))
        {
            if (Directory.Exists(configured)) candidates.AddRange(names.Select(n => ((string?)configured, Path.Combine(configured, n))));
            else candidates.Add((Path.GetDirectoryName(configured), configured));
        }
        candidates.AddRange(names.Select(n => ((string?)null, n)));
        candidates.AddRange(folders.SelectMany(f => names.Select(n => ((string?)f, Path.Combine(f, n)))));
        foreach (var (folder, path) in candidates)
        {
            if (folder is not null && File.Exists(path))
                foreach (var dependency in dependencies)
                    if (NativeLibrary.TryLoad(Path.Combine(folder, dependency), out _)) break;
            if (NativeLibrary.TryLoad(path, out var handle)) return (handle, searched);
        }
        return (0, searched);
    }
}
