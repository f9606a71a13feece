using System.Runtime.InteropServices;

namespace S3gd.Gpu.Cuda;

/// <summary>The raw CUDA driver API imports (libcuda.so.1), each returning its <see cref="CUresult"/>.</summary>
internal static unsafe partial class CudaDriver
{
    /// <summary>The driver library's file name.</summary>
    internal const string Library = "libcuda.so.1";

    [LibraryImport(Library)] internal static partial CUresult cuInit(uint flags);
    [LibraryImport(Library)] internal static partial CUresult cuDriverGetVersion(out int version);
    [LibraryImport(Library)] internal static partial CUresult cuGetErrorName(CUresult error, out nint name);
    [LibraryImport(Library)] internal static partial CUresult cuGetErrorString(CUresult error, out nint text);
    [LibraryImport(Library)] internal static partial CUresult cuDeviceGetCount(out int count);
    [LibraryImport(Library)] internal static partial CUresult cuDeviceGet(out int device, int ordinal);
    [LibraryImport(Library)] internal static partial CUresult cuDeviceGetName(byte* name, int length, int device);
    [LibraryImport(Library)] internal static partial CUresult cuDeviceGetAttribute(out int value, CUdevice_attribute attribute, int device);
    [LibraryImport(Library, EntryPoint = "cuDeviceTotalMem_v2")] internal static partial CUresult cuDeviceTotalMem(out nuint bytes, int device);
    [LibraryImport(Library)] internal static partial CUresult cuDevicePrimaryCtxRetain(out nint context, int device);
    [LibraryImport(Library, EntryPoint = "cuDevicePrimaryCtxRelease_v2")] internal static partial CUresult cuDevicePrimaryCtxRelease(int device);
    [LibraryImport(Library)] internal static partial CUresult cuCtxSetCurrent(nint context);
    [LibraryImport(Library, EntryPoint = "cuMemGetInfo_v2")] internal static partial CUresult cuMemGetInfo(out nuint free, out nuint total);
    [LibraryImport(Library, EntryPoint = "cuMemAlloc_v2")] internal static partial CUresult cuMemAlloc(out ulong pointer, nuint bytes);
    [LibraryImport(Library, EntryPoint = "cuMemFree_v2")] internal static partial CUresult cuMemFree(ulong pointer);
    [LibraryImport(Library)] internal static partial CUresult cuMemHostAlloc(out nint pointer, nuint bytes, uint flags);
    [LibraryImport(Library)] internal static partial CUresult cuMemFreeHost(nint pointer);
    [LibraryImport(Library, EntryPoint = "cuMemcpyHtoDAsync_v2")] internal static partial CUresult cuMemcpyHtoDAsync(ulong destination, void* source, nuint bytes, nint stream);
    [LibraryImport(Library, EntryPoint = "cuMemcpyDtoHAsync_v2")] internal static partial CUresult cuMemcpyDtoHAsync(void* destination, ulong source, nuint bytes, nint stream);
    [LibraryImport(Library)] internal static partial CUresult cuStreamCreate(out nint stream, uint flags);
    [LibraryImport(Library, EntryPoint = "cuStreamDestroy_v2")] internal static partial CUresult cuStreamDestroy(nint stream);
    [LibraryImport(Library)] internal static partial CUresult cuStreamSynchronize(nint stream);
    [LibraryImport(Library)] internal static partial CUresult cuEventCreate(out nint evt, uint flags);
    [LibraryImport(Library, EntryPoint = "cuEventDestroy_v2")] internal static partial CUresult cuEventDestroy(nint evt);
    [LibraryImport(Library)] internal static partial CUresult cuEventRecord(nint evt, nint stream);
    [LibraryImport(Library)] internal static partial CUresult cuEventSynchronize(nint evt);
    [LibraryImport(Library)] internal static partial CUresult cuEventElapsedTime(out float milliseconds, nint start, nint end);
    [LibraryImport(Library)] internal static partial CUresult cuModuleLoadData(out nint module, void* image);
    [LibraryImport(Library)] internal static partial CUresult cuModuleLoadDataEx(out nint module, void* image, uint count, CUjit_option* options, void** values);
    [LibraryImport(Library)] internal static partial CUresult cuModuleUnload(nint module);
    [LibraryImport(Library, StringMarshalling = StringMarshalling.Utf8)] internal static partial CUresult cuModuleGetFunction(out nint function, nint module, string name);
    [LibraryImport(Library)]
    internal static partial CUresult cuLaunchKernel(nint function, uint gridX, uint gridY, uint gridZ, uint blockX, uint blockY, uint blockZ,
        uint sharedMemBytes, nint stream, void** kernelParams, void** extra);
}
