using System.Runtime.InteropServices;
using S3gd.Gpu.Muon;

namespace S3gd.Gpu.Kernels;

/// <summary>
/// What Muon's step and OAdamW's projection share on a kernel backend: a group's device state and its Newton–Schulz
/// iterations (<see cref="NsSchedule"/>'s GEMMs and copies), and the grid of the group's elementwise kernels
/// (<see cref="MuonKernels"/>).
/// </summary>
public abstract partial class KernelBackend
{
    /// <summary>Blocks of a group's elementwise launch over all its matrices, at most: enough to fill any GPU.</summary>
    private const int MaxGroupBlocks = 1024;

    /// <summary>
    /// Queues a strided-batched GEMM of <paramref name="count"/> matrices of <paramref name="precision"/>'s element type
    /// (bf16 or float32) with float32 accumulation, C = alpha op(A) op(B) + beta C with cuBLAS's column-major semantics
    /// (<paramref name="gemm"/>: shapes, flags, factors, strides) on the matrices at <paramref name="a"/>,
    /// <paramref name="b"/> and <paramref name="c"/>. By default the C# kernel <see cref="GemmKernel"/>; the CUDA backend
    /// calls cuBLAS.
    /// </summary>
    protected internal virtual void BatchedGemm(NsGemm gemm, NsPrecision precision, ulong a, ulong b, ulong c, int count)
    {
        var elements = (long)gemm.M * gemm.N;
        var blocks = (int)Math.Clamp((elements + GemmKernel.Threads - 1) / GemmKernel.Threads, 1, Math.Max(1, MaxGroupBlocks / count));
        var kernel = Kernel(typeof(GemmKernel), nameof(GemmKernel.Gemm), Ops, Maths(false), Operand(gemm.TransposeA), Operand(gemm.TransposeB),
            WorkType(precision));
        Launch(kernel, new KernelGrid(blocks, count, GemmKernel.Threads), new GemmArgs
        {
            A = a, B = b, C = c, StrideA = gemm.StrideA, StrideB = gemm.StrideB, StrideC = gemm.StrideC,
            M = gemm.M, N = gemm.N, K = gemm.K, Lda = gemm.Lda, Ldb = gemm.Ldb, Ldc = gemm.Ldc, Alpha = gemm.Alpha, Beta = gemm.Beta,
        });
    }

    /// <summary>The GEMM kernel's operand type for a transpose flag.</summary>
    private static Type Operand(bool transpose) => transpose ? typeof(Transposed) : typeof(AsStored);

    /// <summary>The kernels' work type (<see cref="INsWork"/>) of a precision.</summary>
    private static Type WorkType(NsPrecision precision) => precision == NsPrecision.Float32 ? typeof(NsFloat32) : typeof(NsBf16);

    /// <summary>The work matrices' element type of a precision.</summary>
    private static ElementType WorkElement(NsPrecision precision) => precision == NsPrecision.Float32 ? ElementType.Float32 : ElementType.BFloat16;

    /// <summary>The grid of a group's elementwise kernel: enough blocks per matrix for its elements, at most <see cref="MaxGroupBlocks"/> in all.</summary>
    private static KernelGrid GroupGrid(MuonGroup group) =>
        new((int)Math.Clamp((group.Elements + MuonKernels.Threads - 1) / MuonKernels.Threads, 1, Math.Max(1, MaxGroupBlocks / group.Indices.Count)),
            group.Indices.Count, MuonKernels.Threads);

    /// <summary>
    /// One group's device state: a table with one column of buffer addresses per entry of the columns given (one address
    /// per matrix), two work buffers of the group's matrices (X and the next X), two of its Gram matrices (A, then B),
    /// of the precision's element type, and the float32 sums of squares.
    /// </summary>
    private sealed class NsGroup : IDisposable
    {
        private readonly KernelBackend backend;
        private readonly DeviceBuffer table, work, next, gram, poly, sums;

        public NsGroup(KernelBackend backend, MuonGroup group, NsPrecision precision, IReadOnlyList<DeviceBuffer[]> columns)
        {
            this.backend = backend;
            Group = group;
            Precision = precision;
            var count = group.Indices.Count;
            var (buffer, addresses) = backend.UploadTable([.. columns.Select(c => MemoryMarshal.AsBytes(c.Select(backend.AddressOf).ToArray().AsSpan()).ToArray())]);
            table = buffer;
            Columns = addresses;
            var element = WorkElement(precision);
            work = backend.Allocate(element, count * group.Elements);
            next = backend.Allocate(element, count * group.Elements);
            gram = backend.Allocate(element, (long)count * group.Short * group.Short);
            poly = backend.Allocate(element, (long)count * group.Short * group.Short);
            sums = backend.Allocate(ElementType.Float32, count);
        }

        /// <summary>The group's matrices.</summary>
        public MuonGroup Group { get; }

        /// <summary>The arithmetic of the iterations: the work buffers' element type and the GEMMs'.</summary>
        public NsPrecision Precision { get; }

        /// <summary>The device address of each column of the table.</summary>
        public IReadOnlyList<ulong> Columns { get; }

        /// <summary>The work matrices, where the first kernel writes X.</summary>
        public ulong X => backend.AddressOf(work);

        /// <summary>The float32 sums of squares, one per matrix.</summary>
        public ulong Squares => backend.AddressOf(sums);

        /// <summary>The elementwise kernels' grid.</summary>
        public KernelGrid Grid => GroupGrid(Group);

        /// <summary>Queues zeroing the sums of squares.</summary>
        public void ClearSquares() =>
            backend.Launch(Kernel(typeof(MuonKernels), nameof(MuonKernels.Zero)), new KernelGrid(1, 1, MuonKernels.Threads),
                new ZeroArgs { Values = Squares, Length = Group.Indices.Count });

        /// <summary>Queues <see cref="NsSchedule"/>'s iterations over the whole group; returns the address of the result.</summary>
        public ulong Iterate(MuonConfig config)
        {
            var (ops, result) = NsSchedule.For(Group, config);
            foreach (var op in ops)
            {
                switch (op)
                {
                    case NsCopy copy:
                        var (from, to) = (Buffer(copy.From), Buffer(copy.To));
                        // The schedule copies whole buffers: X's and the Gram matrices' are sized for exactly the group.
                        if (copy.Elements != from.Length || from.Length != to.Length)
                            throw new InvalidOperationException($"{copy} does not copy a whole buffer of {from.Length} elements");
                        backend.CopyInternal(from, to);
                        break;
                    case NsGemm g:
                        backend.BatchedGemm(g, Precision, backend.AddressOf(Buffer(g.A)), backend.AddressOf(Buffer(g.B)), backend.AddressOf(Buffer(g.C)),
                            Group.Indices.Count);
                        break;
                }
            }
            return backend.AddressOf(Buffer(result));
        }

        public void Dispose()
        {
            foreach (var buffer in new[] { table, work, next, gram, poly, sums }) buffer.Dispose();
        }

        private DeviceBuffer Buffer(NsBuffer buffer) => buffer switch
        {
            NsBuffer.X => work,
            NsBuffer.Next => next,
            NsBuffer.Gram => gram,
            _ => poly,
        };
    }
}
