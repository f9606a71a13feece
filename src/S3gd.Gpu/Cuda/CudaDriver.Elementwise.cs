using System.Runtime.InteropServices;

namespace S3gd.Gpu.Cuda;

/// <summary>The driver entry points the elementwise step and its benchmark use beyond the runtime's.</summary>
internal static unsafe partial class CudaDriver
{
    [LibraryImport(Library, EntryPoint = "cuMemcpyDtoDAsync_v2")] internal static partial CUresult cuMemcpyDtoDAsync(ulong destination, ulong source, nuint bytes, nint stream);
}
