using System.Reflection;
using System.Runtime.InteropServices;
using S3gd.Gpu.Adafactor;

namespace S3gd.Gpu.Kernels;

/// <summary>Adafactor's step on a kernel backend: <see cref="AdafactorKernels"/>' three kernels over one device table.</summary>
public abstract partial class KernelBackend
{
    /// <summary>The most blocks along x of the grid-stride kernels (a tensor's elements or factors beyond them loop).</summary>
    private const int MaxAdafactorBlocks = 1024;

    /// <inheritdoc />
    protected override AdafactorPlan PlanAdafactorInternal(AdafactorConfig config, IReadOnlyList<AdafactorTensor> tensors) =>
        new KernelAdafactorPlan(this, config, tensors);

    /// <summary>A plan's table (a row per tensor) and its tensors' float32 sums, one buffer each.</summary>
    private sealed class KernelAdafactorPlan : AdafactorPlan
    {
        private readonly KernelBackend backend;
        private readonly MethodInfo factors, norms, apply;
        private readonly DeviceBuffer table, sums;
        private readonly KernelGrid perElement, perTensor;

        public KernelAdafactorPlan(KernelBackend backend, AdafactorConfig config, IReadOnlyList<AdafactorTensor> tensors) : base(config, tensors)
        {
            this.backend = backend;
            var maths = backend.Maths(false);
            factors = Kernel(typeof(AdafactorKernels), nameof(AdafactorKernels.Factors), maths);
            norms = Kernel(typeof(AdafactorKernels), nameof(AdafactorKernels.Norms), maths);
            apply = Kernel(typeof(AdafactorKernels), nameof(AdafactorKernels.Apply), maths);
            var offsets = new long[tensors.Count];
            long words = 0;
            for (var i = 0; i < tensors.Count; i++)
            {
                offsets[i] = words;
                words += AdafactorMaths.SumsWords + (tensors[i].Factored ? tensors[i].Batches : 0);
            }
            sums = backend.Allocate(ElementType.Float32, Math.Max(1, words));
            var sumsAddress = backend.AddressOf(sums);
            var rows = tensors.Select((t, i) =>
            {
                var (sqrtNumel, sqrtNumelD) = AdafactorMaths.Sizes(t.Length, config.D);
                return new AdafactorRow
                {
                    Param = backend.AddressOf(t.Param),
                    Grad = backend.AddressOf(t.Grad),
                    RowVar = backend.AddressOf(t.Factored ? t.RowVar! : t.Variance!),
                    ColVar = backend.AddressOrZero(t.ColVar),
                    Sums = sumsAddress + (ulong)offsets[i] * sizeof(float),
                    Length = t.Length,
                    Batches = t.Factored ? t.Batches : 0,
                    Rows = t.Factored ? t.Rows : 0,
                    Cols = t.Factored ? t.Cols : 0,
                    Sizes = AdafactorRow.SizesOf(sqrtNumel, sqrtNumelD),
                };
            }).ToArray();
            try
            {
                (table, _) = backend.UploadTable(MemoryMarshal.AsBytes(rows.AsSpan()).ToArray());
            }
            catch
            {
                sums.Dispose();
                throw;
            }
            // A thread per element (Apply) or factor (Factors), whichever is more, for the largest tensor.
            var most = tensors.Select(t => Math.Max(t.Length, t.Factored ? t.Batches * (t.Rows + t.Cols) : 0)).DefaultIfEmpty(0).Max();
            var blocks = (int)Math.Clamp((most + AdafactorKernels.Threads - 1) / AdafactorKernels.Threads, 1, MaxAdafactorBlocks);
            perElement = new KernelGrid(blocks, tensors.Count, AdafactorKernels.Threads);
            perTensor = new KernelGrid(tensors.Count, 1, AdafactorKernels.Threads);
        }

        protected override void StepInternal(AdafactorScalars scalars)
        {
            if (Tensors.Count == 0) return;
            var args = new AdafactorArgs { Table = backend.AddressOf(table), Scalars = scalars };
            backend.Launch(factors, perElement, args);
            backend.Launch(norms, perTensor, args);
            backend.Launch(apply, perElement, args);
        }

        protected override void DisposeInternal()
        {
            table.Dispose();
            sums.Dispose();
        }
    }
}
