using S3gd.Gpu.Muon;

namespace S3gd.Gpu.Cuda;

/// <summary>
/// The CUDA backend's Newton–Schulz matrix products: cuBLAS's strided-batched GEMM with bf16 or float32 operands and
/// results and float32 accumulation (CUBLAS_COMPUTE_32F: no TF32, which takes CUBLAS_COMPUTE_32F_FAST_TF32 or the
/// handle's TF32 math mode, neither set), on the backend's stream, through one handle created on first use.
/// </summary>
public sealed partial class CudaBackend
{
    private readonly Lock cublasLock = new();
    private nint cublasHandle;

    /// <inheritdoc />
    protected internal override unsafe void BatchedGemm(NsGemm gemm, NsPrecision precision, ulong a, ulong b, ulong c, int count)
    {
        var handle = CublasHandle();
        context.MakeCurrent();
        var (alpha, beta) = (gemm.Alpha, gemm.Beta);
        var type = precision == NsPrecision.Float32 ? CudaDataType.Float32 : CudaDataType.BFloat16;
        Cublas.ThrowIfFailed(Cublas.cublasGemmStridedBatchedEx(handle, Operation(gemm.TransposeA), Operation(gemm.TransposeB),
            gemm.M, gemm.N, gemm.K, &alpha, a, type, gemm.Lda, gemm.StrideA, b, type,
            gemm.Ldb, gemm.StrideB, &beta, c, type, gemm.Ldc, gemm.StrideC, count,
            CublasComputeType.Float32, CublasGemmAlgo.Default));
    }

    private static CublasOperation Operation(bool transpose) => transpose ? CublasOperation.Transpose : CublasOperation.None;

    /// <summary>The backend's cuBLAS handle, created on first use, bound to the backend's stream.</summary>
    private nint CublasHandle()
    {
        lock (cublasLock)
        {
            if (cublasHandle != 0) return cublasHandle;
            NativeLibraries.Install();
            context.MakeCurrent();
            nint handle;
            try
            {
                Cublas.ThrowIfFailed(Cublas.cublasCreate(out handle));
            }
            catch (DllNotFoundException e)
            {
                throw new InvalidOperationException(
                    $"cuBLAS could not be loaded (searched {NativeLibraries.CublasSearched}; set {NativeLibraries.CublasPathVariable})", e);
            }
            // cudaStream_t and CUstream are the same handle.
            Cublas.ThrowIfFailed(Cublas.cublasSetStream(handle, stream.Handle));
            // Split-K partial sums stay float32: the spec accumulates every product in float32 and rounds once.
            Cublas.ThrowIfFailed(Cublas.cublasSetMathMode(handle, CublasMath.DisallowReducedPrecisionReduction));
            return cublasHandle = handle;
        }
    }

    /// <summary>Destroys the cuBLAS handle if one was made (called on dispose, the context current).</summary>
    private void DisposeCublas()
    {
        if (cublasHandle == 0) return;
        Cublas.ThrowIfFailed(Cublas.cublasDestroy(cublasHandle));
        cublasHandle = 0;
    }
}
