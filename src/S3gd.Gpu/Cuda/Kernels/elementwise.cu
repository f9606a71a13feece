// elementwise.cu: one fused optimizer step of an elementwise rule over many tensors in one launch.
//
// Each tensor has a row of SLOTS pointers in a device table (param, grad, three state buffers, their three
// block-scale arrays) and a length; the host cuts every tensor into chunks of CHUNK elements and gives each
// chunk (one thread block) its tensor, the way PyTorch's multi_tensor_apply does. One pass over memory:
// every element's param, grad and state are read once and param and state written once.
//
// The CPU twin, src/S3gd.Gpu/Cpu/CpuElementwise.cs, does the same float32 operations in the same order.
// Compiled with --fmad=false: every fused multiply-add is written out (fmaf), nothing else is contracted.
//
// Defines (ElementwiseConfig.Defines writes them; FAST_IS_GRAD defaults to 0):
//   RULE          RULE_SGD | RULE_ADAM | RULE_RMSPROP | RULE_S3GD | RULE_LION | RULE_SIGNUM | RULE_LAPROP | RULE_ADEMAMIX
//                 | RULE_SIM_ADEMAMIX | RULE_MADAM
//   PARAM_T, GRAD_T                     DT_FP32 | DT_BF16
//   S0_T, S1_T, S2_T (only those used)  DT_FP32 | DT_BF16 | DT_E4M3 | DT_E5M2
//   S0_SCALED, S1_SCALED, S2_SCALED     1: block-scaled fp8 (one float32 scale per SCALE_BLOCK elements)
//   MATH_BF16     1: every operation rounds to bf16 (as the S3GD reference's Triton kernel), 0: float32
//   MAXIMIZE, WD_COUPLED, WD_DECOUPLED, AMSGRAD, NESTEROV, CENTERED, MOMENTUM, GRAD_SCALE, FOUND_INF   0|1
//   FAST_IS_GRAD  AdEMAMix with beta_fast = 0: the fast moment is the gradient (its buffer stays as it was)
//   PARAM_UPDATE  how a bf16 parameter takes its float32 update (defaults to PU_NEAREST): PU_NEAREST rounds to
//                 nearest even; PU_KAHAN keeps a bf16 compensation buffer (table slot 8, optimi's Kahan summation);
//                 PU_STOCHASTIC rounds stochastically with a counter-based hash of (seed, step, tensor, element)
// Launch layout (ElementwiseLaunch.Defines; results do not depend on it):
//   UNROLL        groups of VEC elements per thread (default 2)
//   MIN_BLOCKS    blocks per SM the register allocation must allow (default 2)
//   STREAMING     1: vector loads and stores with the .cs (evict-first) cache hint: data touched once

#define RULE_SGD 1
#define RULE_ADAM 2
#define RULE_RMSPROP 3
#define RULE_S3GD 4
#define RULE_LION 5
#define RULE_SIGNUM 6
#define RULE_LAPROP 7
#define RULE_ADEMAMIX 8
#define RULE_SIM_ADEMAMIX 9
#define RULE_MADAM 10

#define PU_NEAREST 0
#define PU_KAHAN 1
#define PU_STOCHASTIC 2

#define THREADS 256                        // threads per block
#define VEC 8                              // elements per thread per group: 16 bytes of bf16
#ifndef UNROLL
#define UNROLL 2                           // groups per thread: their loads are all in flight before any maths
#endif
#define CHUNK (THREADS * VEC * UNROLL)     // elements per block: 4096 with two groups
#define SCALE_BLOCK 128                    // elements per block scale (BlockScaled.DefaultBlockSize)
#define SLOTS 9                            // table row: param, grad, s0, s1, s2, scale0, scale1, scale2, compensation
#define FULL_MASK 0xffffffffu              // every lane of a warp

#include "common.cuh"                      // DT_* formats, conversions, vector loads and stores, Io<DT>, kahan_update

// Per-step scalars, computed on the host in float64 and rounded once to float32 (StepScalars.cs).
struct StepScalars
{
    float lr;               // learning rate
    float decay;            // decoupled weight decay factor 1 - lr*wd
    float wd;               // coupled weight decay (g <- g + wd*p)
    float beta1;            // first decay: adam beta1, sgd/rmsprop momentum... (see StepScalars.cs)
    float one_minus_beta1;  // 1 - beta1 (sgd: 1 - dampening)
    float beta2;            // second decay
    float one_minus_beta2;  // 1 - beta2
    float step_size;        // adam: lr / (1 - beta1^t)
    float inv_sqrt_bc2;     // adam: 1 / sqrt(1 - beta2^t)
    float nesterov_m;       // signum nesterov: coefficient of m
    float nesterov_g;       // signum nesterov: coefficient of g
    float beta3;            // ademamix: the slow moment's decay at this step
    float one_minus_beta3;  // 1 - beta3
    float alpha;            // ademamix, sim-ademamix: weight of the slow moment (of the gradient) at this step;
                            // madam: c = 2^(scale_log2/2), the second moment's storage scale's root
    float inv_bc1;          // ademamix, sim-ademamix: 1 / the first moment's bias correction
    float eps;              // added to the denominator
    float grad_scale;       // the gradient is divided by it
    int first_step;         // 1 on the first step (sgd: the momentum buffer starts as the gradient)
    unsigned int seed;      // stochastic rounding: the run's seed
    unsigned int step;      // stochastic rounding: the step number (1-based), so every step draws afresh
};

#ifndef FAST_IS_GRAD
#define FAST_IS_GRAD 0
#endif
#ifndef PARAM_UPDATE
#define PARAM_UPDATE PU_NEAREST
#endif

// ---- block-scaled fp8 ----

// Block-scaled fp8: a block of SCALE_BLOCK elements is SCALE_BLOCK/VEC consecutive lanes of a warp (chunks start at
// multiples of SCALE_BLOCK within their tensor), so the block's absmax is a shuffle reduction over those lanes.
template <int DT> __device__ __forceinline__ void load_scaled(
    const void* base, const float* scales, long long i, long long n, bool full, float (&x)[VEC])
{
    Io<DT>::load(base, i, n, full, x);
    const float scale = i < n ? scales[i / SCALE_BLOCK] : 1.0f;
#pragma unroll
    for (int e = 0; e < VEC; e++) x[e] = x[e] * scale;
}

template <int DT> __device__ __forceinline__ void store_scaled(
    void* base, float* scales, long long i, long long n, bool full, const float (&x)[VEC])
{
    float absmax = 0.0f;
#pragma unroll
    for (int e = 0; e < VEC; e++)
        if (i + e < n) absmax = fmaxf(absmax, fabsf(x[e]));
#pragma unroll
    for (int lane = SCALE_BLOCK / VEC / 2; lane > 0; lane /= 2)
        absmax = fmaxf(absmax, __shfl_xor_sync(FULL_MASK, absmax, lane));
    const float scale = absmax == 0.0f ? 1.0f : absmax / fp8_max<DT>();
    float q[VEC];
#pragma unroll
    for (int e = 0; e < VEC; e++) q[e] = x[e] / scale;
    Io<DT>::store(base, i, n, full, q);
    if (i % SCALE_BLOCK == 0 && i < n) scales[i / SCALE_BLOCK] = scale;
}

// ---- maths in float32 or, with MATH_BF16, rounding every operation to bf16 ----

#if MATH_BF16
__device__ __forceinline__ float rm(float x) { return bf16_to_float(float_to_bf16(x)); }
#else
__device__ __forceinline__ float rm(float x) { return x; }
#endif

__device__ __forceinline__ float mul(float a, float b) { return rm(a * b); }
__device__ __forceinline__ float add(float a, float b) { return rm(a + b); }
__device__ __forceinline__ float divide(float a, float b) { return rm(a / b); }
__device__ __forceinline__ float root(float a) { return rm(sqrtf(a)); }
// a*b + c: one fused rounding in float32; in bf16 maths the product and the sum each round (no bf16 fma).
#if MATH_BF16
__device__ __forceinline__ float madd(float a, float b, float c) { return rm(rm(a * b) + c); }
#else
__device__ __forceinline__ float madd(float a, float b, float c) { return fmaf(a, b, c); }
#endif
// torch.sign: -1, 0 or +1; a zero keeps its sign and NaN stays NaN.
__device__ __forceinline__ float sgn(float x) { return x > 0.0f ? 1.0f : (x < 0.0f ? -1.0f : x); }

// One element of one step: p, g and the state as decoded (and, in bf16 maths, rounded to bf16).
__device__ __forceinline__ void step_element(const StepScalars& sc, float& p, float g, float& s0, float& s1, float& s2)
{
#if GRAD_SCALE
    g = divide(g, sc.grad_scale);
#endif
#if MAXIMIZE
    g = -g;
#endif
#if WD_COUPLED
    g = madd(sc.wd, p, g);
#endif
#if WD_DECOUPLED
    p = mul(p, sc.decay);
#endif

#if RULE == RULE_SGD
    // s0 momentum_buffer; beta1 = momentum, one_minus_beta1 = 1 - dampening.
  #if MOMENTUM
    s0 = sc.first_step ? g : madd(sc.beta1, s0, mul(sc.one_minus_beta1, g));
    #if NESTEROV
    const float d = madd(sc.beta1, s0, g);
    #else
    const float d = s0;
    #endif
  #else
    const float d = g;
  #endif
    p = madd(-sc.lr, d, p);

#elif RULE == RULE_ADAM
    // s0 exp_avg, s1 exp_avg_sq, s2 max_exp_avg_sq.
    s0 = madd(sc.beta1, s0, mul(sc.one_minus_beta1, g));
    s1 = madd(sc.beta2, s1, mul(sc.one_minus_beta2, mul(g, g)));
  #if AMSGRAD
    s2 = fmaxf(s2, s1);
    const float v = s2;
  #else
    const float v = s1;
  #endif
    const float denom = madd(root(v), sc.inv_sqrt_bc2, sc.eps);
    p = madd(-sc.step_size, divide(s0, denom), p);

#elif RULE == RULE_RMSPROP
    // s0 square_avg, s1 momentum_buffer, s2 grad_avg; beta1 = alpha, beta2 = momentum.
    s0 = madd(sc.beta1, s0, mul(sc.one_minus_beta1, mul(g, g)));
  #if CENTERED
    s2 = madd(sc.beta1, s2, mul(sc.one_minus_beta1, g));
    const float avg = add(root(madd(-s2, s2, s0)), sc.eps);
  #else
    const float avg = add(root(s0), sc.eps);
  #endif
  #if MOMENTUM
    s1 = madd(sc.beta2, s1, divide(g, avg));
    p = madd(-sc.lr, s1, p);
  #else
    p = madd(-sc.lr, divide(g, avg), p);
  #endif

#elif RULE == RULE_S3GD
    // s0 exp_avg: an EMA of gradient signs, in [-1, 1].
    s0 = madd(sc.beta1, s0, mul(sc.one_minus_beta1, sgn(g)));
    p = madd(-sc.lr, s0, p);

#elif RULE == RULE_LION
    // s0 exp_avg.
    const float u = sgn(madd(sc.beta1, s0, mul(sc.one_minus_beta1, g)));
    p = madd(-sc.lr, u, p);
    s0 = madd(sc.beta2, s0, mul(sc.one_minus_beta2, g));

#elif RULE == RULE_SIGNUM
    // s0 exp_avg; beta1 = momentum.
    s0 = madd(sc.beta1, s0, mul(sc.one_minus_beta1, g));
  #if NESTEROV
    const float u = sgn(madd(sc.nesterov_m, s0, mul(sc.nesterov_g, g)));
  #else
    const float u = sgn(s0);
  #endif
    p = madd(-sc.lr, u, p);

#elif RULE == RULE_LAPROP
    // s0 exp_avg (of the normalized gradient), s1 exp_avg_sq; step_size = lr / bc1.
    s1 = madd(sc.beta2, s1, mul(sc.one_minus_beta2, mul(g, g)));
    const float denom = madd(root(s1), sc.inv_sqrt_bc2, sc.eps);
    s0 = madd(sc.beta1, s0, mul(sc.one_minus_beta1, divide(g, denom)));
    p = madd(-sc.step_size, s0, p);

#elif RULE == RULE_ADEMAMIX
    // s0 exp_avg_fast, s1 exp_avg_slow, s2 exp_avg_sq; beta1 fast, beta3 slow (scheduled), beta2 second moment.
  #if FAST_IS_GRAD
    const float fast = g;
  #else
    s0 = madd(sc.beta1, s0, mul(sc.one_minus_beta1, g));
    const float fast = s0;
  #endif
    s1 = madd(sc.beta3, s1, mul(sc.one_minus_beta3, g));
    s2 = madd(sc.beta2, s2, mul(sc.one_minus_beta2, mul(g, g)));
    const float denom = madd(root(s2), sc.inv_sqrt_bc2, sc.eps);
    p = madd(-sc.lr, divide(madd(sc.alpha, s1, mul(fast, sc.inv_bc1)), denom), p);

#elif RULE == RULE_SIM_ADEMAMIX
    // s0 exp_avg (a sum: m <- beta1*m + g), s1 exp_avg_sq; beta1 scheduled.
    s0 = madd(sc.beta1, s0, g);
    s1 = madd(sc.beta2, s1, mul(sc.one_minus_beta2, mul(g, g)));
    const float denom = madd(root(s1), sc.inv_sqrt_bc2, sc.eps);
    p = madd(-sc.lr, divide(madd(sc.alpha, g, mul(s0, sc.inv_bc1)), denom), p);

#elif RULE == RULE_MADAM
    // s0 exp_avg, s1 exp_avg_sq_scaled (c^2 times the EMA of g^2); no eps: zero step where the momentum is zero.
    s0 = madd(sc.beta1, s0, mul(sc.one_minus_beta1, g));
    const float cg = mul(g, sc.alpha);
    s1 = madd(sc.beta2, s1, mul(sc.one_minus_beta2, mul(cg, cg)));
    const float u = s0 == 0.0f ? 0.0f : mul(divide(mul(s0, sc.inv_bc1), mul(root(s1), sc.inv_sqrt_bc2)), sc.alpha);
    p = madd(-sc.lr, u, p);

#else
  #error "RULE must be one of the RULE_* defines"
#endif
    (void)s1;
    (void)s2;
}

// A state buffer in its format, block-scaled or not.
template <int DT, int SCALED> struct StateIo
{
    static __device__ __forceinline__ void load(const void* base, const float*, long long i, long long n, bool full, float (&x)[VEC])
    {
        Io<DT>::load(base, i, n, full, x);
    }
    static __device__ __forceinline__ void store(void* base, float*, long long i, long long n, bool full, const float (&x)[VEC])
    {
        Io<DT>::store(base, i, n, full, x);
    }
};
template <int DT> struct StateIo<DT, 1>
{
    static __device__ __forceinline__ void load(const void* base, const float* scales, long long i, long long n, bool full, float (&x)[VEC])
    {
        load_scaled<DT>(base, scales, i, n, full, x);
    }
    static __device__ __forceinline__ void store(void* base, float* scales, long long i, long long n, bool full, const float (&x)[VEC])
    {
        store_scaled<DT>(base, scales, i, n, full, x);
    }
};

#ifndef S0_SCALED
#define S0_SCALED 0
#endif
#ifndef S1_SCALED
#define S1_SCALED 0
#endif
#ifndef S2_SCALED
#define S2_SCALED 0
#endif

// ---- bf16 parameter updates: stochastic rounding (Kahan compensation: common.cuh's kahan_update) ----

// murmur3's 32-bit finalizer: a bijection of 32-bit words whose every output bit depends on every input bit.
__device__ __forceinline__ unsigned int mix32(unsigned int x)
{
    x ^= x >> 16;
    x *= 0x85ebca6bu;  // murmur3 fmix32 multiplier 1
    x ^= x >> 13;
    x *= 0xc2b2ae35u;  // murmur3 fmix32 multiplier 2
    x ^= x >> 16;
    return x;
}

// The random word of one element: the finalizer chained over (seed, step, tensor, element index low and high words).
// `stream` is hash_stream(seed, step, tensor), computed once per block.
__device__ __forceinline__ unsigned int hash_stream(unsigned int seed, unsigned int step, unsigned int tensor)
{
    return mix32(mix32(mix32(seed ^ 0x9e3779b9u) ^ step) ^ tensor);  // 0x9e3779b9: 2^32 / golden ratio, so seed 0 mixes
}
__device__ __forceinline__ unsigned int hash_element(unsigned int stream, long long index)
{
    return mix32(mix32(stream ^ (unsigned int)index) ^ (unsigned int)((unsigned long long)index >> 32));
}

// float32 to a bf16 value by stochastic rounding (torchao, optimi): add 16 random bits to the low half of the float32
// bits and truncate, so x goes to the bf16 neighbour away from zero with probability (low half)/2^16. NaN rounds to
// nearest (the truncation could turn a NaN with a low payload into an infinity); infinities stay.
__device__ __forceinline__ float stochastic_bf16(float x, unsigned int random)
{
    if (x != x) return bf16_to_float(float_to_bf16(x));
    return __uint_as_float((__float_as_uint(x) + (random & 0xffffu)) & 0xffff0000u);
}

// At least MIN_BLOCKS blocks per SM: with 2, the register cap (128 a thread) keeps two blocks' loads in flight per SM.
#ifndef MIN_BLOCKS
#define MIN_BLOCKS 2
#endif

extern "C" __global__ void __launch_bounds__(THREADS, MIN_BLOCKS) elementwise_step(
    const unsigned long long* __restrict__ table,  // per tensor: SLOTS pointers
    const long long* __restrict__ lengths,         // per tensor: elements
    const long long* __restrict__ first_chunk,     // per tensor: its first chunk
    const int* __restrict__ chunk_tensor,          // per chunk: its tensor
    const StepScalars sc,
    const float* __restrict__ found_inf)           // with FOUND_INF: non-zero makes the step a no-op (torch's found_inf)
{
#if FOUND_INF
    if (*found_inf != 0.0f) return;
#else
    (void)found_inf;
#endif
    const int t = chunk_tensor[blockIdx.x];
    const long long n = lengths[t];
    const long long start = (long long)(blockIdx.x - first_chunk[t]) * CHUNK;
    const unsigned long long* row = table + (long long)t * SLOTS;
    void* const P = (void*)row[0];
    const void* const G = (const void*)row[1];
    void* const S0 = (void*)row[2];
    void* const S1 = (void*)row[3];
    void* const S2 = (void*)row[4];
    float* const SC0 = (float*)row[5];
    float* const SC1 = (float*)row[6];
    float* const SC2 = (float*)row[7];
    void* const C = (void*)row[8];
    // Vector moves need 16-byte aligned bases (8-byte for fp8; 16 covers both); every group offset keeps it.
    const bool aligned = ((row[0] | row[1] | row[2] | row[3] | row[4] | row[8]) & 15ull) == 0ull;
#if PARAM_UPDATE == PU_STOCHASTIC
    const unsigned int stream = hash_stream(sc.seed, sc.step, (unsigned int)t);
#endif

    float p[UNROLL][VEC], g[UNROLL][VEC], s0[UNROLL][VEC], s1[UNROLL][VEC], s2[UNROLL][VEC];
#if PARAM_UPDATE == PU_KAHAN
    float c[UNROLL][VEC];
#endif
    long long at[UNROLL];
    bool full[UNROLL];
#pragma unroll
    for (int u = 0; u < UNROLL; u++)
    {
        at[u] = start + ((long long)u * THREADS + threadIdx.x) * VEC;
        full[u] = aligned && at[u] + VEC <= n;
        Io<PARAM_T>::load(P, at[u], n, full[u], p[u]);
        Io<GRAD_T>::load(G, at[u], n, full[u], g[u]);
#if PARAM_UPDATE == PU_KAHAN
        Io<DT_BF16>::load(C, at[u], n, full[u], c[u]);
#endif
#ifdef S0_T
        StateIo<S0_T, S0_SCALED>::load(S0, SC0, at[u], n, full[u], s0[u]);
#endif
#ifdef S1_T
        StateIo<S1_T, S1_SCALED>::load(S1, SC1, at[u], n, full[u], s1[u]);
#endif
#ifdef S2_T
        StateIo<S2_T, S2_SCALED>::load(S2, SC2, at[u], n, full[u], s2[u]);
#endif
    }

#pragma unroll
    for (int u = 0; u < UNROLL; u++)
    {
#pragma unroll
        for (int e = 0; e < VEC; e++)
        {
#ifndef S0_T
            s0[u][e] = 0.0f;
#endif
#ifndef S1_T
            s1[u][e] = 0.0f;
#endif
#ifndef S2_T
            s2[u][e] = 0.0f;
#endif
            p[u][e] = rm(p[u][e]);
            s0[u][e] = rm(s0[u][e]);
            s1[u][e] = rm(s1[u][e]);
            s2[u][e] = rm(s2[u][e]);
#if PARAM_UPDATE == PU_NEAREST
            step_element(sc, p[u][e], rm(g[u][e]), s0[u][e], s1[u][e], s2[u][e]);
#else
            const float old = p[u][e];
            step_element(sc, p[u][e], rm(g[u][e]), s0[u][e], s1[u][e], s2[u][e]);
  #if PARAM_UPDATE == PU_KAHAN
            const float updated = p[u][e];
            p[u][e] = old;
            kahan_update(p[u][e], c[u][e], updated - old);
  #elif PARAM_UPDATE == PU_STOCHASTIC
            (void)old;
            p[u][e] = stochastic_bf16(p[u][e], hash_element(stream, at[u] + e));
  #else
    #error "PARAM_UPDATE must be one of the PU_* defines"
  #endif
#endif
        }
        Io<PARAM_T>::store(P, at[u], n, full[u], p[u]);
#if PARAM_UPDATE == PU_KAHAN
        Io<DT_BF16>::store(C, at[u], n, full[u], c[u]);
#endif
#ifdef S0_T
        StateIo<S0_T, S0_SCALED>::store(S0, SC0, at[u], n, full[u], s0[u]);
#endif
#ifdef S1_T
        StateIo<S1_T, S1_SCALED>::store(S1, SC1, at[u], n, full[u], s1[u]);
#endif
#ifdef S2_T
        StateIo<S2_T, S2_SCALED>::store(S2, SC2, at[u], n, full[u], s2[u]);
#endif
    }
    (void)S0; (void)S1; (void)S2; (void)SC0; (void)SC1; (void)SC2; (void)C;
}
