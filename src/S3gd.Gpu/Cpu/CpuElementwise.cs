using System.Runtime.InteropServices;
using S3gd.Gpu.Elementwise;
using S3gd.Spec.Formats;

namespace S3gd.Gpu.Cpu;

/// <summary>One tensor of a CPU elementwise step: the raw element bytes of every buffer, as the CPU backend holds them.</summary>
/// <param name="Param">The parameter codes (fp32 or bf16), updated in place.</param>
/// <param name="Grad">The gradient codes (fp32 or bf16).</param>
/// <param name="States">The three state slots' codes (null where the configuration keeps no such buffer), updated in place.</param>
/// <param name="Scales">The three state slots' float32 block scales (null unless the slot is block-scaled fp8), updated in place.</param>
/// <param name="Length">Elements of the parameter.</param>
public sealed record CpuElementwiseTensor(byte[] Param, byte[] Grad, IReadOnlyList<byte[]?> States, IReadOnlyList<byte[]?> Scales, int Length);

/// <summary>
/// The CPU twin of <c>Cuda/Kernels/elementwise.cu</c>: the same float32 operations in the same order (MathF.FusedMultiplyAdd
/// where the kernel has fmaf, nothing else fused), the same conversions and block scales, so results are equal bit for bit
/// (NaN payloads aside). Parallel over the kernel's chunks.
/// </summary>
public static class CpuElementwise
{
    /// <summary>The largest finite fp8 e4m3fn (E4M3_MAX).</summary>
    private const float E4M3Max = 448.0f;

    /// <summary>The largest finite fp8 e5m2 (E5M2_MAX).</summary>
    private const float E5M2Max = 57344.0f;

    private static readonly float[] DecodeE4M3 = Table(StorageFormat.Fp8E4M3);
    private static readonly float[] DecodeE5M2 = Table(StorageFormat.Fp8E5M2);

    /// <summary>
    /// One step over every tensor. A set <paramref name="foundInf"/> (with <see cref="ElementwiseConfig.FoundInf"/>)
    /// makes it a no-op, as the kernel's device flag does.
    /// </summary>
    public static void Step(ElementwiseConfig config, StepScalars scalars, IReadOnlyList<CpuElementwiseTensor> tensors, bool foundInf = false)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(tensors);
        if (config.FoundInf && foundInf) return;
        var chunks = new ElementwiseChunks(tensors.Select(t => (long)t.Length).ToArray());
        Parallel.For(0, chunks.Count, () => new Scratch(), (chunk, _, scratch) =>
        {
            var tensor = tensors[chunks.ChunkTensor[chunk]];
            var start = (int)chunks.Start(chunk);
            StepChunk(config, scalars, tensor, start, Math.Min(ElementwiseLayout.Chunk, tensor.Length - start), scratch);
            return scratch;
        }, _ => { });
    }

    /// <summary>Per-thread float32 working copies of one chunk of each buffer.</summary>
    private sealed class Scratch
    {
        public readonly float[] P = new float[ElementwiseLayout.Chunk];
        public readonly float[] G = new float[ElementwiseLayout.Chunk];
        public readonly float[][] S = [new float[ElementwiseLayout.Chunk], new float[ElementwiseLayout.Chunk], new float[ElementwiseLayout.Chunk]];
    }

    private static void StepChunk(ElementwiseConfig c, in StepScalars sc, CpuElementwiseTensor t, int start, int count, Scratch w)
    {
        var p = w.P.AsSpan(0, count);
        var g = w.G.AsSpan(0, count);
        Load(c.Param, t.Param, null, start, p);
        Load(c.Grad, t.Grad, null, start, g);
        for (var k = 0; k < 3; k++)
        {
            var s = w.S[k].AsSpan(0, count);
            if (c.States[k] is { } f) Load(f.Format, t.States[k]!, f.BlockScaled ? t.Scales[k] : null, start, s);
            else s.Clear();
        }
        var s0 = w.S[0].AsSpan(0, count);
        var s1 = w.S[1].AsSpan(0, count);
        var s2 = w.S[2].AsSpan(0, count);
        var bf16 = c.MathBf16;
        for (var i = 0; i < count; i++)
        {
            p[i] = Rm(bf16, p[i]);
            s0[i] = Rm(bf16, s0[i]);
            s1[i] = Rm(bf16, s1[i]);
            s2[i] = Rm(bf16, s2[i]);
            StepElement(c, sc, ref p[i], Rm(bf16, g[i]), ref s0[i], ref s1[i], ref s2[i]);
        }
        Store(c.Param, t.Param, null, start, p);
        for (var k = 0; k < 3; k++)
            if (c.States[k] is { } f) Store(f.Format, t.States[k]!, f.BlockScaled ? t.Scales[k] : null, start, w.S[k].AsSpan(0, count));
    }

    /// <summary>step_element of the kernel, operation for operation.</summary>
    private static void StepElement(ElementwiseConfig c, in StepScalars sc, ref float p, float g, ref float s0, ref float s1, ref float s2)
    {
        var bf16 = c.MathBf16;
        float Mul(float a, float b) => Rm(bf16, a * b);
        float Add(float a, float b) => Rm(bf16, a + b);
        float Div(float a, float b) => Rm(bf16, a / b);
        float Root(float a) => Rm(bf16, MathF.Sqrt(a));
        float Madd(float a, float b, float d) => bf16 ? Rm(true, Rm(true, a * b) + d) : MathF.FusedMultiplyAdd(a, b, d);

        if (c.GradScale) g = Div(g, sc.GradScale);
        if (c.Maximize) g = -g;
        if (c.WeightDecayCoupled) g = Madd(sc.Wd, p, g);
        if (c.WeightDecayDecoupled) p = Mul(p, sc.Decay);

        switch (c.Rule)
        {
            case ElementwiseRule.Sgd:
            {
                var d = g;
                if (c.Momentum)
                {
                    s0 = sc.FirstStep != 0 ? g : Madd(sc.Beta1, s0, Mul(sc.OneMinusBeta1, g));
                    d = c.Nesterov ? Madd(sc.Beta1, s0, g) : s0;
                }
                p = Madd(-sc.Lr, d, p);
                break;
            }
            case ElementwiseRule.Adam:
            {
                s0 = Madd(sc.Beta1, s0, Mul(sc.OneMinusBeta1, g));
                s1 = Madd(sc.Beta2, s1, Mul(sc.OneMinusBeta2, Mul(g, g)));
                var v = s1;
                if (c.Amsgrad)
                {
                    s2 = float.MaxNumber(s2, s1);
                    v = s2;
                }
                var denom = Madd(Root(v), sc.InvSqrtBc2, sc.Eps);
                p = Madd(-sc.StepSize, Div(s0, denom), p);
                break;
            }
            case ElementwiseRule.RmsProp:
            {
                s0 = Madd(sc.Beta1, s0, Mul(sc.OneMinusBeta1, Mul(g, g)));
                float avg;
                if (c.Centered)
                {
                    s2 = Madd(sc.Beta1, s2, Mul(sc.OneMinusBeta1, g));
                    avg = Add(Root(Madd(-s2, s2, s0)), sc.Eps);
                }
                else avg = Add(Root(s0), sc.Eps);
                if (c.Momentum)
                {
                    s1 = Madd(sc.Beta2, s1, Div(g, avg));
                    p = Madd(-sc.Lr, s1, p);
                }
                else p = Madd(-sc.Lr, Div(g, avg), p);
                break;
            }
            case ElementwiseRule.S3gd:
                s0 = Madd(sc.Beta1, s0, Mul(sc.OneMinusBeta1, Sign(g)));
                p = Madd(-sc.Lr, s0, p);
                break;
            case ElementwiseRule.Lion:
            {
                var u = Sign(Madd(sc.Beta1, s0, Mul(sc.OneMinusBeta1, g)));
                p = Madd(-sc.Lr, u, p);
                s0 = Madd(sc.Beta2, s0, Mul(sc.OneMinusBeta2, g));
                break;
            }
            case ElementwiseRule.LaProp:
            {
                s1 = Madd(sc.Beta2, s1, Mul(sc.OneMinusBeta2, Mul(g, g)));
                var denom = Madd(Root(s1), sc.InvSqrtBc2, sc.Eps);
                s0 = Madd(sc.Beta1, s0, Mul(sc.OneMinusBeta1, Div(g, denom)));
                p = Madd(-sc.StepSize, s0, p);
                break;
            }
            case ElementwiseRule.AdEMAMix:
            {
                var fast = g;
                if (!c.FastIsGrad)
                {
                    s0 = Madd(sc.Beta1, s0, Mul(sc.OneMinusBeta1, g));
                    fast = s0;
                }
                s1 = Madd(sc.Beta3, s1, Mul(sc.OneMinusBeta3, g));
                s2 = Madd(sc.Beta2, s2, Mul(sc.OneMinusBeta2, Mul(g, g)));
                var denom = Madd(Root(s2), sc.InvSqrtBc2, sc.Eps);
                p = Madd(-sc.Lr, Div(Madd(sc.Alpha, s1, Mul(fast, sc.InvBc1)), denom), p);
                break;
            }
            case ElementwiseRule.SimAdEMAMix:
            {
                s0 = Madd(sc.Beta1, s0, g);
                s1 = Madd(sc.Beta2, s1, Mul(sc.OneMinusBeta2, Mul(g, g)));
                var denom = Madd(Root(s1), sc.InvSqrtBc2, sc.Eps);
                p = Madd(-sc.Lr, Div(Madd(sc.Alpha, g, Mul(s0, sc.InvBc1)), denom), p);
                break;
            }
            case ElementwiseRule.Signum:
            {
                s0 = Madd(sc.Beta1, s0, Mul(sc.OneMinusBeta1, g));
                var u = c.Nesterov ? Sign(Madd(sc.NesterovM, s0, Mul(sc.NesterovG, g))) : Sign(s0);
                p = Madd(-sc.Lr, u, p);
                break;
            }
        }
    }

    /// <summary>torch.sign as the kernel's sgn: -1, 0 or +1; a zero keeps its sign and NaN stays NaN.</summary>
    private static float Sign(float x) => x > 0.0f ? 1.0f : x < 0.0f ? -1.0f : x;

    /// <summary>The kernel's rm: rounds to bf16 in bf16 maths, otherwise the identity.</summary>
    private static float Rm(bool bf16, float x) => bf16 ? DecodeBf16(EncodeBf16(x)) : x;

    /// <summary>float32 to bf16 as the kernel's cvt.rn.bf16.f32 (round to nearest even, as the spec).</summary>
    private static ushort EncodeBf16(float x) => CpuConvert.EncodeBf16(x);

    private static float DecodeBf16(ushort code) => BitConverter.UInt32BitsToSingle((uint)code << 16);

    /// <summary>Decodes elements [start, start+x.Length) of a buffer, times their block scale where <paramref name="scales"/> is given.</summary>
    private static void Load(StorageFormat f, byte[] data, byte[]? scales, int start, Span<float> x)
    {
        switch (f.Tag)
        {
            case StorageFormat.Tags.Fp32:
                MemoryMarshal.Cast<byte, float>(data.AsSpan()).Slice(start, x.Length).CopyTo(x);
                break;
            case StorageFormat.Tags.Bf16:
            {
                var codes = MemoryMarshal.Cast<byte, ushort>(data.AsSpan()).Slice(start, x.Length);
                for (var i = 0; i < x.Length; i++) x[i] = DecodeBf16(codes[i]);
                break;
            }
            default:
            {
                var table = f.IsFp8E4M3 ? DecodeE4M3 : DecodeE5M2;
                var codes = data.AsSpan(start, x.Length);
                for (var i = 0; i < x.Length; i++) x[i] = table[codes[i]];
                if (scales is not null)
                {
                    var s = MemoryMarshal.Cast<byte, float>(scales.AsSpan());
                    for (var i = 0; i < x.Length; i++) x[i] *= s[(start + i) / ElementwiseLayout.ScaleBlock];
                }
                break;
            }
        }
    }

    /// <summary>Encodes x into elements [start, start+x.Length) of a buffer; with <paramref name="scales"/>, block-scaled (store_scaled).</summary>
    private static void Store(StorageFormat f, byte[] data, byte[]? scales, int start, Span<float> x)
    {
        switch (f.Tag)
        {
            case StorageFormat.Tags.Fp32:
                x.CopyTo(MemoryMarshal.Cast<byte, float>(data.AsSpan()).Slice(start, x.Length));
                break;
            case StorageFormat.Tags.Bf16:
            {
                var codes = MemoryMarshal.Cast<byte, ushort>(data.AsSpan()).Slice(start, x.Length);
                for (var i = 0; i < x.Length; i++) codes[i] = EncodeBf16(x[i]);
                break;
            }
            default:
            {
                var e4m3 = f.IsFp8E4M3;
                var codes = data.AsSpan(start, x.Length);
                if (scales is null)
                {
                    for (var i = 0; i < x.Length; i++) codes[i] = EncodeFp8(e4m3, x[i]);
                    break;
                }
                var s = MemoryMarshal.Cast<byte, float>(scales.AsSpan());
                for (var b = 0; b < x.Length; b += ElementwiseLayout.ScaleBlock)
                {
                    var block = x.Slice(b, Math.Min(ElementwiseLayout.ScaleBlock, x.Length - b));
                    var absmax = 0.0f;
                    foreach (var v in block) absmax = float.MaxNumber(absmax, MathF.Abs(v));
                    var scale = absmax == 0.0f ? 1.0f : absmax / (e4m3 ? E4M3Max : E5M2Max);
                    for (var i = 0; i < block.Length; i++) codes[b + i] = EncodeFp8(e4m3, block[i] / scale);
                    s[(start + b) / ElementwiseLayout.ScaleBlock] = scale;
                }
                break;
            }
        }
    }

    /// <summary>float32 to fp8 as cvt.rn.satfinite (round to nearest even, saturating, as the spec).</summary>
    private static byte EncodeFp8(bool e4m3, float x) => e4m3 ? CpuConvert.EncodeE4M3(x) : CpuConvert.EncodeE5M2(x);

    private static float[] Table(StorageFormat f) =>
        Enumerable.Range(0, 256).Select(code => (float)StorageFormatModule.decode(f, (uint)code)).ToArray();
}
