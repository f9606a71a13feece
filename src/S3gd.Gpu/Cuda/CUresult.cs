namespace S3gd.Gpu.Cuda;

/// <summary>Status codes of the CUDA driver API (cuda.h <c>CUresult</c>); names of others come from <c>cuGetErrorName</c>.</summary>
internal enum CUresult
{
    /// <summary>CUDA_SUCCESS.</summary>
    Success = 0,
    /// <summary>CUDA_ERROR_INVALID_VALUE.</summary>
    InvalidValue = 1,
    /// <summary>CUDA_ERROR_OUT_OF_MEMORY.</summary>
    OutOfMemory = 2,
    /// <summary>CUDA_ERROR_NOT_INITIALIZED.</summary>
    NotInitialized = 3,
    /// <summary>CUDA_ERROR_NO_DEVICE.</summary>
    NoDevice = 100,
    /// <summary>CUDA_ERROR_INVALID_DEVICE.</summary>
    InvalidDevice = 101,
}

/// <summary>Device attributes read with <c>cuDeviceGetAttribute</c> (cuda.h <c>CUdevice_attribute</c>).</summary>
internal enum CUdevice_attribute
{
    /// <summary>CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT.</summary>
    MultiprocessorCount = 16,
    /// <summary>CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR.</summary>
    ComputeCapabilityMajor = 75,
    /// <summary>CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR.</summary>
    ComputeCapabilityMinor = 76,
}

/// <summary>Options of the driver's JIT (cuda.h <c>CUjit_option</c>).</summary>
internal enum CUjit_option
{
    /// <summary>CU_JIT_MAX_REGISTERS: the most registers a thread may use.</summary>
    MaxRegisters = 0,
    /// <summary>CU_JIT_ERROR_LOG_BUFFER: where the JIT writes its error log.</summary>
    ErrorLogBuffer = 5,
    /// <summary>CU_JIT_ERROR_LOG_BUFFER_SIZE_BYTES: the error log's size in bytes.</summary>
    ErrorLogBufferSizeBytes = 6,
}
