using System.Reflection;
using System.Runtime.InteropServices;
using S3gd.Gpu.Elementwise;
using S3gd.Spec.Formats;

namespace S3gd.Gpu.Kernels;

/// <summary>The elementwise step on a kernel backend: <see cref="ElementwiseKernel"/> specialised for the configuration, one launch per step.</summary>
public abstract partial class KernelBackend
{
    /// <inheritdoc />
    protected override ElementwisePlan PlanElementwiseInternal(
        ElementwiseConfig config, IReadOnlyList<ElementwiseTensor> tensors, DeviceBuffer? foundInf, ElementwiseLaunch launch) =>
        new KernelElementwisePlan(this, config, tensors, foundInf, launch);

    /// <summary>
    /// The elementwise kernel for a configuration and a launch layout, with the given accelerator operations and maths, for
    /// tensors of whole groups only (<see cref="ElementwiseRow.Whole"/>) or any.
    /// </summary>
    internal static MethodInfo ElementwiseKernelFor(ElementwiseConfig config, ElementwiseLaunch launch, Type ops, Type maths, bool whole) =>
        Kernel(typeof(ElementwiseKernel), nameof(ElementwiseKernel.Step),
            ops, maths, config.RuleType, config.PrepType, FormatType(config.Param), FormatType(config.Grad),
            StateType(config.States[0]), StateType(config.States[1]), StateType(config.States[2]), UpdateType(config.ParamUpdate),
            launch.Unroll switch { 2 => typeof(Unroll2), 4 => typeof(Unroll4), _ => typeof(Unroll1) },
            whole ? typeof(WholeGroups) : typeof(AnyGroups));

    /// <summary>The kernel format of a parameter or gradient: fp32 or bf16.</summary>
    internal static Type FormatType(StorageFormat format) => format.IsBf16 ? typeof(Bf16Format) : typeof(Fp32Format);

    /// <summary>The kernel format of a state slot (none, fp32, bf16, fp8 plain or block-scaled).</summary>
    internal static Type StateType(StateFormat? state)
    {
        if (state is not { } s) return typeof(NoFormat);
        if (!s.IsFp8) return FormatType(s.Storage);
        var codec = s.Format == ElementType.Fp8E4M3 ? typeof(E4M3) : typeof(E5M2);
        return (s.BlockScaled ? typeof(ScaledFp8Format<>) : typeof(Fp8Format<>)).MakeGenericType(codec);
    }

    /// <summary>The kernel's parameter update.</summary>
    internal static Type UpdateType(ParamUpdate update) => update switch
    {
        ParamUpdate.Kahan => typeof(KahanUpdate),
        ParamUpdate.Stochastic => typeof(StochasticUpdate),
        _ => typeof(NearestUpdate),
    };

    /// <summary>A plan's device table (a row per tensor, a tensor per chunk) and its kernel.</summary>
    private sealed class KernelElementwisePlan : ElementwisePlan
    {
        private readonly KernelBackend backend;
        private readonly MethodInfo kernel;
        private readonly DeviceBuffer table;
        private readonly ElementwiseArgs args;
        private readonly ElementwiseLaunch launch;

        public KernelElementwisePlan(
            KernelBackend backend, ElementwiseConfig config, IReadOnlyList<ElementwiseTensor> tensors, DeviceBuffer? foundInf, ElementwiseLaunch launch)
            : base(config, tensors, launch.Chunk)
        {
            this.backend = backend;
            this.launch = launch;
            var rows = new ElementwiseRow[tensors.Count];
            for (var i = 0; i < rows.Length; i++)
            {
                var t = tensors[i];
                rows[i] = new ElementwiseRow
                {
                    Param = backend.AddressOf(t.Param),
                    Grad = backend.AddressOf(t.Grad),
                    State0 = backend.AddressOrZero(t.States[0]),
                    State1 = backend.AddressOrZero(t.States[1]),
                    State2 = backend.AddressOrZero(t.States[2]),
                    Scales0 = backend.AddressOrZero(t.Scales[0]),
                    Scales1 = backend.AddressOrZero(t.Scales[1]),
                    Scales2 = backend.AddressOrZero(t.Scales[2]),
                    Compensation = backend.AddressOrZero(t.Compensation),
                    Length = Chunks.Lengths[i],
                    FirstChunk = Chunks.FirstChunk[i],
                };
            }
            kernel = ElementwiseKernelFor(config, launch, backend.Ops, backend.Maths(config.MathBf16), rows.All(r => r.Whole));
            var (buffer, addresses) = backend.UploadTable(MemoryMarshal.AsBytes(rows.AsSpan()).ToArray(), MemoryMarshal.AsBytes(Chunks.ChunkTensor.AsSpan()).ToArray());
            table = buffer;
            args = new ElementwiseArgs
            {
                Rows = addresses[0],
                ChunkTensors = addresses[1],
                FoundInf = backend.AddressOrZero(foundInf),
                Single = rows.Length == 1 ? rows[0] : default,
            };
        }

        protected override void StepInternal(StepScalars scalars)
        {
            if (Chunks.Count == 0) return;
            var a = args;
            a.Scalars = scalars;
            backend.Launch(kernel, new KernelGrid(Chunks.Count, 1, ElementwiseKernel.Threads, launch.SharedBytes, launch.MinBlocks), a);
        }

        protected override void DisposeInternal() => table.Dispose();
    }
}
