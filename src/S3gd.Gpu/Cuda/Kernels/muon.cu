// muon.cu: the elementwise parts of Muon's step (torch.optim.Muon, PyTorch 2.11) around the Newton–Schulz matrix
// products, which cuBLAS runs (CudaBackend.Muon.cs). Each launch covers one group of same-shape matrices: blockIdx.y
// is the matrix, and a table holds its float32 buffers' addresses; the bf16 work matrices of the group lie one after
// another, `n` elements apart, in the parameter's own row-major layout (the transpose of a tall matrix is left to
// cuBLAS's operand flags, so no kernel moves elements).
//
// The CPU twin, src/S3gd.Gpu/Cpu/CpuMuon.cs, does the same float32 operations for the momentum and the update.
// Compiled with --fmad=false: nothing is contracted into a fused multiply-add.
//
// Defines: NESTEROV 0|1 (the update is lerp(g, buf, momentum) rather than buf); ADD_EPS 0|1 (normalise by
// ||X||_F + eps, OAdamW's MuonProjector, rather than max(||X||_F, eps), torch's Muon).

#ifndef ADD_EPS
#define ADD_EPS 0
#endif

#define THREADS 256           // threads per block
#define WARPS (THREADS / 32)  // warps per block
#define FULL_MASK 0xffffffffu // every lane of a warp

#include "common.cuh"     // bf16_to_float, float_to_bf16

// torch.lerp on one float32 (ATen's Lerp.h); 0.5 is where ATen switches formula so both ends are exact.
__device__ __forceinline__ float torch_lerp(float start, float end, float weight)
{
    return fabsf(weight) < 0.5f ? start + weight * (end - start) : end - (end - start) * (1.0f - weight);
}

// The block's sum of `value` added to *total (one atomic per block).
__device__ __forceinline__ void block_sum_into(float value, float* total)
{
    __shared__ float partial[WARPS];
    for (int offset = 16; offset > 0; offset >>= 1) value += __shfl_xor_sync(FULL_MASK, value, offset);
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    if (lane == 0) partial[warp] = value;
    __syncthreads();
    if (warp == 0)
    {
        value = lane < WARPS ? partial[lane] : 0.0f;
        for (int offset = 16; offset > 0; offset >>= 1) value += __shfl_xor_sync(FULL_MASK, value, offset);
        if (lane == 0) atomicAdd(total, value);
    }
}

// buf <- lerp(buf, g, 1 - momentum); u <- lerp(g, buf, momentum) (NESTEROV) or buf; x <- bf16(u), as torch's
// `update.bfloat16()`; squares[matrix] += the squares of the bf16 values (torch's norm accumulates them in float32).
extern "C" __global__ void __launch_bounds__(THREADS) muon_momentum(
    const unsigned long long* __restrict__ grads, const unsigned long long* __restrict__ buffers,
    unsigned short* __restrict__ x, float* __restrict__ squares, long long n, float to_grad, float momentum)
{
    const unsigned matrix = blockIdx.y;
    const float* __restrict__ g = (const float*)grads[matrix];
    float* __restrict__ buf = (float*)buffers[matrix];
    unsigned short* __restrict__ xm = x + (long long)matrix * n;
    float local = 0.0f;
    for (long long i = (long long)blockIdx.x * THREADS + threadIdx.x; i < n; i += (long long)gridDim.x * THREADS)
    {
        const float gi = g[i];
        const float b = torch_lerp(buf[i], gi, to_grad);
        buf[i] = b;
#if NESTEROV
        const float u = torch_lerp(gi, b, momentum);
#else
        const float u = b;
#endif
        const unsigned short h = float_to_bf16(u);
        xm[i] = h;
        const float v = bf16_to_float(h);
        local += v * v;
    }
    block_sum_into(local, &squares[matrix]);
}

// x <- bf16(x / max(bf16(sqrt(squares)), bf16(eps))): torch's `X.div_(X.norm().clamp(min=eps))` on bf16 X; with ADD_EPS
// x <- bf16(x / bf16(bf16(sqrt(squares)) + eps)), `X / (X.norm() + eps)`.
extern "C" __global__ void __launch_bounds__(THREADS) muon_normalise(
    unsigned short* __restrict__ x, const float* __restrict__ squares, long long n, float eps)
{
    const unsigned matrix = blockIdx.y;
    const float norm = bf16_to_float(float_to_bf16(sqrtf(squares[matrix])));
    const float least = bf16_to_float(float_to_bf16(eps));
    const float denominator = ADD_EPS ? bf16_to_float(float_to_bf16(norm + eps)) : (norm > least ? norm : least);
    unsigned short* __restrict__ xm = x + (long long)matrix * n;
    for (long long i = (long long)blockIdx.x * THREADS + threadIdx.x; i < n; i += (long long)gridDim.x * THREADS)
        xm[i] = float_to_bf16(bf16_to_float(xm[i]) / denominator);
}

// p <- p * decay; p <- p - lr' * o: torch's `p.mul_(1 - lr*wd)` and `p.add_(o, alpha=-lr')`, each rounded to float32.
extern "C" __global__ void __launch_bounds__(THREADS) muon_update(
    const unsigned long long* __restrict__ params, const unsigned short* __restrict__ x, long long n, float decay, float adjusted_lr)
{
    const unsigned matrix = blockIdx.y;
    float* __restrict__ p = (float*)params[matrix];
    const unsigned short* __restrict__ xm = x + (long long)matrix * n;
    for (long long i = (long long)blockIdx.x * THREADS + threadIdx.x; i < n; i += (long long)gridDim.x * THREADS)
    {
        const float decayed = p[i] * decay;
        p[i] = decayed - adjusted_lr * bf16_to_float(xm[i]);
    }
}

// OAdamW's projection input: x <- bf16(g) and squares[matrix] += the squares of the bf16 values.
extern "C" __global__ void __launch_bounds__(THREADS) ns_load(
    const unsigned long long* __restrict__ grads, unsigned short* __restrict__ x, float* __restrict__ squares, long long n)
{
    const unsigned matrix = blockIdx.y;
    const float* __restrict__ g = (const float*)grads[matrix];
    unsigned short* __restrict__ xm = x + (long long)matrix * n;
    float local = 0.0f;
    for (long long i = (long long)blockIdx.x * THREADS + threadIdx.x; i < n; i += (long long)gridDim.x * THREADS)
    {
        const unsigned short h = float_to_bf16(g[i]);
        xm[i] = h;
        const float v = bf16_to_float(h);
        local += v * v;
    }
    block_sum_into(local, &squares[matrix]);
}

// OAdamW's projection output: out <- scale * x in float32.
extern "C" __global__ void __launch_bounds__(THREADS) ns_store(
    const unsigned long long* __restrict__ outputs, const unsigned short* __restrict__ x, long long n, float scale)
{
    const unsigned matrix = blockIdx.y;
    float* __restrict__ out = (float*)outputs[matrix];
    const unsigned short* __restrict__ xm = x + (long long)matrix * n;
    for (long long i = (long long)blockIdx.x * THREADS + threadIdx.x; i < n; i += (long long)gridDim.x * THREADS)
        out[i] = scale * bf16_to_float(xm[i]);
}
