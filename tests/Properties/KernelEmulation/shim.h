// Host emulation of the CUDA built-ins elementwise.cu uses, for compiling the kernel source with g++ and running it on
// the CPU (KernelEmulationTests): threads of a block are std::threads, a warp shuffle meets at a barrier, and the PTX
// conversions (which KernelEmulationTests rewrites into the emu_* calls below) follow the PTX ISA: round to nearest
// even, fp8 satfinite. The kernel's arithmetic is then the same float32 code the GPU runs; the CUDA run of
// `s3gd verify` checks the hardware conversions themselves against the CPU twin.
#include <cmath>
#include <cstring>
#include <cstdint>
#include <barrier>
#define __global__
#define __device__
#define __forceinline__ inline
#define __launch_bounds__(...)
#define __restrict__ __restrict
struct Dim { unsigned x, y; };
extern thread_local Dim threadIdx;
extern Dim blockIdx;
inline float __uint_as_float(unsigned u) { float f; std::memcpy(&f, &u, 4); return f; }
inline unsigned __float_as_uint(float f) { unsigned u; std::memcpy(&u, &f, 4); return u; }

// __shfl_xor_sync: every lane of the warp writes its value, waits, reads its partner's, waits.
extern std::barrier<>* warp_barrier[8];
extern float warp_slots[256];
inline float __shfl_xor_sync(unsigned, float v, int lane_mask)
{
    const unsigned t = threadIdx.x, w = t / 32;
    warp_slots[t] = v;
    warp_barrier[w]->arrive_and_wait();
    const float r = warp_slots[(t & ~31u) | ((t & 31u) ^ (unsigned)lane_mask)];
    warp_barrier[w]->arrive_and_wait();
    return r;
}

// cvt.rn.bf16.f32: round to nearest even (the quiet NaN keeps its sign and upper payload).
inline unsigned short emu_f2bf(float x)
{
    const unsigned b = __float_as_uint(x);
    if (x != x) return (unsigned short)((b >> 16) | 0x40u);
    return (unsigned short)((b + 0x7FFFu + ((b >> 16) & 1u)) >> 16);
}

// cvt.f32.f16: exact.
inline float emu_h2f(unsigned short h)
{
    const unsigned s = (unsigned)(h & 0x8000u) << 16, e = (h >> 10) & 0x1Fu, m = h & 0x3FFu;
    if (e == 0x1Fu) return __uint_as_float(s | 0x7F800000u | (m << 13));
    if (e == 0u) { const float v = std::ldexp((float)m, -24); return s ? -v : v; }
    return __uint_as_float(s | ((e + 112u) << 23) | (m << 13));
}

// One e4m3fn code as f16 bits (exact: every e4m3 value is a normal f16).
inline unsigned short e4m3_to_half(unsigned code)
{
    const unsigned sign = (code & 0x80u) << 8, mag = code & 0x7Fu;
    if (mag == 0x7Fu) return (unsigned short)(sign | 0x7E00u);
    if (mag == 0u) return (unsigned short)sign;
    int field = (int)(mag >> 3);
    unsigned mant = mag & 7u;
    if (field == 0)
    {
        const int shift = 3 - (int)std::log2((double)mant);
        mant = (mant << shift) & 7u;
        field = 1 - shift;
    }
    return (unsigned short)(sign | ((unsigned)(field + 8) << 10) | (mant << 7));
}

// cvt.rn.f16x2.e4m3x2 / e5m2x2: the low byte to the low half (e5m2 is the upper byte of an f16).
inline unsigned emu_e4m3x2_h2(unsigned short c) { return e4m3_to_half(c & 0xFFu) | ((unsigned)e4m3_to_half(c >> 8) << 16); }
inline unsigned emu_e5m2x2_h2(unsigned short c) { return ((c & 0xFFu) << 8) | ((unsigned)(c >> 8) << 24); }

// float32 to an fp8 code, round to nearest even on the significand, saturating (satfinite); NaN to 0x7F.
inline unsigned char emu_f2fp8(int bias, int mantissa_bits, unsigned max_code, float x)
{
    if (x != x) return 0x7F;
    const unsigned bits = __float_as_uint(x), sign = (bits >> 24) & 0x80u;
    const int field = (int)((bits >> 23) & 0xFFu);
    if (field == 0) return (unsigned char)sign;
    if (field == 0xFF) return (unsigned char)(sign | max_code);
    const int exponent = field - 127, min_exponent = 1 - bias;
    const int kept = exponent > min_exponent ? exponent : min_exponent;
    const unsigned significand = (bits & 0x7FFFFFu) | 0x800000u;
    const int drop = 23 - mantissa_bits + (kept - exponent);
    unsigned rounded = 0;
    if (drop < 32)
    {
        rounded = significand >> drop;
        const unsigned rest = significand & ((1u << drop) - 1u), half = 1u << (drop - 1);
        if (rest > half || (rest == half && (rounded & 1u))) rounded++;
    }
    const unsigned code = ((unsigned)(kept - min_exponent) << mantissa_bits) + rounded;
    return (unsigned char)(sign | (code < max_code ? code : max_code));
}

// cvt.rn.satfinite.e4m3x2.f32 / e5m2x2: the first operand to the high byte, the second to the low byte.
inline unsigned short emu_f2e4m3x2(float hi, float lo) { return (unsigned short)(emu_f2fp8(7, 3, 0x7Eu, lo) | (emu_f2fp8(7, 3, 0x7Eu, hi) << 8)); }
inline unsigned short emu_f2e5m2x2(float hi, float lo) { return (unsigned short)(emu_f2fp8(15, 2, 0x7Bu, lo) | (emu_f2fp8(15, 2, 0x7Bu, hi) << 8)); }
