using System.Runtime.InteropServices;

namespace S3gd.Gpu.Cuda;

/// <summary>The driver entry points Muon's step uses beyond the elementwise step's.</summary>
internal static unsafe partial class CudaDriver
{
    [LibraryImport(Library)] internal static partial CUresult cuMemsetD32Async(ulong destination, uint value, nuint count, nint stream);
}
