// Format conversion between float32 and the storage codes: `encode` (float32 -> code) and `decode`
// (code -> float32), one element per thread per grid-stride step. The CPU twin is Cpu/CpuConvert.cs;
// both follow the spec (S3gd.Spec.Formats) bit for bit: round to nearest even, fp8 saturating
// (satfinite), a bf16 NaN keeps its sign and upper payload and is made quiet, an fp8 NaN encodes to
// 0x7F, and an fp8 NaN decodes to the canonical float32 NaN 0x7FFFFFFF.
//
// Specialised by -DS3GD_FORMAT=<n>, the ElementType value: 0 float32, 1 bf16, 2 fp8 e4m3fn, 3 fp8 e5m2.

#define S3GD_FLOAT32 0
#define S3GD_BF16 1
#define S3GD_FP8_E4M3 2
#define S3GD_FP8_E5M2 3

#ifndef S3GD_FORMAT
#error "compile with -DS3GD_FORMAT=<0..3>"
#endif

#if S3GD_FORMAT == S3GD_FLOAT32
typedef unsigned int code_t;
#elif S3GD_FORMAT == S3GD_BF16
typedef unsigned short code_t;
#else
typedef unsigned char code_t;
#endif

// The code every fp8 encode writes for NaN.
#define FP8_NAN 0x7Fu
// The bf16 quiet bit (top mantissa bit).
#define BF16_QUIET 0x40u
// The float32 NaN every fp8 decode writes.
#define CANONICAL_NAN 0x7FFFFFFFu

__device__ __forceinline__ code_t encode_one(float x)
{
#if S3GD_FORMAT == S3GD_FLOAT32
    return __float_as_uint(x);
#elif S3GD_FORMAT == S3GD_BF16
    unsigned int bits = __float_as_uint(x);
    if (x != x) return (code_t)((bits >> 16) | BF16_QUIET);
#if __CUDA_ARCH__ >= 800
    unsigned short code;
    asm("cvt.rn.bf16.f32 %0, %1;" : "=h"(code) : "f"(x));
    return code;
#else
    // Before sm_80 there is no bf16 cvt: round to nearest even on the bits (0x7FFF plus the lowest kept bit).
    return (code_t)((bits + 0x7FFFu + ((bits >> 16) & 1u)) >> 16);
#endif
#else
    if (x != x) return FP8_NAN;
    // The x2 conversions pack two values: the first operand goes to the upper byte, the second to the lower.
    unsigned short pair;
#if S3GD_FORMAT == S3GD_FP8_E4M3
    asm("cvt.rn.satfinite.e4m3x2.f32 %0, %1, %2;" : "=h"(pair) : "f"(0.0f), "f"(x));
#else
    asm("cvt.rn.satfinite.e5m2x2.f32 %0, %1, %2;" : "=h"(pair) : "f"(0.0f), "f"(x));
#endif
    return (code_t)(pair & 0xFFu);
#endif
}

__device__ __forceinline__ float decode_one(code_t code)
{
#if S3GD_FORMAT == S3GD_FLOAT32
    return __uint_as_float(code);
#elif S3GD_FORMAT == S3GD_BF16
    return __uint_as_float((unsigned int)code << 16);
#else
    unsigned int halves;
    unsigned short packed = code;
#if S3GD_FORMAT == S3GD_FP8_E4M3
    asm("cvt.rn.f16x2.e4m3x2 %0, %1;" : "=r"(halves) : "h"(packed));
#else
    asm("cvt.rn.f16x2.e5m2x2 %0, %1;" : "=r"(halves) : "h"(packed));
#endif
    unsigned short low = (unsigned short)(halves & 0xFFFFu);
    float value;
    asm("cvt.f32.f16 %0, %1;" : "=f"(value) : "h"(low));
    return value != value ? __uint_as_float(CANONICAL_NAN) : value;
#endif
}

extern "C" __global__ void encode(const float* __restrict__ source, code_t* __restrict__ destination, long long n)
{
    for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < n; i += (long long)gridDim.x * blockDim.x)
        destination[i] = encode_one(source[i]);
}

extern "C" __global__ void decode(const code_t* __restrict__ source, float* __restrict__ destination, long long n)
{
    for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < n; i += (long long)gridDim.x * blockDim.x)
        destination[i] = decode_one(source[i]);
}
