namespace S3gd.Gpu.Cuda;

/// <summary>A CUDA driver or cuBLAS call failed.</summary>
public sealed class CudaException : Exception
{
    /// <summary>Creates the exception for a failed call.</summary>
    public CudaException(string call, int status, string errorName, string description)
        : base($"{call} failed: {errorName} ({status}){(description.Length > 0 ? ": " + description : "")}")
    {
        Call = call;
        Status = status;
        ErrorName = errorName;
    }

    /// <summary>The call that failed, as written in the source.</summary>
    public string Call { get; }

    /// <summary>The numeric status the call returned.</summary>
    public int Status { get; }

    /// <summary>The status's name, e.g. CUDA_ERROR_OUT_OF_MEMORY.</summary>
    public string ErrorName { get; }
}
