using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace S3gd.Gpu.Cuda;

/// <summary>The raw cuBLAS imports (found by <see cref="NativeLibraries"/>), and the one check of their status.</summary>
internal static unsafe partial class Cublas
{
    /// <summary>The library name the resolver maps to the cuBLAS it finds.</summary>
    internal const string Library = "cublas";

    [LibraryImport(Library, EntryPoint = "cublasCreate_v2")] internal static partial CublasStatus cublasCreate(out nint handle);
    [LibraryImport(Library, EntryPoint = "cublasDestroy_v2")] internal static partial CublasStatus cublasDestroy(nint handle);
    [LibraryImport(Library, EntryPoint = "cublasSetStream_v2")] internal static partial CublasStatus cublasSetStream(nint handle, nint stream);
    [LibraryImport(Library)] internal static partial CublasStatus cublasSetMathMode(nint handle, CublasMath mode);
    [LibraryImport(Library)] internal static partial nint cublasGetStatusName(CublasStatus status);

    /// <summary>C[i] = alpha op(A[i]) op(B[i]) + beta C[i] for each of <paramref name="batchCount"/> column-major matrices at fixed strides.</summary>
    [LibraryImport(Library)]
    internal static partial CublasStatus cublasGemmStridedBatchedEx(nint handle, CublasOperation transa, CublasOperation transb, int m, int n, int k,
        float* alpha, ulong a, CudaDataType aType, int lda, long strideA, ulong b, CudaDataType bType, int ldb, long strideB,
        float* beta, ulong c, CudaDataType cType, int ldc, long strideC, int batchCount, CublasComputeType computeType, CublasGemmAlgo algo);

    /// <summary>Throws a <see cref="CudaException"/> naming the call and the cuBLAS status unless <paramref name="status"/> is success.</summary>
    internal static void ThrowIfFailed(CublasStatus status, [CallerArgumentExpression(nameof(status))] string call = "")
    {
        if (status != CublasStatus.Success) throw new CudaException(call, (int)status, StatusName(status), "");
    }

    /// <summary>The status's name from cublasGetStatusName, e.g. CUBLAS_STATUS_INVALID_VALUE.</summary>
    internal static string StatusName(CublasStatus status) => Marshal.PtrToStringUTF8(cublasGetStatusName(status)) ?? $"cublasStatus_t {(int)status}";
}
