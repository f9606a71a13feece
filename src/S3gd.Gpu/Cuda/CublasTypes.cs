namespace S3gd.Gpu.Cuda;

// Values from CUDA 13's cublas_api.h and library_types.h (checked against the headers, not guessed).

/// <summary>cublasStatus_t.</summary>
internal enum CublasStatus
{
    /// <summary>CUBLAS_STATUS_SUCCESS.</summary>
    Success = 0,
    /// <summary>CUBLAS_STATUS_NOT_INITIALIZED.</summary>
    NotInitialized = 1,
    /// <summary>CUBLAS_STATUS_ALLOC_FAILED.</summary>
    AllocFailed = 3,
    /// <summary>CUBLAS_STATUS_INVALID_VALUE.</summary>
    InvalidValue = 7,
    /// <summary>CUBLAS_STATUS_ARCH_MISMATCH.</summary>
    ArchMismatch = 8,
    /// <summary>CUBLAS_STATUS_MAPPING_ERROR.</summary>
    MappingError = 11,
    /// <summary>CUBLAS_STATUS_EXECUTION_FAILED.</summary>
    ExecutionFailed = 13,
    /// <summary>CUBLAS_STATUS_INTERNAL_ERROR.</summary>
    InternalError = 14,
    /// <summary>CUBLAS_STATUS_NOT_SUPPORTED.</summary>
    NotSupported = 15,
    /// <summary>CUBLAS_STATUS_LICENSE_ERROR.</summary>
    LicenseError = 16,
}

/// <summary>cublasOperation_t: whether an operand is used as stored (column-major) or transposed.</summary>
internal enum CublasOperation
{
    /// <summary>CUBLAS_OP_N.</summary>
    None = 0,
    /// <summary>CUBLAS_OP_T.</summary>
    Transpose = 1,
}

/// <summary>cudaDataType (library_types.h): the element types S3gd hands cuBLAS.</summary>
internal enum CudaDataType
{
    /// <summary>CUDA_R_32F.</summary>
    Float32 = 0,
    /// <summary>CUDA_R_16BF.</summary>
    BFloat16 = 14,
}

/// <summary>cublasComputeType_t.</summary>
internal enum CublasComputeType
{
    /// <summary>CUBLAS_COMPUTE_32F: float32 accumulation (tensor cores for bf16 inputs; IEEE float32, not TF32, for float32 inputs), alpha and beta as float.</summary>
    Float32 = 68,
}

/// <summary>cublasGemmAlgo_t.</summary>
internal enum CublasGemmAlgo
{
    /// <summary>CUBLAS_GEMM_DEFAULT: cuBLAS's heuristics choose.</summary>
    Default = -1,
}

/// <summary>cublasMath_t.</summary>
internal enum CublasMath
{
    /// <summary>CUBLAS_DEFAULT_MATH.</summary>
    Default = 0,
    /// <summary>CUBLAS_MATH_DISALLOW_REDUCED_PRECISION_REDUCTION: split-K partial sums stay float32, never rounded to bf16.</summary>
    DisallowReducedPrecisionReduction = 16,
}
