using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using S3gd.Gpu.Elementwise;
using S3gd.Gpu.Maths;
using S3gd.Spec.Formats;

namespace S3gd.Gpu.Cpu;

/// <summary>One tensor of a CPU elementwise step: the raw element bytes of every buffer, as the CPU backend holds them.</summary>
/// <param name="Param">The parameter codes (fp32 or bf16), updated in place.</param>
/// <param name="Grad">The gradient codes (fp32 or bf16).</param>
/// <param name="States">The three state slots' codes (null where the configuration keeps no such buffer), updated in place.</param>
/// <param name="Scales">The three state slots' float32 block scales (null unless the slot is block-scaled fp8), updated in place.</param>
/// <param name="Length">Elements of the parameter.</param>
/// <param name="Compensation">The bf16 Kahan compensation codes (with <see cref="ParamUpdate.Kahan"/>, else null), updated in place.</param>
public sealed record CpuElementwiseTensor(
    byte[] Param, byte[] Grad, IReadOnlyList<byte[]?> States, IReadOnlyList<byte[]?> Scales, int Length, byte[]? Compensation = null);

/// <summary>A configuration's CPU elementwise step, compiled for its types (<see cref="CpuElementwise.For"/>).</summary>
public interface ICpuElementwiseStep
{
    /// <summary>One step over every tensor.</summary>
    void Run(in StepScalars scalars, IReadOnlyList<CpuElementwiseTensor> tensors);
}

/// <summary>
/// The CPU backend's elementwise step: the rule's maths (<see cref="IElementwiseRule"/>, the code the kernels run) over
/// sixteen Vector512 or eight Vector256 lanes at a time (the tails one element at a time, the same operations), between the same conversions
/// and block scales as the kernels, so results are equal bit for bit (NaN payloads aside). Parallel over the kernel's chunks.
/// </summary>
public static class CpuElementwise
{
    /// <summary>
    /// Elements of a chunk stepped at a time, so that the float32 working copies of every buffer stay in the L1 cache: eight
    /// scale blocks (each piece holds whole blocks, the chunk being a multiple of it).
    /// </summary>
    private const int Piece = 8 * ElementwiseLayout.ScaleBlock;

    /// <summary>The step of a configuration, compiled for its rule, preparation and maths.</summary>
    public static ICpuElementwiseStep For(ElementwiseConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        return config.Accept(new StepVisitor(config));
    }

    private sealed class StepVisitor(ElementwiseConfig config) : IElementwiseVisitor<ICpuElementwiseStep>
    {
        public ICpuElementwiseStep Visit<TRule, TPrep>()
            where TRule : struct, IElementwiseRule
            where TPrep : struct, IGradientPrep =>
            (Vector512.IsHardwareAccelerated, config.MathBf16) switch
            {
                (true, true) => new Step<TRule, TPrep, Vector512<float>, WideVectorBf16Maths, Bf16Maths>(config),
                (true, false) => new Step<TRule, TPrep, Vector512<float>, WideVectorMaths, ScalarMaths>(config),
                (false, true) => new Step<TRule, TPrep, Vector256<float>, VectorBf16Maths, Bf16Maths>(config),
                (false, false) => new Step<TRule, TPrep, Vector256<float>, VectorMaths, ScalarMaths>(config),
            };
    }

    /// <summary>
    /// One configuration's step: the rule's maths in the maths <typeparamref name="MV"/> of float32 vectors <typeparamref name="TV"/>
    /// (Vector512 where the hardware has it, else Vector256) and one-element maths <typeparamref name="MS"/>.
    /// </summary>
    private sealed class Step<TRule, TPrep, TV, MV, MS>(ElementwiseConfig c) : ICpuElementwiseStep
        where TRule : struct, IElementwiseRule
        where TPrep : struct, IGradientPrep
        where TV : struct
        where MV : struct, IMaths<TV>
        where MS : struct, IMaths<float>
    {
        public void Run(in StepScalars scalars, IReadOnlyList<CpuElementwiseTensor> tensors)
        {
            ArgumentNullException.ThrowIfNull(tensors);
            for (var i = 0; i < tensors.Count; i++)
                if (c.HasCompensation && tensors[i].Compensation is null)
                    throw new ArgumentException($"tensors[{i}].Compensation is missing: paramUpdate=kahan keeps one", nameof(tensors));
            var chunks = new ElementwiseChunks(tensors.Select(t => (long)t.Length).ToArray());
            var sc = scalars;
            var lanes = new ElementwiseScalars<TV, MV>(scalars);
            var one = new ElementwiseScalars<float, MS>(scalars);
            Parallel.For(0, chunks.Count, chunk =>
            {
                var scratch = Scratch.Local;
                var index = chunks.ChunkTensor[chunk];
                var tensor = tensors[index];
                var start = (int)chunks.Start(chunk);
                var count = Math.Min(ElementwiseLayout.Chunk, tensor.Length - start);
                for (var at = 0; at < count; at += Piece) StepPiece(sc, lanes, one, tensor, index, start + at, Math.Min(Piece, count - at), scratch);
            });
        }

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private void StepPiece(
            in StepScalars sc, in ElementwiseScalars<TV, MV> lanes, in ElementwiseScalars<float, MS> one,
            CpuElementwiseTensor t, int tensor, int start, int count, Scratch w)
        {
            // float32 buffers are stepped where they lie; the others are decoded into the scratch and encoded back.
            var p = View(c.Param, t.Param, null, start, w.P.AsSpan(0, count));
            var g = View(c.Grad, t.Grad, null, start, w.G.AsSpan(0, count));
            var s0 = Slot(t, 0, start, w.S[0].AsSpan(0, count));
            var s1 = Slot(t, 1, start, w.S[1].AsSpan(0, count));
            var s2 = Slot(t, 2, start, w.S[2].AsSpan(0, count));
            // Kahan compensation needs the parameter before the step; the other updates do not.
            var old = w.Old.AsSpan(0, count);
            if (c.ParamUpdate == ParamUpdate.Kahan) p.CopyTo(old);
            var whole = Vector256.IsHardwareAccelerated ? count - count % (Unsafe.SizeOf<TV>() / sizeof(float)) : 0;
            if (whole > 0) Vectors(lanes, p[..whole], g[..whole], Head(s0, whole), Head(s1, whole), Head(s2, whole));
            Elements(one, p[whole..], g[whole..], Tail(s0, whole), Tail(s1, whole), Tail(s2, whole));
            switch (c.ParamUpdate)
            {
                case ParamUpdate.Kahan:
                {
                    var comp = View(StorageFormat.Bf16, t.Compensation!, null, start, w.C.AsSpan(0, count));
                    CpuKahan.Update(p, old, comp);
                    Store(StorageFormat.Bf16, t.Compensation!, null, start, comp);
                    break;
                }
                case ParamUpdate.Stochastic:
                    StochasticRounding.Round(p, StochasticRounding.Stream(sc.Seed, sc.Step, (uint)tensor), start);
                    break;
            }
            Store(c.Param, t.Param, null, start, p);
            for (var k = 0; k < 3; k++)
                if (c.States[k] is { } f) Store(f.Storage, t.States[k]!, f.BlockScaled ? t.Scales[k] : null, start, k == 0 ? s0 : k == 1 ? s1 : s2);
        }

        /// <summary>A state slot's elements as float32; empty for a slot the configuration does not keep (the step reads zeros and writes nothing).</summary>
        private Span<float> Slot(CpuElementwiseTensor t, int k, int start, Span<float> scratch) =>
            c.States[k] is { } f ? View(f.Storage, t.States[k]!, f.BlockScaled ? t.Scales[k] : null, start, scratch) : Span<float>.Empty;

        /// <summary>A slot's first <paramref name="n"/> elements (an empty slot stays empty).</summary>
        private static Span<float> Head(Span<float> slot, int n) => slot.IsEmpty ? slot : slot[..n];

        /// <summary>A slot's elements from <paramref name="n"/> on (an empty slot stays empty).</summary>
        private static Span<float> Tail(Span<float> slot, int n) => slot.IsEmpty ? slot : slot[n..];

        /// <summary>Whole vectors: locals, not the spans' elements, through the step, so the lanes stay in registers.</summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private static void Vectors(
            in ElementwiseScalars<TV, MV> sc, Span<float> p, Span<float> g, Span<float> s0, Span<float> s1, Span<float> s2)
        {
            MV m = default;
            var vp = MemoryMarshal.Cast<float, TV>(p);
            var vg = MemoryMarshal.Cast<float, TV>(g);
            var v0 = MemoryMarshal.Cast<float, TV>(s0);
            var v1 = MemoryMarshal.Cast<float, TV>(s1);
            var v2 = MemoryMarshal.Cast<float, TV>(s2);
            var (keep0, keep1, keep2) = (!v0.IsEmpty, !v1.IsEmpty, !v2.IsEmpty);
            for (var i = 0; i < vp.Length; i++)
            {
                var pi = m.Load(vp[i]);
                var x0 = keep0 ? m.Load(v0[i]) : default;
                var x1 = keep1 ? m.Load(v1[i]) : default;
                var x2 = keep2 ? m.Load(v2[i]) : default;
                ElementwiseStep.Element<TV, MV, TPrep, TRule>(sc, ref pi, m.Load(vg[i]), ref x0, ref x1, ref x2);
                vp[i] = pi;
                if (keep0) v0[i] = x0;
                if (keep1) v1[i] = x1;
                if (keep2) v2[i] = x2;
            }
        }

        /// <summary>One element at a time (the tail of a piece).</summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private static void Elements(in ElementwiseScalars<float, MS> sc, Span<float> p, Span<float> g, Span<float> s0, Span<float> s1, Span<float> s2)
        {
            MS m = default;
            var (keep0, keep1, keep2) = (!s0.IsEmpty, !s1.IsEmpty, !s2.IsEmpty);
            for (var i = 0; i < p.Length; i++)
            {
                var pi = m.Load(p[i]);
                var x0 = keep0 ? m.Load(s0[i]) : 0.0f;
                var x1 = keep1 ? m.Load(s1[i]) : 0.0f;
                var x2 = keep2 ? m.Load(s2[i]) : 0.0f;
                ElementwiseStep.Element<float, MS, TPrep, TRule>(sc, ref pi, m.Load(g[i]), ref x0, ref x1, ref x2);
                p[i] = pi;
                if (keep0) s0[i] = x0;
                if (keep1) s1[i] = x1;
                if (keep2) s2[i] = x2;
            }
        }
    }

    /// <summary>Per-thread float32 working copies of one piece of each buffer (kept by each thread between steps).</summary>
    private sealed class Scratch
    {
        [ThreadStatic] private static Scratch? local;

        /// <summary>This thread's scratch.</summary>
        public static Scratch Local => local ??= new Scratch();

        public readonly float[] P = new float[Piece];
        public readonly float[] G = new float[Piece];
        public readonly float[] Old = new float[Piece];
        public readonly float[] C = new float[Piece];
        public readonly float[][] S = [new float[Piece], new float[Piece], new float[Piece]];
    }

    /// <summary>
    /// Elements [start, start+scratch.Length) of a buffer as float32: the buffer itself when it is float32 (stepped in
    /// place), else decoded into the scratch, times their block scale where <paramref name="scales"/> is given.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static Span<float> View(StorageFormat f, byte[] data, byte[]? scales, int start, Span<float> scratch)
    {
        var x = scratch;
        switch (f.Tag)
        {
            case StorageFormat.Tags.Fp32:
                return MemoryMarshal.Cast<byte, float>(data.AsSpan()).Slice(start, scratch.Length);
            case StorageFormat.Tags.Bf16:
                CpuConvert.DecodeBf16(MemoryMarshal.Cast<byte, ushort>(data.AsSpan()).Slice(start, x.Length), x);
                return x;
            default:
            {
                var e4m3 = f.IsFp8E4M3;
                if (scales is null)
                {
                    CpuConvert.DecodeFp8(e4m3, data.AsSpan(start, x.Length), 1.0f, x);
                    return x;
                }
                // Runs of elements under one scale: x[i] = table[code] * 2^(e - 127), e = scales[(start + i) / ScaleBlock].
                for (var i = 0; i < x.Length;)
                {
                    var block = (start + i) / ElementwiseLayout.ScaleBlock;
                    var end = Math.Min(x.Length, (block + 1) * ElementwiseLayout.ScaleBlock - start);
                    CpuConvert.DecodeFp8(e4m3, data.AsSpan(start + i, end - i), Kernels.E8M0Scale.Scale(scales[block]), x[i..end]);
                    i = end;
                }
                return x;
            }
        }
    }

    /// <summary>Encodes x into elements [start, start+x.Length) of a buffer (a float32 one is already there); with <paramref name="scales"/>, block-scaled (store_scaled).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Store(StorageFormat f, byte[] data, byte[]? scales, int start, Span<float> x)
    {
        switch (f.Tag)
        {
            case StorageFormat.Tags.Fp32:
                // A float32 buffer was stepped in place (View).
                break;
            case StorageFormat.Tags.Bf16:
                CpuConvert.EncodeBf16(x, MemoryMarshal.Cast<byte, ushort>(data.AsSpan()).Slice(start, x.Length));
                break;
            default:
            {
                var e4m3 = f.IsFp8E4M3;
                var codes = data.AsSpan(start, x.Length);
                if (scales is null)
                {
                    CpuConvert.EncodeFp8(e4m3, x, 1.0f, codes);
                    break;
                }
                // A piece starts a block (chunks and pieces are whole blocks).
                var blocks = scales.AsSpan(start / ElementwiseLayout.ScaleBlock, (x.Length + ElementwiseLayout.ScaleBlock - 1) / ElementwiseLayout.ScaleBlock);
                CpuConvert.EncodeFp8Scaled(e4m3, x, ElementwiseLayout.ScaleBlock, blocks, codes);
                break;
            }
        }
    }
}
