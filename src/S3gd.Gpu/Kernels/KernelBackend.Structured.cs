using System.Reflection;
using System.Runtime.InteropServices;
using S3gd.Gpu.Maths;
using S3gd.Gpu.Structured;

namespace S3gd.Gpu.Kernels;

/// <summary>The structured steps on a kernel backend: <see cref="StructuredKernels"/> specialised for the configuration and the launch layout.</summary>
public abstract partial class KernelBackend
{
    /// <inheritdoc />
    protected override StructuredPlan PlanStructuredInternal(StructuredConfig config, IReadOnlyList<StructuredTensor> tensors, StructuredLaunch launch) =>
        new KernelStructuredPlan(this, config, tensors, launch);

    /// <summary>
    /// The structured kernel <paramref name="name"/> (<see cref="StructuredKernels.Finalize"/>, <see cref="StructuredKernels.Update"/>
    /// or <see cref="StructuredKernels.Whole"/>) for a configuration and a launch layout
    /// (the runs in flight of the warp kernels, Update and Whole), with the given accelerator operations and maths.
    /// </summary>
    internal static MethodInfo StructuredKernelFor(string name, StructuredConfig config, StructuredLaunch launch, Type ops, Type maths)
    {
        var runs = launch.Unroll switch
        {
            1 => typeof(OneRun),
            2 => typeof(TwoRuns),
            _ => typeof(FourRuns),
        };
        return name switch
        {
            nameof(StructuredKernels.Finalize) => Kernel(typeof(StructuredKernels), name, maths, config.RuleType),
            _ => Kernel(typeof(StructuredKernels), name, [.. UpdateArguments(config, ops, maths), runs]),
        };
    }

    /// <summary>
    /// <see cref="StructuredKernels.Reduce"/> for a configuration with the given accelerator operations and maths, for
    /// segments of <paramref name="whole"/> runs only (<see cref="WholeGroups"/>) or any.
    /// </summary>
    internal static MethodInfo ReduceKernelFor(StructuredConfig config, bool whole, Type ops, Type maths) =>
        Kernel(typeof(StructuredKernels), nameof(StructuredKernels.Reduce), ops, maths, config.RuleType, FormatType(config.Grad),
            SecondType(config), Shape(whole));

    /// <summary>
    /// <see cref="StructuredKernels.WholeBlock"/> for a configuration in blocks of <paramref name="warps"/> warps
    /// (<see cref="EightWarps"/> or <see cref="SixWarps"/>), with the given accelerator operations and maths.
    /// </summary>
    internal static MethodInfo WholeBlockKernelFor(StructuredConfig config, Type ops, Type maths, Type warps) =>
        Kernel(typeof(StructuredKernels), nameof(StructuredKernels.WholeBlock), [.. UpdateArguments(config, ops, maths), warps]);

    /// <summary>
    /// <see cref="StructuredKernels.UpdateFlat"/> for a configuration with a plain first moment, with the given accelerator
    /// operations and maths, for segments of <paramref name="whole"/> runs only (<see cref="WholeGroups"/>) or any.
    /// </summary>
    internal static MethodInfo UpdateFlatKernelFor(StructuredConfig config, bool whole, Type ops, Type maths) =>
        Kernel(typeof(StructuredKernels), nameof(StructuredKernels.UpdateFlat),
            [.. UpdateArguments(config, ops, maths), Shape(whole)]);

    /// <summary>The segments' shape: whole runs only or any.</summary>
    private static Type Shape(bool whole) => whole ? typeof(WholeGroups) : typeof(AnyGroups);

    /// <summary>The type arguments the update kernels share: ops, maths, rule, formats, first moment, update, decay, telemetry.</summary>
    private static Type[] UpdateArguments(StructuredConfig config, Type ops, Type maths) =>
        [ops, maths, config.RuleType, FormatType(config.Param), FormatType(config.Grad), MomentType(config),
            SecondType(config),
            UpdateType(config.HasCompensation ? Elementwise.ParamUpdate.Kahan : Elementwise.ParamUpdate.Nearest),
            Flags.Of(config.WeightDecay), Flags.Of(config.Telemetry)];

    /// <summary>The per-element second moment's format: StableAdamW's exp_avg_sq; none for Adam-mini (its vmean is a float32 per group).</summary>
    private static Type SecondType(StructuredConfig config) =>
        config.Rule == StructuredRule.StableAdamW ? FormatType(config.SecondMoment) : typeof(NoFormat);

    /// <summary>The first moment's storage: fp32, bf16, or fp8 with bf16 fallback.</summary>
    private static Type MomentType(StructuredConfig config) =>
        config.MomentIsFp8 ? typeof(Fp8FallbackMoment) : typeof(PlainMoment<>).MakeGenericType(FormatType(config.Moment));

    /// <summary>
    /// A plan's device table (a row per tensor, then the segments and the groups, then the partial sums and the groups'
    /// scalars the kernels write) and, with telemetry, <see cref="StructuredTelemetry.Words"/> counters per tensor.
    /// </summary>
    private sealed class KernelStructuredPlan : StructuredPlan
    {
        private readonly KernelBackend backend;
        private readonly MethodInfo reduce, finalize, update, whole, wholeBlock, wholeBlockSix;
        private readonly DeviceBuffer table;
        private readonly DeviceBuffer? telemetry;
        private readonly StructuredArgs split, groups, wholeArgs, wholeBlockArgs, wholeBlockSixArgs;
        private readonly int minBlocks;

        public KernelStructuredPlan(KernelBackend backend, StructuredConfig config, IReadOnlyList<StructuredTensor> tensors, StructuredLaunch launch)
            : base(config, tensors)
        {
            this.backend = backend;
            var maths = backend.Maths(false);
            minBlocks = launch.MinBlocks;
            finalize = StructuredKernelFor(nameof(StructuredKernels.Finalize), config, launch, backend.Ops, maths);
            whole = StructuredKernelFor(nameof(StructuredKernels.Whole), config, launch, backend.Ops, maths);
            wholeBlock = WholeBlockKernelFor(config, backend.Ops, maths, typeof(EightWarps));
            wholeBlockSix = WholeBlockKernelFor(config, backend.Ops, maths, typeof(SixWarps));
            var rows = tensors.Select(t => new StructuredRow
            {
                Param = backend.AddressOf(t.Param),
                Grad = backend.AddressOf(t.Grad),
                Moment = backend.AddressOf(t.Moment),
                Second = backend.AddressOf(t.SecondMoment),
                Compensation = backend.AddressOrZero(t.Compensation),
                GroupLength = config.Rule == StructuredRule.StableAdamW ? t.Param.Length : t.BlockLength,
                Decays = t.Decays ? 1 : 0,
                MomentWords = backend.AddressOrZero(t.Fallback?.Scales),
                MomentSlots = backend.AddressOrZero(t.Fallback?.Pool),
            }).ToArray();
            var l = Layout;
            // Split groups of whole runs only: every run of their segments inside and aligned, or past the end.
            var perElement = config.Rule == StructuredRule.StableAdamW;
            var wholeRuns = Enumerable.Range(0, l.SplitGroups).Select(q => rows[l.GroupTensor[q]])
                .All(r => r.GroupLength % Lanes.Count == 0 && r.Aligned(perElement));
            reduce = ReduceKernelFor(config, wholeRuns, backend.Ops, maths);
            update = config.MomentIsFp8
                ? StructuredKernelFor(nameof(StructuredKernels.Update), config, launch, backend.Ops, maths)
                : UpdateFlatKernelFor(config, wholeRuns, backend.Ops, maths);
            // The whole segments by kernel, WholeBlock's eight-warp blocks first, then its six-warp blocks, then the warps
            // (their order is free: each is its own group).
            int KernelOf(int s) =>
                l.SegmentCount[s] > StructuredKernels.SixWarpMaxCount ? 0 : l.SegmentCount[s] > StructuredKernels.WholeBlockMinCount ? 1 : 2;
            var wholeSegments = Enumerable.Range(l.SplitSegments, l.Segments - l.SplitSegments).OrderBy(KernelOf).ToArray();
            var order = Enumerable.Range(0, l.SplitSegments).Concat(wholeSegments).ToArray();
            var blockSegments = wholeSegments.Count(s => KernelOf(s) == 0);
            var sixSegments = wholeSegments.Count(s => KernelOf(s) == 1);
            var segments = order.Select(s => new StructuredSegment
            {
                Tensor = l.SegmentTensor[s], Group = l.SegmentGroup[s], Start = l.SegmentStart[s], Count = l.SegmentCount[s],
                Local = l.GroupLocal[l.SegmentGroup[s]], Offset = l.SegmentStart[s] % rows[l.SegmentTensor[s]].GroupLength,
            }).ToArray();
            var groupEntries = Enumerable.Range(0, l.Groups).Select(q => new StructuredGroup
            {
                Tensor = l.GroupTensor[q], Local = l.GroupLocal[q], FirstSegment = l.GroupFirstSegment[q], Segments = l.GroupSegments[q],
            }).ToArray();
            var (buffer, addresses) = backend.UploadTable(
                Bytes(rows), Bytes(segments), Bytes(groupEntries), new byte[l.SplitSegments * sizeof(float)], new byte[2 * l.SplitGroups * sizeof(float)]);
            table = buffer;
            if (config.Telemetry)
            {
                telemetry = backend.Allocate(ElementType.Float32, Math.Max(1, StructuredTelemetry.Words * tensors.Count));
                backend.Upload<uint>(telemetry, new uint[telemetry.Length]);
            }
            split = new StructuredArgs
            {
                Rows = addresses[0], Entries = addresses[1], Partials = addresses[3], GroupOut = addresses[4],
                Telemetry = backend.AddressOrZero(telemetry), Count = l.SplitSegments,
            };
            groups = split with { Entries = addresses[2], Count = l.SplitGroups };
            var segmentBytes = (ulong)Marshal.SizeOf<StructuredSegment>();
            wholeBlockArgs = split with { Entries = addresses[1] + (ulong)l.SplitSegments * segmentBytes, Count = blockSegments };
            wholeBlockSixArgs = split with { Entries = wholeBlockArgs.Entries + (ulong)blockSegments * segmentBytes, Count = sixSegments };
            wholeArgs = split with
            {
                Entries = wholeBlockSixArgs.Entries + (ulong)sixSegments * segmentBytes, Count = wholeSegments.Length - blockSegments - sixSegments,
            };
        }

        protected override void StepInternal(StructuredScalars scalars)
        {
            // Split groups first: a block per segment (reduce) and per group (finalize), then the update (a thread per run,
            // or a warp per segment for an fp8 moment); then whole groups, a block per long segment (WholeBlock) or a warp
            // per segment.
            if (split.Count > 0)
            {
                Launch(reduce, split, scalars, split.Count, StructuredKernels.ReduceBlocksPerSm);
                Launch(finalize, groups, scalars, groups.Count, 0);
                if (Config.MomentIsFp8) Launch(update, split, scalars, WarpBlocks(split.Count), minBlocks);
                else Launch(update, split, scalars, split.Count * StructuredKernels.FlatBlocksPerSegment, 0);
            }
            if (wholeBlockArgs.Count > 0) Launch(wholeBlock, wholeBlockArgs, scalars, wholeBlockArgs.Count, minBlocks);
            if (wholeBlockSixArgs.Count > 0)
                Launch(wholeBlockSix, wholeBlockSixArgs, scalars, wholeBlockSixArgs.Count, minBlocks * StructuredLayout.SegmentsPerBlock / SixWarps.Warps,
                    SixWarps.Warps * StructuredLayout.WarpSize);
            if (wholeArgs.Count > 0) Launch(whole, wholeArgs, scalars, WarpBlocks(wholeArgs.Count), minBlocks);
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
            telemetry?.Dispose();
        }

        /// <summary>
        /// Launches <paramref name="kernel"/> on <paramref name="blocks"/> thread blocks of <paramref name="threads"/> with a
        /// register budget for <paramref name="blocksPerSm"/> of them an SM (0: the compiler's choice; the layout's budget is
        /// the warp kernels' and WholeBlock's, six-warp blocks taking as many more as keeps a thread's registers,
        /// <see cref="StructuredKernels.ReduceBlocksPerSm"/> Reduce's).
        /// </summary>
        private void Launch(MethodInfo kernel, StructuredArgs args, StructuredScalars scalars, int blocks, int blocksPerSm, int threads = StructuredLayout.Threads) =>
            backend.Launch(kernel, new KernelGrid(blocks, 1, threads, MinBlocksPerSm: blocksPerSm), args with { Scalars = scalars });

        /// <summary>Thread blocks for a warp per entry.</summary>
        private static int WarpBlocks(int entries) => (entries + StructuredLayout.SegmentsPerBlock - 1) / StructuredLayout.SegmentsPerBlock;

        private static byte[] Bytes<T>(T[] entries) where T : unmanaged => MemoryMarshal.AsBytes(entries.AsSpan()).ToArray();
    }
}
