using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace S3gd.Gpu.Cuda;

internal static partial class CudaDriver
{
    /// <summary>Throws a <see cref="CudaException"/> naming the call and the error unless <paramref name="status"/> is success.</summary>
    internal static void ThrowIfFailed(CUresult status, [CallerArgumentExpression(nameof(status))] string call = "")
    {
        if (status != CUresult.Success) throw new CudaException(call, (int)status, ErrorName(status), ErrorText(status));
    }

    /// <summary>The error's name from cuGetErrorName, e.g. CUDA_ERROR_OUT_OF_MEMORY.</summary>
    internal static string ErrorName(CUresult status) =>
        cuGetErrorName(status, out var name) == CUresult.Success && name != 0
            ? Marshal.PtrToStringUTF8(name) ?? status.ToString()
            : $"CUresult {(int)status}";

    private static string ErrorText(CUresult status) =>
        cuGetErrorString(status, out var text) == CUresult.Success && text != 0 ? Marshal.PtrToStringUTF8(text) ?? "" : "";
}
