using System.Text;

namespace S3gd.Gpu.Cuda;

/// <summary>NVRTC rejected a kernel source: carries the log, the options and the source.</summary>
public sealed class CudaCompileException : Exception
{
    /// <summary>Creates the exception for a failed compilation.</summary>
    public CudaCompileException(string kernelName, IReadOnlyList<string> options, string source, string log)
        : base($"NVRTC could not compile {kernelName} with options [{string.Join(" ", options)}]:\n{log}\nSource:\n{Number(source)}")
    {
        KernelName = kernelName;
        Options = options;
        KernelSource = source;
        Log = log;
    }

    /// <summary>The program (kernel source) name.</summary>
    public string KernelName { get; }

    /// <summary>The NVRTC options used.</summary>
    public IReadOnlyList<string> Options { get; }

    /// <summary>The source as compiled.</summary>
    public string KernelSource { get; }

    /// <summary>NVRTC's compilation log.</summary>
    public string Log { get; }

    /// <summary>The source with 1-based line numbers, as the log refers to them.</summary>
    public string NumberedSource => Number(KernelSource);

    private static string Number(string source)
    {
        var lines = source.Split('\n');
        var width = lines.Length.ToString().Length;
        var text = new StringBuilder();
        for (var i = 0; i < lines.Length; i++) text.Append((i + 1).ToString().PadLeft(width)).Append(" | ").Append(lines[i]).Append('\n');
        return text.ToString();
    }
}
