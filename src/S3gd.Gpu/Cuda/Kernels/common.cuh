// common.cuh: what the kernel files share: the storage formats' numbers and conversions (bf16, fp8 e4m3 and e5m2
// through PTX cvt), 16- and 8-byte vector loads and stores, and the loads and stores of a group of VEC elements in a
// storage format (Io<DT>). KernelSources expands `#include "common.cuh"` into the kernel's text before NVRTC compiles
// it (and before the g++ emulation tests rewrite its PTX), so the source NVRTC sees, numbers and caches is one file.
//
// Defines it reads (the kernel file sets them before its #include):
//   STREAMING   1: vector loads and stores with the .cs (evict-first) cache hint (default 0)
//   VEC         elements of a group (8: 16 bytes of bf16); Io<DT> and the fp8 code words exist only where it is defined

// Storage formats (StorageFormat tags, ElementwiseConfig.DtypeCode): the PARAM_T, GRAD_T... defines take these numbers.
#define DT_FP32 0
#define DT_BF16 1
#define DT_E4M3 2
#define DT_E5M2 3

#define E4M3_MAX 448.0f                    // largest finite fp8 e4m3fn
#define E5M2_MAX 57344.0f                  // largest finite fp8 e5m2

#ifndef STREAMING
#define STREAMING 0
#endif

// 16- and 8-byte vectors of our own (no CUDA headers needed): one ld/st.global.v4 or .v2 each.
struct alignas(16) Words4 { unsigned int x, y, z, w; };
struct alignas(8) Words2 { unsigned int x, y; };

// Vector loads and stores, plain or, with STREAMING, with the streaming (.cs, evict-first) hint unless `evict_first` is
// false (data read again soon).
__device__ __forceinline__ Words4 load4(const void* p, bool evict_first = true)
{
#if STREAMING
    if (evict_first)
    {
        Words4 v;
        asm volatile("ld.global.cs.v4.u32 {%0, %1, %2, %3}, [%4];" : "=r"(v.x), "=r"(v.y), "=r"(v.z), "=r"(v.w) : "l"(p));
        return v;
    }
#endif
    (void)evict_first;
    return *(const Words4*)p;
}
__device__ __forceinline__ void store4(void* p, Words4 v)
{
#if STREAMING
    asm volatile("st.global.cs.v4.u32 [%0], {%1, %2, %3, %4};" :: "l"(p), "r"(v.x), "r"(v.y), "r"(v.z), "r"(v.w) : "memory");
#else
    *(Words4*)p = v;
#endif
}
__device__ __forceinline__ Words2 load2(const void* p, bool evict_first = true)
{
#if STREAMING
    if (evict_first)
    {
        Words2 v;
        asm volatile("ld.global.cs.v2.u32 {%0, %1}, [%2];" : "=r"(v.x), "=r"(v.y) : "l"(p));
        return v;
    }
#endif
    (void)evict_first;
    return *(const Words2*)p;
}
__device__ __forceinline__ void store2(void* p, Words2 v, bool evict_first = true)
{
#if STREAMING
    if (evict_first)
    {
        asm volatile("st.global.cs.v2.u32 [%0], {%1, %2};" :: "l"(p), "r"(v.x), "r"(v.y) : "memory");
        return;
    }
#endif
    (void)evict_first;
    *(Words2*)p = v;
}

// ---- conversions ----

__device__ __forceinline__ float bf16_to_float(unsigned short h) { return __uint_as_float(((unsigned int)h) << 16); }

__device__ __forceinline__ unsigned short float_to_bf16(float x)
{
    unsigned short h;
    asm("cvt.rn.bf16.f32 %0, %1;" : "=h"(h) : "f"(x));
    return h;
}

__device__ __forceinline__ float half_to_float(unsigned short h)
{
    float f;
    asm("cvt.f32.f16 %0, %1;" : "=f"(f) : "h"(h));
    return f;
}

// Two fp8 codes (low byte: first element) to two floats, through f16x2 (exact for both fp8 formats).
template <int DT> __device__ __forceinline__ void fp8x2_to_floats(unsigned short codes, float& first, float& second);
template <> __device__ __forceinline__ void fp8x2_to_floats<DT_E4M3>(unsigned short codes, float& first, float& second)
{
    unsigned int h2;
    asm("cvt.rn.f16x2.e4m3x2 %0, %1;" : "=r"(h2) : "h"(codes));
    first = half_to_float((unsigned short)(h2 & 0xffffu));
    second = half_to_float((unsigned short)(h2 >> 16));
}
template <> __device__ __forceinline__ void fp8x2_to_floats<DT_E5M2>(unsigned short codes, float& first, float& second)
{
    unsigned int h2;
    asm("cvt.rn.f16x2.e5m2x2 %0, %1;" : "=r"(h2) : "h"(codes));
    first = half_to_float((unsigned short)(h2 & 0xffffu));
    second = half_to_float((unsigned short)(h2 >> 16));
}

// Two floats to two fp8 codes, round to nearest even, saturating (the PTX operand a goes to the high byte).
template <int DT> __device__ __forceinline__ unsigned short floats_to_fp8x2(float first, float second);
template <> __device__ __forceinline__ unsigned short floats_to_fp8x2<DT_E4M3>(float first, float second)
{
    unsigned short codes;
    asm("cvt.rn.satfinite.e4m3x2.f32 %0, %1, %2;" : "=h"(codes) : "f"(second), "f"(first));
    return codes;
}
template <> __device__ __forceinline__ unsigned short floats_to_fp8x2<DT_E5M2>(float first, float second)
{
    unsigned short codes;
    asm("cvt.rn.satfinite.e5m2x2.f32 %0, %1, %2;" : "=h"(codes) : "f"(second), "f"(first));
    return codes;
}

template <int DT> __device__ __forceinline__ float fp8_max();
template <> __device__ __forceinline__ float fp8_max<DT_E4M3>() { return E4M3_MAX; }
template <> __device__ __forceinline__ float fp8_max<DT_E5M2>() { return E5M2_MAX; }

// Kahan-compensated bf16 update (optimi): c <- c + delta; prev = p; p <- bf16(p + c); c <- c + (prev - p), the new c
// rounded to bf16 when it is stored. p is the old bf16 parameter, delta the whole float32 update the rule made of it
// (weight decay included: optimi rounds the decay into p directly; here it is compensated too).
__device__ __forceinline__ void kahan_update(float& p, float& c, float delta)
{
    c = c + delta;
    const float prev = p;
    p = bf16_to_float(float_to_bf16(p + c));
    c = c + (prev - p);
}

#ifdef VEC
#if VEC != 8
#error "common.cuh moves groups of 8 elements: two 16-byte vectors of fp32, one of bf16, one 8-byte vector of fp8"
#endif

// ---- a group of VEC elements in a storage format ----

// The 8 fp8 codes of a group as two words (code e in byte e % 4 of word e / 4): `full` groups are in range and aligned
// and move as one 8-byte vector; others byte by byte, codes at or past `end` read as 0 and are not written.
__device__ __forceinline__ void load_codes(const void* base, long long i, long long end, bool full, unsigned int (&w)[2], bool evict_first = true)
{
    const unsigned char* q = (const unsigned char*)base + i;
    if (full)
    {
        const Words2 v = load2(q, evict_first);
        w[0] = v.x;
        w[1] = v.y;
    }
    else
    {
        w[0] = w[1] = 0u;
#pragma unroll
        for (int e = 0; e < VEC; e++)
            if (i + e < end) w[e / 4] |= (unsigned int)q[e] << (8 * (e % 4));
    }
}
__device__ __forceinline__ void store_codes(void* base, long long i, long long end, bool full, const unsigned int (&w)[2], bool evict_first = true)
{
    unsigned char* q = (unsigned char*)base + i;
    if (full)
        store2(q, Words2{w[0], w[1]}, evict_first);
    else
    {
#pragma unroll
        for (int e = 0; e < VEC; e++)
            if (i + e < end) q[e] = (unsigned char)(w[e / 4] >> (8 * (e % 4)));
    }
}

// A group's two code words to its VEC floats, and back (round to nearest even, saturating).
template <int DT> __device__ __forceinline__ void codes_to_floats(const unsigned int (&w)[2], float (&x)[VEC])
{
#pragma unroll
    for (int k = 0; k < 4; k++)
    {
        fp8x2_to_floats<DT>((unsigned short)(w[k / 2] >> (16 * (k % 2))), x[2 * k], x[2 * k + 1]);
    }
}
template <int DT> __device__ __forceinline__ void floats_to_codes(const float (&x)[VEC], unsigned int (&w)[2])
{
    w[0] = w[1] = 0u;
#pragma unroll
    for (int k = 0; k < 4; k++)
        w[k / 2] |= (unsigned int)floats_to_fp8x2<DT>(x[2 * k], x[2 * k + 1]) << (16 * (k % 2));
}

// Loads and stores of one group of VEC elements in a storage format: `full` groups are in range and aligned and move
// as vectors; others element by element, elements at or past `end` read as 0 and are not written. `evict_first`: the
// loads' streaming hint (with STREAMING).
template <int DT> struct Io;

template <> struct Io<DT_FP32>
{
    static __device__ __forceinline__ void load(const void* base, long long i, long long end, bool full, float (&x)[VEC], bool evict_first = true)
    {
        const float* q = (const float*)base + i;
        if (full)
        {
            const Words4 a = load4(q, evict_first), b = load4(q + 4, evict_first);
            x[0] = __uint_as_float(a.x); x[1] = __uint_as_float(a.y); x[2] = __uint_as_float(a.z); x[3] = __uint_as_float(a.w);
            x[4] = __uint_as_float(b.x); x[5] = __uint_as_float(b.y); x[6] = __uint_as_float(b.z); x[7] = __uint_as_float(b.w);
        }
        else
        {
#pragma unroll
            for (int e = 0; e < VEC; e++) x[e] = i + e < end ? q[e] : 0.0f;
        }
    }
    static __device__ __forceinline__ void store(void* base, long long i, long long end, bool full, const float (&x)[VEC])
    {
        float* q = (float*)base + i;
        if (full)
        {
            store4(q, Words4{__float_as_uint(x[0]), __float_as_uint(x[1]), __float_as_uint(x[2]), __float_as_uint(x[3])});
            store4(q + 4, Words4{__float_as_uint(x[4]), __float_as_uint(x[5]), __float_as_uint(x[6]), __float_as_uint(x[7])});
        }
        else
        {
#pragma unroll
            for (int e = 0; e < VEC; e++)
                if (i + e < end) q[e] = x[e];
        }
    }
};

template <> struct Io<DT_BF16>
{
    static __device__ __forceinline__ void load(const void* base, long long i, long long end, bool full, float (&x)[VEC], bool evict_first = true)
    {
        const unsigned short* q = (const unsigned short*)base + i;
        if (full)
        {
            const Words4 v = load4(q, evict_first);
            const unsigned int w[4] = {v.x, v.y, v.z, v.w};
#pragma unroll
            for (int k = 0; k < 4; k++)
            {
                x[2 * k] = __uint_as_float(w[k] << 16);
                x[2 * k + 1] = __uint_as_float(w[k] & 0xffff0000u);
            }
        }
        else
        {
#pragma unroll
            for (int e = 0; e < VEC; e++) x[e] = i + e < end ? bf16_to_float(q[e]) : 0.0f;
        }
    }
    static __device__ __forceinline__ void store(void* base, long long i, long long end, bool full, const float (&x)[VEC])
    {
        unsigned short* q = (unsigned short*)base + i;
        if (full)
        {
            unsigned int w[4];
#pragma unroll
            for (int k = 0; k < 4; k++)
                w[k] = (unsigned int)float_to_bf16(x[2 * k]) | ((unsigned int)float_to_bf16(x[2 * k + 1]) << 16);
            store4(q, Words4{w[0], w[1], w[2], w[3]});
        }
        else
        {
#pragma unroll
            for (int e = 0; e < VEC; e++)
                if (i + e < end) q[e] = float_to_bf16(x[e]);
        }
    }
};

// fp8 e4m3 and e5m2: 8 codes are 8 bytes, moved as one Words2.
template <int DT> struct Fp8Io
{
    static __device__ __forceinline__ void load(const void* base, long long i, long long end, bool full, float (&x)[VEC], bool evict_first = true)
    {
        unsigned int w[2];
        load_codes(base, i, end, full, w, evict_first);
        codes_to_floats<DT>(w, x);
    }
    static __device__ __forceinline__ void store(void* base, long long i, long long end, bool full, const float (&x)[VEC])
    {
        unsigned int w[2];
        floats_to_codes<DT>(x, w);
        store_codes(base, i, end, full, w);
    }
};
template <> struct Io<DT_E4M3> : Fp8Io<DT_E4M3> {};
template <> struct Io<DT_E5M2> : Fp8Io<DT_E5M2> {};
#endif
