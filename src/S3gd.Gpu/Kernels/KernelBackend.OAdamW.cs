using System.Reflection;
using S3gd.Gpu.Muon;

namespace S3gd.Gpu.Kernels;

/// <summary>
/// OAdamW's projection on a kernel backend: per group of same-shape gradients, X = g as the work matrices hold it and
/// the sums of squares (<see cref="MuonKernels.Load"/>), X / (||X||_F + eps), <see cref="NsSchedule"/>'s Newton–Schulz
/// GEMMs (<see cref="BatchedGemm"/>), and scale * X into the float32 outputs; all in float32 as the reference
/// (<see cref="NsPrecision.Float32"/>, the default), or in bf16 as torch's Muon (<see cref="NsPrecision.BFloat16"/>).
/// </summary>
public abstract partial class KernelBackend
{
    /// <inheritdoc />
    protected override OAdamWProjectionPlan PlanOAdamWProjectionInternal(OAdamWMatrixConfig config, IReadOnlyList<OAdamWProjection> tensors) =>
        new KernelProjectionPlan(this, config, tensors);

    /// <summary>A projection plan's kernels and its groups' device state (tables of gradient and output addresses).</summary>
    private sealed class KernelProjectionPlan : OAdamWProjectionPlan
    {
        private readonly KernelBackend backend;
        private readonly MethodInfo load, normalise, store;
        private readonly NsGroup[] groups;

        public KernelProjectionPlan(KernelBackend backend, OAdamWMatrixConfig config, IReadOnlyList<OAdamWProjection> tensors) : base(config, tensors)
        {
            this.backend = backend;
            var maths = backend.Maths(false);
            var work = WorkType(config.Precision);
            load = Kernel(typeof(MuonKernels), nameof(MuonKernels.Load), backend.Ops, maths, work);
            normalise = Kernel(typeof(MuonKernels), nameof(MuonKernels.Normalise), backend.Ops, maths, typeof(NormPlusEps), work);
            store = Kernel(typeof(MuonKernels), nameof(MuonKernels.Store), maths, work);
            groups = [.. Groups.Select(g => new NsGroup(backend, g, config.Precision,
                [[.. g.Indices.Select(i => tensors[i].Grad)], [.. g.Indices.Select(i => tensors[i].Output)]]))];
        }

        protected override void StepInternal()
        {
            foreach (var g in groups) StepGroup(g);
        }

        /// <summary>Queues one group's projection: load and norm, normalisation, the iterations, scale into the outputs.</summary>
        private void StepGroup(NsGroup g)
        {
            g.ClearSquares();
            backend.Launch(load, g.Grid, new NsLoadArgs { Grads = g.Columns[0], X = g.X, Squares = g.Squares, Length = g.Group.Elements });
            backend.Launch(normalise, g.Grid,
                new MuonNormaliseArgs { X = g.X, Squares = g.Squares, Length = g.Group.Elements, Eps = (float)OAdamWMatrixConfig.ProjectorEps });
            var result = g.Iterate(Config.Iteration);
            backend.Launch(store, g.Grid, new NsStoreArgs { Outputs = g.Columns[1], X = result, Length = g.Group.Elements, Scale = (float)Config.Scale });
        }

        protected override void DisposeInternal()
        {
            foreach (var g in groups) g.Dispose();
        }
    }
}
