using System.Text;
using System.Text.RegularExpressions;

namespace S3gd.Gpu.Cuda;

/// <summary>
/// The CUDA C sources embedded from <c>Cuda/Kernels/</c>: a kernel file (<c>*.cu</c>) with each of its
/// <c>#include "common.cuh"</c> lines replaced by the header's text, so NVRTC, the kernel cache key and a compile
/// error's numbered source all see one file, and the g++ emulation tests the same text.
/// </summary>
internal static partial class KernelSources
{
    /// <summary>The headers a kernel file may include (one level: a header includes nothing).</summary>
    internal static readonly IReadOnlyList<string> Headers = ["common.cuh"];

    /// <summary>The expanded text of the embedded kernel file <paramref name="fileName"/>, e.g. "Convert.cu".</summary>
    internal static string Load(string fileName) => Expand(fileName, ReadEmbedded(fileName), ReadEmbedded);

    /// <summary>The expanded text of the kernel file <paramref name="fileName"/> in the folder <paramref name="directory"/> (the sources on disk).</summary>
    internal static string LoadFrom(string directory, string fileName) =>
        Expand(fileName, File.ReadAllText(Path.Combine(directory, fileName)), header => File.ReadAllText(Path.Combine(directory, header)));

    /// <summary>
    /// <paramref name="source"/> (the text of <paramref name="fileName"/>) with each <c>#include</c> line of a known header
    /// replaced by the header's text as <paramref name="read"/> gives it; any other include, or one inside a header, is an
    /// error naming it.
    /// </summary>
    internal static string Expand(string fileName, string source, Func<string, string> read)
    {
        var text = new StringBuilder();
        foreach (var line in Lines(source))
        {
            var include = IncludeLine().Match(line);
            if (!include.Success)
            {
                text.Append(line);
                continue;
            }
            var header = include.Groups["name"].Value;
            if (!Headers.Contains(header))
                throw new ArgumentException($"kernel source '{fileName}' includes '{header}', which is not one of the kernel headers ({string.Join(", ", Headers)})", nameof(source));
            var body = read(header);
            if (Lines(body).FirstOrDefault(l => IncludeLine().IsMatch(l)) is { } nested)
                throw new ArgumentException($"kernel header '{header}' (included by '{fileName}') has an include, '{nested.TrimEnd()}': headers are expanded one level only", nameof(source));
            text.Append(body);
            if (!body.EndsWith('\n')) text.Append('\n');
        }
        return text.ToString();
    }

    /// <summary>The lines of <paramref name="text"/>, each with its line ending.</summary>
    private static IEnumerable<string> Lines(string text)
    {
        var start = 0;
        while (start < text.Length)
        {
            var end = text.IndexOf('\n', start);
            var next = end < 0 ? text.Length : end + 1;
            yield return text[start..next];
            start = next;
        }
    }

    /// <summary>A preprocessor <c>#include "name"</c> or <c>#include &lt;name&gt;</c> line.</summary>
    [GeneratedRegex(@"^\s*#\s*include\s*[""<](?<name>[^"">]*)["">]")]
    private static partial Regex IncludeLine();

    private static string ReadEmbedded(string fileName)
    {
        var resource = "S3gd.Gpu.Kernels." + fileName;
        using var stream = typeof(KernelSources).Assembly.GetManifestResourceStream(resource)
            ?? throw new ArgumentException($"no embedded kernel source '{resource}'", nameof(fileName));
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }
}
