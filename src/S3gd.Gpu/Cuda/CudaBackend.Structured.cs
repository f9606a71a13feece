using System.Runtime.InteropServices;
using S3gd.Gpu.Structured;

namespace S3gd.Gpu.Cuda;

/// <summary>The CUDA backend's structured step: <c>structured.cu</c>'s reduce, finalize and update kernels on the backend's stream.</summary>
public sealed partial class CudaBackend
{
    /// <summary>The kernel source file of the structured rules.</summary>
    private const string StructuredSource = "structured.cu";

    /// <inheritdoc />
    protected override StructuredPlan PlanStructuredInternal(StructuredConfig config, IReadOnlyList<StructuredTensor> tensors, StructuredLaunch launch) =>
        new CudaStructuredPlan(this, config, tensors, launch);

    /// <summary>
    /// The device table of a plan, one buffer of 64-bit words: per tensor the ROW words of <c>structured.cu</c> (param,
    /// grad, m, v, compensation pointers, length, block length, decays, an fp8 moment's block words and slots), then per
    /// segment and per group four words; beside it the partial sums, the groups' scalars and (with telemetry)
    /// <see cref="StructuredTelemetry.Words"/> counters per tensor.
    /// </summary>
    private sealed class CudaStructuredPlan : StructuredPlan
    {
        /// <summary>Words per tensor row (ROW).</summary>
        private const int RowWords = 10;

        /// <summary>Words per segment and per group (SEG_WORDS, GROUP_WORDS).</summary>
        private const int EntryWords = 4;

        private readonly CudaBackend backend;
        private readonly CudaKernel reduce, finalize, update, whole;
        private readonly DeviceBuffer table, partials, groupOut;
        private readonly DeviceBuffer? telemetry;
        private readonly ulong rows, segments, groups;

        public CudaStructuredPlan(CudaBackend backend, StructuredConfig config, IReadOnlyList<StructuredTensor> tensors, StructuredLaunch launch)
            : base(config, tensors)
        {
            this.backend = backend;
            IReadOnlyList<string> defines = [.. config.Defines(), .. launch.Defines()];
            reduce = backend.GetKernel(StructuredSource, "structured_reduce", defines);
            finalize = backend.GetKernel(StructuredSource, "structured_finalize", defines);
            update = backend.GetKernel(StructuredSource, "structured_update", defines);
            whole = backend.GetKernel(StructuredSource, "structured_whole", defines);
            var words = new List<ulong>();
            foreach (var t in tensors)
            {
                words.Add(Pointer(t.Param));
                words.Add(Pointer(t.Grad));
                words.Add(Pointer(t.Moment));
                words.Add(Pointer(t.SecondMoment));
                words.Add(Pointer(t.Compensation));
                words.Add((ulong)t.Param.Length);
                words.Add((ulong)(config.Rule == StructuredRule.StableAdamW ? t.Param.Length : t.BlockLength));
                words.Add(t.Decays ? 1ul : 0ul);
                words.Add(Pointer(t.Fallback?.Scales));
                words.Add(Pointer(t.Fallback?.Pool));
            }
            var l = Layout;
            for (var s = 0; s < l.Segments; s++)
                words.AddRange([(ulong)l.SegmentTensor[s], (ulong)l.SegmentGroup[s], (ulong)l.SegmentStart[s], (ulong)l.SegmentCount[s]]);
            for (var q = 0; q < l.Groups; q++)
                words.AddRange([(ulong)l.GroupTensor[q], (ulong)l.GroupLocal[q], (ulong)l.GroupFirstSegment[q], (ulong)l.GroupSegments[q]]);
            // The table buffer is typed float32 and holds raw 64-bit words, two float32 slots each.
            table = backend.Allocate(ElementType.Float32, Math.Max(1, 2 * words.Count));
            if (words.Count > 0) backend.Upload<uint>(table, MemoryMarshal.Cast<ulong, uint>(words.ToArray().AsSpan()));
            rows = ((CudaBuffer)table).Pointer;
            segments = rows + (ulong)(tensors.Count * RowWords * sizeof(ulong));
            groups = segments + (ulong)(l.Segments * EntryWords * sizeof(ulong));
            partials = backend.Allocate(ElementType.Float32, Math.Max(1, l.Segments));
            groupOut = backend.Allocate(ElementType.Float32, Math.Max(1, 2 * l.Groups));
            if (config.Telemetry)
            {
                telemetry = backend.Allocate(ElementType.Float32, Math.Max(1, StructuredTelemetry.Words * tensors.Count));
                backend.Upload<uint>(telemetry, new uint[telemetry.Length]);
            }
        }

        protected override unsafe void StepInternal(StructuredScalars scalars)
        {
            var l = Layout;
            if (l.Segments == 0) return;
            var (r, s, q, segmentCount, count) = (rows, segments, groups, l.SplitSegments, l.SplitGroups);
            var (wholeSegments, wholeCount) = (segments + (ulong)(l.SplitSegments * EntryWords * sizeof(ulong)), l.Segments - l.SplitSegments);
            var (sums, outs, counters) = (((CudaBuffer)partials).Pointer, ((CudaBuffer)groupOut).Pointer, telemetry is null ? 0ul : ((CudaBuffer)telemetry).Pointer);
            backend.context.MakeCurrent();
            // One warp per segment (reduce, update, whole) and per group (finalize); split groups first, then whole ones.
            const int warps = StructuredLayout.SegmentsPerBlock;
            if (segmentCount > 0)
            {
                var segmentBlocks = (uint)((segmentCount + warps - 1) / warps);
                void** reduceArguments = stackalloc void*[] { &r, &s, &segmentCount, &scalars, &sums };
                reduce.Launch(backend.stream, segmentBlocks, StructuredLayout.Threads, reduceArguments);
                void** finalizeArguments = stackalloc void*[] { &r, &q, &count, &sums, &scalars, &outs };
                finalize.Launch(backend.stream, (uint)((count + warps - 1) / warps), StructuredLayout.Threads, finalizeArguments);
                void** updateArguments = stackalloc void*[] { &r, &s, &segmentCount, &outs, &scalars, &counters };
                update.Launch(backend.stream, segmentBlocks, StructuredLayout.Threads, updateArguments);
            }
            if (wholeCount > 0)
            {
                void** wholeArguments = stackalloc void*[] { &r, &wholeSegments, &wholeCount, &scalars, &counters };
                whole.Launch(backend.stream, (uint)((wholeCount + warps - 1) / warps), StructuredLayout.Threads, wholeArguments);
            }
        }

        protected override IReadOnlyList<StructuredTelemetry> ReadTelemetryInternal()
        {
            var counters = backend.Download<uint>(telemetry!);
            backend.Upload<uint>(telemetry!, new uint[counters.Length]);
            return Enumerable.Range(0, Tensors.Count).Select(t => StructuredTelemetry.Read(counters, t)).ToArray();
        }

        protected override void DisposeInternal()
        {
            table.Dispose();
            partials.Dispose();
            groupOut.Dispose();
            telemetry?.Dispose();
        }

        private static ulong Pointer(DeviceBuffer? buffer) => buffer is null ? 0 : ((CudaBuffer)buffer).Pointer;
    }
}
