using S3gd.Gpu.Structured;

namespace S3gd.Gpu.Kernels;

// TEMPORARY while the structured kernels move to C#: remove before merging.
public abstract partial class KernelBackend
{
    /// <inheritdoc />
    protected override StructuredPlan PlanStructuredInternal(StructuredConfig config, IReadOnlyList<StructuredTensor> tensors, StructuredLaunch launch) =>
        throw new NotSupportedException("structured kernels are being ported");
}
