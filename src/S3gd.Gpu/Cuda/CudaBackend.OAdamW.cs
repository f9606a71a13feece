using S3gd.Gpu.Muon;
using static S3gd.Gpu.Cuda.CudaDriver;

namespace S3gd.Gpu.Cuda;

/// <summary>
/// The CUDA backend's OAdamW projection: per group of same-shape gradients, bf16 rounding and the norm (muon.cu's
/// ns_load), X / (||X||_F + eps), the Newton–Schulz GEMMs of <see cref="NsSchedule"/> through cuBLAS, and scale * X into
/// the float32 outputs (ns_store). The reference runs the iteration in float32; here it runs in bf16 as torch's Muon.
/// </summary>
public sealed partial class CudaBackend
{
    /// <inheritdoc />
    protected override OAdamWProjectionPlan PlanOAdamWProjectionInternal(OAdamWMatrixConfig config, IReadOnlyList<OAdamWProjection> tensors) =>
        new CudaProjectionPlan(this, config, tensors);

    private sealed class CudaProjectionPlan : OAdamWProjectionPlan
    {
        private readonly CudaBackend backend;
        private readonly CudaKernel load, normalise, store;
        private readonly GroupBuffers[] groups;

        public CudaProjectionPlan(CudaBackend backend, OAdamWMatrixConfig config, IReadOnlyList<OAdamWProjection> tensors) : base(config, tensors)
        {
            this.backend = backend;
            string[] defines = ["-DADD_EPS=1"];
            load = backend.GetKernel(MuonSource, "ns_load", defines);
            normalise = backend.GetKernel(MuonSource, "muon_normalise", defines);
            store = backend.GetKernel(MuonSource, "ns_store", defines);
            backend.CublasHandle();
            groups = Groups.Select(g => new GroupBuffers(backend, g,
                [g.Indices.Select(i => tensors[i].Grad).ToArray(), g.Indices.Select(i => tensors[i].Output).ToArray()])).ToArray();
        }

        protected override void StepInternal()
        {
            var handle = backend.CublasHandle();
            backend.context.MakeCurrent();
            foreach (var g in groups) StepGroup(g, handle);
        }

        /// <summary>Queues one group's projection: load and norm, normalisation, the iterations, scale into the outputs.</summary>
        private unsafe void StepGroup(GroupBuffers g, nint handle)
        {
            var eps = (float)OAdamWMatrixConfig.ProjectorEps;
            var scale = (float)Config.Scale;
            var n = g.Group.Elements;
            var count = (uint)g.Group.Indices.Count;
            var blocks = backend.GroupBlocks(n, count);
            var (grads, outputs, x, squares) = (g.Column(0), g.Column(1), g.X, g.Squares);
            ThrowIfFailed(cuMemsetD32Async(squares, 0, count, backend.stream.Handle));
            void** l = stackalloc void*[] { &grads, &x, &squares, &n };
            load.Launch(backend.stream, blocks, count, ThreadsPerBlock, l);
            void** s = stackalloc void*[] { &x, &squares, &n, &eps };
            normalise.Launch(backend.stream, blocks, count, ThreadsPerBlock, s);
            var result = g.Iterate(handle, Config.Iteration);
            void** o = stackalloc void*[] { &outputs, &result, &n, &scale };
            store.Launch(backend.stream, blocks, count, ThreadsPerBlock, o);
        }

        protected override void DisposeInternal()
        {
            foreach (var g in groups) g.Dispose();
        }
    }
}
