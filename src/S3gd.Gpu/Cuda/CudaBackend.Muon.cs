using System.Runtime.InteropServices;
using S3gd.Gpu.Muon;
using static S3gd.Gpu.Cuda.CudaDriver;

namespace S3gd.Gpu.Cuda;

/// <summary>
/// The CUDA backend's Muon step: per group of same-shape matrices, the momentum and bf16 rounding (muon.cu), the
/// normalisation, then each Newton–Schulz iteration as three cuBLAS strided-batched bf16 GEMMs with float32 accumulation
/// over the whole group, then the parameter update. Everything is queued on the backend's stream.
/// </summary>
public sealed partial class CudaBackend
{
    /// <summary>The kernel source file of Muon's elementwise parts.</summary>
    private const string MuonSource = "muon.cu";

    private readonly Lock cublasLock = new();
    private nint cublasHandle;

    /// <inheritdoc />
    protected override MuonPlan PlanMuonInternal(MuonConfig config, IReadOnlyList<MuonTensor> tensors) => new CudaMuonPlan(this, config, tensors);

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
                Cuda.Cublas.ThrowIfFailed(Cuda.Cublas.cublasCreate(out handle));
            }
            catch (DllNotFoundException e)
            {
                throw new InvalidOperationException(
                    $"cuBLAS could not be loaded (searched {NativeLibraries.CublasSearched}; set {NativeLibraries.CublasPathVariable})", e);
            }
            // cudaStream_t and CUstream are the same handle.
            Cuda.Cublas.ThrowIfFailed(Cuda.Cublas.cublasSetStream(handle, stream.Handle));
            // Split-K partial sums stay float32: the spec accumulates every product in float32 and rounds once.
            Cuda.Cublas.ThrowIfFailed(Cuda.Cublas.cublasSetMathMode(handle, CublasMath.DisallowReducedPrecisionReduction));
            return cublasHandle = handle;
        }
    }

    /// <summary>Destroys the cuBLAS handle if one was made (called on dispose, the context current).</summary>
    private void DisposeCublas()
    {
        if (cublasHandle == 0) return;
        Cuda.Cublas.ThrowIfFailed(Cuda.Cublas.cublasDestroy(cublasHandle));
        cublasHandle = 0;
    }

    /// <summary>
    /// A plan's device state: per group a table of the matrices' gradient, momentum and parameter addresses, two bf16
    /// work buffers of the group's matrices (X and the next X), two of its Gram matrices (A, then B), and the sums of squares.
    /// </summary>
    private sealed class CudaMuonPlan : MuonPlan
    {
        private readonly CudaBackend backend;
        private readonly CudaKernel momentum, normalise, update;
        private readonly GroupBuffers[] groups;

        public CudaMuonPlan(CudaBackend backend, MuonConfig config, IReadOnlyList<MuonTensor> tensors) : base(config, tensors)
        {
            this.backend = backend;
            string[] defines = [$"-DNESTEROV={(config.Nesterov ? 1 : 0)}"];
            momentum = backend.GetKernel(MuonSource, "muon_momentum", defines);
            normalise = backend.GetKernel(MuonSource, "muon_normalise", defines);
            update = backend.GetKernel(MuonSource, "muon_update", defines);
            backend.CublasHandle();
            groups = Groups.Select(g => new GroupBuffers(backend, g,
                [g.Indices.Select(i => tensors[i].Grad).ToArray(), g.Indices.Select(i => tensors[i].MomentumBuffer).ToArray(),
                 g.Indices.Select(i => tensors[i].Param).ToArray()])).ToArray();
        }

        protected override void StepInternal(double lr)
        {
            var handle = backend.CublasHandle();
            backend.context.MakeCurrent();
            foreach (var g in groups) StepGroup(g, handle, lr);
        }

        /// <summary>Queues one group's step: momentum, normalisation, the iterations, the update.</summary>
        private unsafe void StepGroup(GroupBuffers g, nint handle, double lr)
        {
            var decay = DecayFactor(lr);
            var toGrad = (float)(1.0 - Config.Momentum);
            var weight = (float)Config.Momentum;
            var eps = (float)Config.Eps;
            var group = g.Group;
            var n = group.Elements;
            var count = (uint)group.Indices.Count;
            var blocks = backend.GroupBlocks(n, count);
            var (grads, buffers, parameters, x, squares) = (g.Column(0), g.Column(1), g.Column(2), g.X, g.Squares);
            ThrowIfFailed(cuMemsetD32Async(squares, 0, count, backend.stream.Handle));
            void** m = stackalloc void*[] { &grads, &buffers, &x, &squares, &n, &toGrad, &weight };
            momentum.Launch(backend.stream, blocks, count, ThreadsPerBlock, m);
            void** s = stackalloc void*[] { &x, &squares, &n, &eps };
            normalise.Launch(backend.stream, blocks, count, ThreadsPerBlock, s);
            var result = g.Iterate(handle, Config);
            var adjusted = (float)Config.AdjustedLr(lr, group.Rows, group.Cols);
            void** u = stackalloc void*[] { &parameters, &result, &n, &decay, &adjusted };
            update.Launch(backend.stream, blocks, count, ThreadsPerBlock, u);
        }

        protected override void DisposeInternal()
        {
            foreach (var g in groups) g.Dispose();
        }
    }

    /// <summary>One group's table and work buffers, and its Newton–Schulz iterations through cuBLAS.</summary>
    private sealed class GroupBuffers : IDisposable
    {
        private readonly CudaBackend backend;
        private readonly DeviceBuffer table, work, next, gram, poly, sums;
        private readonly int count;

        /// <summary>Prepares a group whose table holds one column of buffer addresses per entry of <paramref name="columns"/>.</summary>
        public GroupBuffers(CudaBackend backend, MuonGroup group, IReadOnlyList<DeviceBuffer[]> columns)
        {
            this.backend = backend;
            Group = group;
            count = group.Indices.Count;
            var words = columns.SelectMany(c => c.Select(Address)).ToArray();
            // The table buffer is typed float32 and holds the raw 64-bit addresses: two 32-bit words each.
            table = backend.Allocate(ElementType.Float32, 2L * words.Length);
            backend.Upload<uint>(table, MemoryMarshal.Cast<ulong, uint>(words.AsSpan()));
            work = backend.Allocate(ElementType.BFloat16, count * group.Elements);
            next = backend.Allocate(ElementType.BFloat16, count * group.Elements);
            gram = backend.Allocate(ElementType.BFloat16, (long)count * group.Short * group.Short);
            poly = backend.Allocate(ElementType.BFloat16, (long)count * group.Short * group.Short);
            sums = backend.Allocate(ElementType.Float32, count);
        }

        public MuonGroup Group { get; }

        /// <summary>The device address of the table's column <paramref name="k"/>: one buffer address per matrix.</summary>
        public ulong Column(int k) => Address(table) + (ulong)(k * count * sizeof(ulong));

        /// <summary>The bf16 work matrices, where the momentum kernel writes X.</summary>
        public ulong X => Address(work);

        /// <summary>The float32 sums of squares, one per matrix.</summary>
        public ulong Squares => Address(sums);

        /// <summary>Runs <see cref="NsSchedule"/>'s iterations over the whole group; returns the address of the result.</summary>
        public unsafe ulong Iterate(nint handle, MuonConfig config)
        {
            var (ops, result) = NsSchedule.For(Group, config);
            foreach (var op in ops)
            {
                switch (op)
                {
                    case NsCopy copy:
                        backend.CopyAsync(Address(copy.From), Address(copy.To), copy.Elements * sizeof(ushort));
                        break;
                    case NsGemm g:
                        var (alpha, beta) = (g.Alpha, g.Beta);
                        Cuda.Cublas.ThrowIfFailed(Cuda.Cublas.cublasGemmStridedBatchedEx(handle, Operation(g.TransposeA), Operation(g.TransposeB),
                            g.M, g.N, g.K, &alpha, Address(g.A), CudaDataType.BFloat16, g.Lda, g.StrideA, Address(g.B), CudaDataType.BFloat16,
                            g.Ldb, g.StrideB, &beta, Address(g.C), CudaDataType.BFloat16, g.Ldc, g.StrideC, Group.Indices.Count,
                            CublasComputeType.Float32, CublasGemmAlgo.Default));
                        break;
                }
            }
            return Address(result);
        }

        private static CublasOperation Operation(bool transpose) => transpose ? CublasOperation.Transpose : CublasOperation.None;

        private ulong Address(NsBuffer buffer) => Address(buffer switch
        {
            NsBuffer.X => work,
            NsBuffer.Next => next,
            NsBuffer.Gram => gram,
            _ => poly,
        });

        public void Dispose()
        {
            foreach (var buffer in new[] { table, work, next, gram, poly, sums }) buffer.Dispose();
        }

        private static ulong Address(DeviceBuffer buffer) => ((CudaBuffer)buffer).Pointer;
    }

    /// <summary>
    /// Blocks per matrix of a group's elementwise launch (muon.cu's grid-stride loops): enough for its elements, at most
    /// <see cref="BlocksPerMultiprocessor"/> per SM over the whole group.
    /// </summary>
    private uint GroupBlocks(long elements, uint matrices) =>
        (uint)Math.Clamp((elements + ThreadsPerBlock - 1) / ThreadsPerBlock, 1,
            Math.Max(1, Info.MultiprocessorCount * BlocksPerMultiprocessor / (int)matrices));

    /// <summary>Queues a device-to-device copy of <paramref name="bytes"/> bytes on the stream.</summary>
    private void CopyAsync(ulong source, ulong destination, long bytes) =>
        ThrowIfFailed(cuMemcpyDtoDAsync(destination, source, (nuint)bytes, stream.Handle));
}
