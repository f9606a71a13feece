using S3gd.Gpu.Structured;

namespace S3gd.Gpu.Cpu;

/// <summary>The CPU backend's structured step: <see cref="CpuStructured"/> over the buffers' bytes.</summary>
public sealed partial class CpuBackend
{
    /// <inheritdoc />
    protected override StructuredPlan PlanStructuredInternal(StructuredConfig config, IReadOnlyList<StructuredTensor> tensors, StructuredLaunch launch) =>
        new CpuStructuredPlan(config, tensors);

    private sealed class CpuStructuredPlan : StructuredPlan
    {
        private readonly CpuStructuredTensor[] views;
        private readonly uint[]? telemetry;

        public CpuStructuredPlan(StructuredConfig config, IReadOnlyList<StructuredTensor> tensors) : base(config, tensors)
        {
            views = tensors.Select(t => new CpuStructuredTensor(
                Data(t.Param), Data(t.Grad), Data(t.Moment), Data(t.SecondMoment), t.Param.Length,
                config.Rule == StructuredRule.StableAdamW ? t.Param.Length : t.BlockLength, t.Decays,
                t.Compensation is null ? null : Data(t.Compensation), t.Fallback is null ? null : Data(t.Fallback.Scales),
                t.Fallback is null ? null : Data(t.Fallback.Pool))).ToArray();
            telemetry = config.Telemetry ? new uint[StructuredTelemetry.Words * tensors.Count] : null;
        }

        protected override void StepInternal(StructuredScalars scalars) => CpuStructured.Step(Config, scalars, Layout, views, telemetry);

        protected override IReadOnlyList<StructuredTelemetry> ReadTelemetryInternal()
        {
            var counters = telemetry!;
            var result = Enumerable.Range(0, Tensors.Count).Select(t => StructuredTelemetry.Read(counters, t)).ToArray();
            Array.Clear(counters);
            return result;
        }

        protected override void DisposeInternal()
        {
            // The views alias the tensors' own buffers; the plan holds nothing else.
        }
    }
}
