using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace S3gd.Gpu.Cuda;

/// <summary>The raw NVRTC imports (found by <see cref="NativeLibraries"/>), and the one check of their status.</summary>
internal static unsafe partial class Nvrtc
{
    /// <summary>The library name the resolver maps to the NVRTC it finds.</summary>
    internal const string Library = "nvrtc";

    [LibraryImport(Library)] internal static partial NvrtcResult nvrtcVersion(out int major, out int minor);
    [LibraryImport(Library)] internal static partial nint nvrtcGetErrorString(NvrtcResult result);
    [LibraryImport(Library, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial NvrtcResult nvrtcCreateProgram(out nint program, string source, string name, int headerCount, nint headers, nint includeNames);
    [LibraryImport(Library)] internal static partial NvrtcResult nvrtcDestroyProgram(ref nint program);
    [LibraryImport(Library, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial NvrtcResult nvrtcCompileProgram(nint program, int optionCount, string[] options);
    [LibraryImport(Library)] internal static partial NvrtcResult nvrtcGetProgramLogSize(nint program, out nuint size);
    [LibraryImport(Library)] internal static partial NvrtcResult nvrtcGetProgramLog(nint program, byte* log);
    [LibraryImport(Library)] internal static partial NvrtcResult nvrtcGetCUBINSize(nint program, out nuint size);
    [LibraryImport(Library)] internal static partial NvrtcResult nvrtcGetCUBIN(nint program, byte* cubin);

    /// <summary>Throws a <see cref="CudaException"/> naming the call and the NVRTC error unless <paramref name="status"/> is success.</summary>
    internal static void ThrowIfFailed(NvrtcResult status, [CallerArgumentExpression(nameof(status))] string call = "")
    {
        if (status != NvrtcResult.Success) throw new CudaException(call, (int)status, ErrorName(status), "");
    }

    /// <summary>The error's name from nvrtcGetErrorString, e.g. NVRTC_ERROR_COMPILATION.</summary>
    internal static string ErrorName(NvrtcResult status) => Marshal.PtrToStringUTF8(nvrtcGetErrorString(status)) ?? $"nvrtcResult {(int)status}";
}
