using System.Text;

namespace S3gd.Gpu.Cuda;

/// <summary>A kernel failed to compile (the driver's JIT rejected its PTX): carries the log, the options and the source.</summary>
public sealed class CudaCompileException : Exception
{
    /// <summary>Creates the exception for a failed compilation.</summary>
    public CudaCompileException(string kernelName, IReadOnlyList<string> options, string source, string log)
        : base($"{kernelName} could not be compiled with options [{string.Join(" ", options)}]:\n{log}\nSource:\n{Number(source)}")
    {
        KernelName = kernelName;
        Options = options;
        KernelSource = source;
        Log = log;
    }

    /// <summary>The kernel's name.</summary>
    public string KernelName { get; }

    /// <summary>The compiler's options.</summary>
    public IReadOnlyList<string> Options { get; }

    /// <summary>The source as compiled.</summary>
    public string KernelSource { get; }

    /// <summary>The compiler's log.</summary>
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
