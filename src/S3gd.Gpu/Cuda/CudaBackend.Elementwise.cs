using System.Runtime.InteropServices;
using S3gd.Gpu.Elementwise;
using static S3gd.Gpu.Cuda.CudaDriver;

namespace S3gd.Gpu.Cuda;

/// <summary>The CUDA backend's elementwise step: <c>elementwise.cu</c> specialised for the configuration, one launch per step.</summary>
public sealed partial class CudaBackend
{
    /// <summary>The kernel source file of the elementwise rules.</summary>
    private const string ElementwiseSource = "elementwise.cu";

    /// <inheritdoc />
    protected override ElementwisePlan PlanElementwiseInternal(
        ElementwiseConfig config, IReadOnlyList<ElementwiseTensor> tensors, DeviceBuffer? foundInf, ElementwiseLaunch launch) =>
        new CudaElementwisePlan(this, config, tensors, foundInf, launch);

    /// <inheritdoc />
    protected override void CopyInternal(DeviceBuffer source, DeviceBuffer destination)
    {
        if (source.SizeInBytes == 0) return;
        context.MakeCurrent();
        ThrowIfFailed(cuMemcpyDtoDAsync(((CudaBuffer)destination).Pointer, ((CudaBuffer)source).Pointer, (nuint)source.SizeInBytes, stream.Handle));
    }

    /// <summary>
    /// The device table of a plan, in one float32-typed buffer of raw words: per tensor SLOTS pointers, then the lengths,
    /// the first chunks (64-bit each) and each chunk's tensor (32-bit), as the kernel's parameters point into it.
    /// </summary>
    private sealed class CudaElementwisePlan : ElementwisePlan
    {
        private readonly CudaBackend backend;
        private readonly CudaKernel kernel;
        private readonly DeviceBuffer table;
        private readonly ulong rows, lengths, firstChunks, chunkTensors, foundInf;
        private readonly uint sharedBytes;

        public CudaElementwisePlan(
            CudaBackend backend, ElementwiseConfig config, IReadOnlyList<ElementwiseTensor> tensors, DeviceBuffer? foundInf, ElementwiseLaunch launch)
            : base(config, tensors, launch.Chunk)
        {
            this.backend = backend;
            sharedBytes = (uint)launch.SharedBytes;
            kernel = backend.GetKernel(ElementwiseSource, "elementwise_step", [.. config.Defines(), .. launch.Defines()]);
            var n = tensors.Count;
            var words = new List<ulong>(n * (ElementwiseLayout.Slots + 2));
            foreach (var t in tensors)
            {
                words.Add(Pointer(t.Param));
                words.Add(Pointer(t.Grad));
                for (var k = 0; k < 3; k++) words.Add(Pointer(t.States[k]));
                for (var k = 0; k < 3; k++) words.Add(Pointer(t.Scales[k]));
                words.Add(Pointer(t.Compensation));
            }
            words.AddRange(Chunks.Lengths.Select(l => (ulong)l));
            words.AddRange(Chunks.FirstChunk.Select(c => (ulong)c));
            var bytes = new byte[words.Count * sizeof(ulong) + Chunks.Count * sizeof(int)];
            MemoryMarshal.Cast<ulong, byte>(words.ToArray()).CopyTo(bytes);
            MemoryMarshal.Cast<int, byte>(Chunks.ChunkTensor).CopyTo(bytes.AsSpan(words.Count * sizeof(ulong)));
            // Pad to whole float32 words: the table buffer is typed float32 and holds raw bits.
            var padded = new uint[(bytes.Length + 3) / 4];
            Buffer.BlockCopy(bytes, 0, padded, 0, bytes.Length);
            table = backend.Allocate(ElementType.Float32, Math.Max(1, padded.Length));
            if (padded.Length > 0) backend.Upload<uint>(table, padded);
            var baseAddress = ((CudaBuffer)table).Pointer;
            rows = baseAddress;
            lengths = rows + (ulong)(n * ElementwiseLayout.Slots * sizeof(ulong));
            firstChunks = lengths + (ulong)(n * sizeof(ulong));
            chunkTensors = firstChunks + (ulong)(n * sizeof(ulong));
            this.foundInf = foundInf is null ? 0 : ((CudaBuffer)foundInf).Pointer;
        }

        protected override unsafe void StepInternal(StepScalars scalars)
        {
            if (Chunks.Count == 0) return;
            var (r, l, f, c, inf) = (rows, lengths, firstChunks, chunkTensors, foundInf);
            void** arguments = stackalloc void*[] { &r, &l, &f, &c, &scalars, &inf };
            backend.context.MakeCurrent();
            kernel.Launch(backend.stream, (uint)Chunks.Count, ElementwiseLayout.Threads, arguments, sharedBytes);
        }

        protected override void DisposeInternal() => table.Dispose();

        private static ulong Pointer(DeviceBuffer? buffer) => buffer is null ? 0 : ((CudaBuffer)buffer).Pointer;
    }
}
