using System.Reflection;
using S3gd.Gpu.Muon;

namespace S3gd.Gpu.Kernels;

/// <summary>
/// Muon's step on a kernel backend: per group of same-shape matrices, the momentum and bf16 rounding with the sums of
/// squares (<see cref="MuonKernels.Momentum"/>), the normalisation, <see cref="NsSchedule"/>'s Newton–Schulz GEMMs over
/// the whole group (<see cref="BatchedGemm"/>, in bf16 as torch.optim.Muon), then the parameter update. Everything is queued in order.
/// </summary>
public abstract partial class KernelBackend
{
    /// <inheritdoc />
    protected override MuonPlan PlanMuonInternal(MuonConfig config, IReadOnlyList<MuonTensor> tensors) => new KernelMuonPlan(this, config, tensors);

    /// <summary>A Muon plan's kernels and its groups' device state (tables of gradient, momentum and parameter addresses).</summary>
    private sealed class KernelMuonPlan : MuonPlan
    {
        private readonly KernelBackend backend;
        private readonly MethodInfo momentum, normalise, update;
        private readonly NsGroup[] groups;

        public KernelMuonPlan(KernelBackend backend, MuonConfig config, IReadOnlyList<MuonTensor> tensors) : base(config, tensors)
        {
            this.backend = backend;
            var maths = backend.Maths(false);
            momentum = Kernel(typeof(MuonKernels), nameof(MuonKernels.Momentum), backend.Ops, maths,
                config.Nesterov ? typeof(NesterovUpdate) : typeof(BufferUpdate));
            normalise = Kernel(typeof(MuonKernels), nameof(MuonKernels.Normalise), backend.Ops, maths, typeof(ClampedNorm), typeof(NsBf16));
            update = Kernel(typeof(MuonKernels), nameof(MuonKernels.Update), backend.Ops, maths);
            groups = [.. Groups.Select(g => new NsGroup(backend, g, NsPrecision.BFloat16,
                [[.. g.Indices.Select(i => tensors[i].Grad)], [.. g.Indices.Select(i => tensors[i].MomentumBuffer)], [.. g.Indices.Select(i => tensors[i].Param)]]))];
        }

        protected override void StepInternal(double lr)
        {
            foreach (var g in groups) StepGroup(g, lr);
        }

        /// <summary>Queues one group's step: momentum, normalisation, the iterations, the update.</summary>
        private void StepGroup(NsGroup g, double lr)
        {
            g.ClearSquares();
            backend.Launch(momentum, g.Grid, new MuonMomentumArgs
            {
                Grads = g.Columns[0], Buffers = g.Columns[1], X = g.X, Squares = g.Squares, Length = g.Group.Elements,
                ToGrad = (float)(1.0 - Config.Momentum), Momentum = (float)Config.Momentum,
            });
            backend.Launch(normalise, g.Grid, new MuonNormaliseArgs { X = g.X, Squares = g.Squares, Length = g.Group.Elements, Eps = (float)Config.Eps });
            var result = g.Iterate(Config);
            backend.Launch(update, g.Grid, new MuonUpdateArgs
            {
                Params = g.Columns[2], X = result, Length = g.Group.Elements,
                Decay = DecayFactor(lr), AdjustedLr = (float)Config.AdjustedLr(lr, g.Group.Rows, g.Group.Cols),
            });
        }

        protected override void DisposeInternal()
        {
            foreach (var g in groups) g.Dispose();
        }
    }
}
