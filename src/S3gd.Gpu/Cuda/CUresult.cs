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

/// <summary>Status codes of NVRTC (nvrtc.h <c>nvrtcResult</c>); names come from <c>nvrtcGetErrorString</c>.</summary>
internal enum NvrtcResult
{
    /// <summary>NVRTC_SUCCESS.</summary>
    Success = 0,
    /// <summary>NVRTC_ERROR_COMPILATION.</summary>
    Compilation = 6,
}
