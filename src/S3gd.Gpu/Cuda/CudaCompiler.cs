using System.Collections.Concurrent;
using System.Text;
using static S3gd.Gpu.Cuda.Nvrtc;

namespace S3gd.Gpu.Cuda;

/// <summary>
/// Compiles CUDA C with NVRTC for one exact architecture (<c>--gpu-architecture=sm_XY</c>, giving a cubin),
/// cached in memory and on disk under a key of the source, the options, the architecture, the NVRTC
/// version and <see cref="CacheFormatVersion"/>.
/// </summary>
public sealed class CudaCompiler
{
    /// <summary>The version of the cache key and entry layout; bump it when either changes.</summary>
    public const int CacheFormatVersion = 1;

    private readonly ConcurrentDictionary<string, byte[]> memory = new();
    private int compilations;
    private int diskHits;

    /// <summary>A compiler for <paramref name="architecture"/> (e.g. sm_90), with an optional disk cache.</summary>
    public CudaCompiler(string architecture, CudaKernelCache? diskCache)
    {
        ArgumentException.ThrowIfNullOrEmpty(architecture);
        if (!architecture.StartsWith("sm_", StringComparison.Ordinal))
            throw new ArgumentException($"expected an architecture such as sm_90, was '{architecture}'", nameof(architecture));
        Architecture = architecture;
        DiskCache = diskCache;
        NativeLibraries.Install();
        NvrtcVersion = TryNvrtcVersion(out var problem) ?? throw new InvalidOperationException(problem);
    }

    /// <summary>The architecture compiled for.</summary>
    public string Architecture { get; }

    /// <summary>The disk cache, or null when compilations are kept in memory only.</summary>
    public CudaKernelCache? DiskCache { get; }

    /// <summary>NVRTC's version, e.g. "13.0".</summary>
    public string NvrtcVersion { get; }

    /// <summary>How many sources NVRTC actually compiled (cache misses).</summary>
    public int Compilations => Volatile.Read(ref compilations);

    /// <summary>How many compilations were answered from the disk cache.</summary>
    public int DiskHits => Volatile.Read(ref diskHits);

    /// <summary>NVRTC's version, or null with the reason it could not be loaded.</summary>
    internal static string? TryNvrtcVersion(out string? problem)
    {
        NativeLibraries.Install();
        try
        {
            ThrowIfFailed(nvrtcVersion(out var major, out var minor));
            problem = null;
            return $"{major}.{minor}";
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException or BadImageFormatException)
        {
            problem = $"NVRTC could not be loaded (searched {NativeLibraries.NvrtcSearched}; set {NativeLibraries.NvrtcPathVariable})";
            return null;
        }
    }

    /// <summary>The cubin of <paramref name="source"/> compiled with <paramref name="options"/>; throws <see cref="CudaCompileException"/> on a compile error.</summary>
    public byte[] Compile(string name, string source, IReadOnlyList<string> options)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(options);
        string[] all = [$"--gpu-architecture={Architecture}", .. options];
        var key = CudaKernelCache.Key(CacheFormatVersion.ToString(), NvrtcVersion, Architecture, string.Join("\u0001", all), source);
        return memory.GetOrAdd(key, k =>
        {
            if (DiskCache?.TryRead(k) is { } cached)
            {
                Interlocked.Increment(ref diskHits);
                return cached;
            }
            var image = CompileUncached(name, source, all);
            DiskCache?.Write(k, image);
            return image;
        });
    }

    private unsafe byte[] CompileUncached(string name, string source, string[] options)
    {
        Interlocked.Increment(ref compilations);
        ThrowIfFailed(nvrtcCreateProgram(out var program, source, name, 0, 0, 0));
        try
        {
            var status = nvrtcCompileProgram(program, options.Length, options);
            if (status == NvrtcResult.Compilation) throw new CudaCompileException(name, options, source, Log(program));
            ThrowIfFailed(status, nameof(nvrtcCompileProgram));
            ThrowIfFailed(nvrtcGetCUBINSize(program, out var size));
            var image = new byte[(int)size];
            fixed (byte* p = image) ThrowIfFailed(nvrtcGetCUBIN(program, p));
            return image;
        }
        finally
        {
            // Destroying cannot fail for a program NVRTC created; a status here would only hide the real error.
            nvrtcDestroyProgram(ref program);
        }
    }

    private static unsafe string Log(nint program)
    {
        ThrowIfFailed(nvrtcGetProgramLogSize(program, out var size));
        var log = new byte[(int)size];
        fixed (byte* p = log) ThrowIfFailed(nvrtcGetProgramLog(program, p));
        // The log is NUL-terminated.
        return Encoding.UTF8.GetString(log).TrimEnd('\0');
    }
}
