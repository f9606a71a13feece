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
/// Each vector is decoded, stepped, updated and encoded in one pass (or two, through a float32 scratch, for the
/// configurations one pass compiles badly), compiled for the buffers' formats (<see cref="ICpuLane"/>).
/// </summary>
public static partial class CpuElementwise
{
    /// <summary>
    /// Elements of a chunk stepped at a time, so that the float32 working copies (block-scaled state, the tail) stay in the
    /// L1 cache: eight scale blocks (each piece holds whole blocks, the chunk being a multiple of it).
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
        /// <summary>
        /// The configuration's vector loop, compiled for its buffers' lanes and parameter update: one loop (<see cref="Vectors"/>)
        /// or, with fp8 state or a Kahan or stochastic update, two (<see cref="SplitVectors"/>).
        /// </summary>
        private readonly VectorLoop vectors = typeof(Step<TRule, TPrep, TV, MV, MS>)
            .GetMethod(Splits(c) ? nameof(SplitVectors) : nameof(Vectors), System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Static)!
            .MakeGenericMethod(
                CpuLanes.Of(c.Param), CpuLanes.Of(c.Grad), LaneOf(c, 0), LaneOf(c, 1), LaneOf(c, 2),
                c.ParamUpdate switch
                {
                    ParamUpdate.Kahan => typeof(KahanLaneUpdate),
                    ParamUpdate.Stochastic => typeof(StochasticLaneUpdate),
                    _ => typeof(NearestLaneUpdate),
                },
                Flags.Of(c.MathBf16))
            .CreateDelegate<VectorLoop>();

        /// <summary>The first whole vectors of a piece: each buffer from the piece's start (<see cref="Vectors"/>).</summary>
        private delegate void VectorLoop(
            in ElementwiseScalars<TV, MV> sc, int whole, int start, uint stream,
            CpuLaneBuffer p, CpuLaneBuffer g, CpuLaneBuffer s0, CpuLaneBuffer s1, CpuLaneBuffer s2, ref byte comp);

        /// <summary>Whether the configuration's vectors take two loops (<see cref="SplitVectors"/>): fp8 state, or a Kahan or stochastic update.</summary>
        private static bool Splits(ElementwiseConfig c) =>
            c.ParamUpdate != ParamUpdate.Nearest || c.States.Any(f => f is { Storage.IsFp8E4M3: true } or { Storage.IsFp8E5M2: true });

        /// <summary>A state slot's lane (<see cref="NoLane"/> for a slot the configuration does not keep).</summary>
        private static Type LaneOf(ElementwiseConfig c, int k) => CpuLanes.Of(c.States[k]?.Storage, c.States[k] is { BlockScaled: true });

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
            var stream = c.ParamUpdate == ParamUpdate.Stochastic ? StochasticRounding.Stream(sc.Seed, sc.Step, (uint)tensor) : 0u;
            // A block's scale needs every value of the block: block-scaled state is stepped into the scratch and encoded
            // from it a block at a time. Two loops (SplitVectors) take every buffer through the scratch.
            var whole = Vector256.IsHardwareAccelerated ? count - count % (Unsafe.SizeOf<TV>() / sizeof(float)) : 0;
            if (whole > 0)
            {
                ref var none = ref Unsafe.NullRef<byte>();
                vectors(lanes, whole, start, stream,
                    new CpuLaneBuffer(ref CpuLanes.At(c.Param, t.Param, start), ref Unsafe.NullRef<byte>(), ref MemoryMarshal.GetArrayDataReference(w.P)),
                    new CpuLaneBuffer(ref CpuLanes.At(c.Grad, t.Grad, start)),
                    Lane(t, 0, start, w), Lane(t, 1, start, w), Lane(t, 2, start, w),
                    ref c.HasCompensation ? ref CpuLanes.At(StorageFormat.Bf16, t.Compensation!, start) : ref none);
            }
            if (whole < count) Tail(sc, one, t, tensor, start, whole, count, w);
            // The vectors encoded their whole blocks; the block the tail ends (the tensor's last, cut short) is encoded here.
            var encoded = whole - whole % ElementwiseLayout.ScaleBlock;
            for (var k = 0; k < 3; k++)
                if (encoded < count && c.States[k] is { BlockScaled: true } f)
                    Store(f.Storage, t.States[k]!, t.Scales[k], start + encoded, w.S[k].AsSpan(encoded, count - encoded));
        }

        /// <summary>A state slot's piece for the vectors with the scratch its stepped values go to (block-scaled state with its scales; none for a slot the configuration does not keep).</summary>
        private CpuLaneBuffer Lane(CpuElementwiseTensor t, int k, int start, Scratch w) =>
            c.States[k] switch
            {
                null => CpuLaneBuffer.None,
                { BlockScaled: true } f => new CpuLaneBuffer(
                    ref CpuLanes.At(f.Storage, t.States[k]!, start),
                    ref t.Scales[k]![start / ElementwiseLayout.ScaleBlock],
                    ref MemoryMarshal.GetArrayDataReference(w.S[k])),
                { } f => new CpuLaneBuffer(ref CpuLanes.At(f.Storage, t.States[k]!, start), ref Unsafe.NullRef<byte>(), ref MemoryMarshal.GetArrayDataReference(w.S[k])),
            };

        /// <summary>
        /// Elements [whole, count) of a piece, one at a time: decoded into the scratch at their place in the piece, stepped,
        /// updated and encoded back (block-scaled state is encoded with its piece).
        /// </summary>
        private void Tail(in StepScalars sc, in ElementwiseScalars<float, MS> one, CpuElementwiseTensor t, int tensor, int start, int whole, int count, Scratch w)
        {
            var at = start + whole;
            var n = count - whole;
            var p = View(c.Param, t.Param, null, at, w.P.AsSpan(whole, n));
            var g = View(c.Grad, t.Grad, null, at, w.G.AsSpan(whole, n));
            var s0 = Slot(t, 0, start, whole, w.S[0].AsSpan(whole, n), w);
            var s1 = Slot(t, 1, start, whole, w.S[1].AsSpan(whole, n), w);
            var s2 = Slot(t, 2, start, whole, w.S[2].AsSpan(whole, n), w);
            // Kahan compensation needs the parameter before the step; the other updates do not.
            var old = w.Old.AsSpan(whole, n);
            if (c.ParamUpdate == ParamUpdate.Kahan) p.CopyTo(old);
            Elements(one, p, g, s0, s1, s2);
            switch (c.ParamUpdate)
            {
                case ParamUpdate.Kahan:
                {
                    var comp = View(StorageFormat.Bf16, t.Compensation!, null, at, w.C.AsSpan(whole, n));
                    CpuKahan.Update(p, old, comp);
                    Store(StorageFormat.Bf16, t.Compensation!, null, at, comp);
                    break;
                }
                case ParamUpdate.Stochastic:
                    StochasticRounding.Round(p, StochasticRounding.Stream(sc.Seed, sc.Step, (uint)tensor), at);
                    break;
            }
            Store(c.Param, t.Param, null, at, p);
            for (var k = 0; k < 3; k++)
                if (c.States[k] is { BlockScaled: false } f) Store(f.Storage, t.States[k]!, null, at, k == 0 ? s0 : k == 1 ? s1 : s2);
        }

        /// <summary>
        /// A state slot's tail elements (from element <paramref name="whole"/> of the piece at <paramref name="start"/>) as
        /// float32 in <paramref name="scratch"/>; empty for a slot the configuration does not keep (the step reads zeros and
        /// writes nothing). Block-scaled state is decoded from its block's start, as the spans decode a piece (the same NaN
        /// where a NaN code meets a NaN scale), then copied.
        /// </summary>
        private Span<float> Slot(CpuElementwiseTensor t, int k, int start, int whole, Span<float> scratch, Scratch w)
        {
            switch (c.States[k])
            {
                case null:
                    return Span<float>.Empty;
                case { BlockScaled: true } f when whole % ElementwiseLayout.ScaleBlock == 0:
                    return View(f.Storage, t.States[k]!, t.Scales[k], start + whole, scratch);
                case { BlockScaled: true } f:
                {
                    // The tail is the end of one block (vectors never straddle one).
                    var from = whole - whole % ElementwiseLayout.ScaleBlock;
                    var block = View(f.Storage, t.States[k]!, t.Scales[k], start + from, w.Block.AsSpan(0, whole - from + scratch.Length));
                    block[(whole - from)..].CopyTo(scratch);
                    return scratch;
                }
                case { } f:
                    return View(f.Storage, t.States[k]!, null, start + whole, scratch);
            }
        }

        /// <summary>
        /// The first <paramref name="whole"/> elements of a piece, a vector at a time in one loop, compiled for the buffers'
        /// lanes and the parameter update: each buffer's vector decoded, stepped, updated and encoded in registers;
        /// block-scaled state goes through the scratch, its whole blocks encoded last (each block's scale needs all its values).
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private static void Vectors<FP, FG, F0, F1, F2, FU, TBf16>(
            in ElementwiseScalars<TV, MV> sc, int whole, int start, uint stream,
            CpuLaneBuffer p, CpuLaneBuffer g, CpuLaneBuffer s0, CpuLaneBuffer s1, CpuLaneBuffer s2, ref byte comp)
            where FP : struct, ICpuLane
            where FG : struct, ICpuLane
            where F0 : struct, ICpuLane
            where F1 : struct, ICpuLane
            where F2 : struct, ICpuLane
            where FU : struct, ICpuLaneUpdate
            where TBf16 : struct, IFlag
        {
            for (var i = 0; i < whole; i += Unsafe.SizeOf<TV>() / sizeof(float))
            {
                var old = FP.Load<TV>(p, i);
                var x = Input<FP, TBf16>(old);
                var x0 = F0.Kept ? Input<F0, TBf16>(F0.Load<TV>(s0, i)) : default;
                var x1 = F1.Kept ? Input<F1, TBf16>(F1.Load<TV>(s1, i)) : default;
                var x2 = F2.Kept ? Input<F2, TBf16>(F2.Load<TV>(s2, i)) : default;
                ElementwiseStep.Element<TV, MV, TPrep, TRule>(sc, ref x, Input<FG, TBf16>(FG.Load<TV>(g, i)), ref x0, ref x1, ref x2);
                var updated = FU.Apply(old, x, ref comp, i, stream, start + i);
                if (FU.Rounds) Bf16Lane.StoreRounded(p, i, updated);
                else Output<FP, TBf16>(p, i, updated);
                if (F0.Kept) Output<F0, TBf16>(s0, i, x0);
                if (F1.Kept) Output<F1, TBf16>(s1, i, x1);
                if (F2.Kept) Output<F2, TBf16>(s2, i, x2);
            }
            EncodeBlocks<F0, F1, F2>(whole, s0, s1, s2);
        }

        /// <summary>
        /// <see cref="Vectors"/> in two loops, each compiled on its own: the vectors decoded and stepped into the piece's
        /// float32 scratch (<see cref="Steps"/>), then updated and encoded from it (<see cref="Stores"/>).
        /// </summary>
        /// <remarks>
        /// The compiler stops inlining in a method past a limit (so the loops' bodies are written out, not shared through
        /// a helper, which costs more of it): with fp8 state or a Kahan or stochastic update, one loop left its stores as
        /// calls (AVX2). With bf16 or float32 state and round to nearest, one loop is faster (the conversions overlap the
        /// maths): AdamW, bf16 state, 0.76 of the copy against 0.49 (16M, 2 cores, AVX2).
        /// </remarks>
        private static void SplitVectors<FP, FG, F0, F1, F2, FU, TBf16>(
            in ElementwiseScalars<TV, MV> sc, int whole, int start, uint stream,
            CpuLaneBuffer p, CpuLaneBuffer g, CpuLaneBuffer s0, CpuLaneBuffer s1, CpuLaneBuffer s2, ref byte comp)
            where FP : struct, ICpuLane
            where FG : struct, ICpuLane
            where F0 : struct, ICpuLane
            where F1 : struct, ICpuLane
            where F2 : struct, ICpuLane
            where FU : struct, ICpuLaneUpdate
            where TBf16 : struct, IFlag
        {
            Steps<FP, FG, F0, F1, F2, TBf16>(sc, whole, p, g, s0, s1, s2);
            Stores<FP, F0, F1, F2, FU, TBf16>(whole, start, stream, p, s0, s1, s2, ref comp);
            EncodeBlocks<F0, F1, F2>(whole, s0, s1, s2);
        }

        /// <summary>The vectors' steps: each buffer's vector decoded as the maths takes it, stepped, and kept in the scratch.</summary>
        [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
        private static void Steps<FP, FG, F0, F1, F2, TBf16>(
            in ElementwiseScalars<TV, MV> sc, int whole, CpuLaneBuffer p, CpuLaneBuffer g, CpuLaneBuffer s0, CpuLaneBuffer s1, CpuLaneBuffer s2)
            where FP : struct, ICpuLane
            where FG : struct, ICpuLane
            where F0 : struct, ICpuLane
            where F1 : struct, ICpuLane
            where F2 : struct, ICpuLane
            where TBf16 : struct, IFlag
        {
            for (var i = 0; i < whole; i += Unsafe.SizeOf<TV>() / sizeof(float))
            {
                var x = Input<FP, TBf16>(FP.Load<TV>(p, i));
                var x0 = F0.Kept ? Input<F0, TBf16>(F0.Load<TV>(s0, i)) : default;
                var x1 = F1.Kept ? Input<F1, TBf16>(F1.Load<TV>(s1, i)) : default;
                var x2 = F2.Kept ? Input<F2, TBf16>(F2.Load<TV>(s2, i)) : default;
                ElementwiseStep.Element<TV, MV, TPrep, TRule>(sc, ref x, Input<FG, TBf16>(FG.Load<TV>(g, i)), ref x0, ref x1, ref x2);
                CpuLanes.Keep(p, i, x);
                if (F0.Kept) CpuLanes.Keep(s0, i, x0);
                if (F1.Kept) CpuLanes.Keep(s1, i, x1);
                if (F2.Kept) CpuLanes.Keep(s2, i, x2);
            }
        }

        /// <summary>
        /// The vectors' stores: the stepped parameters updated (from their values before the step, decoded again) and each
        /// buffer's stepped vector encoded from the scratch (block-scaled state stays there, stepped in place).
        /// </summary>
        [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
        private static void Stores<FP, F0, F1, F2, FU, TBf16>(
            int whole, int start, uint stream, CpuLaneBuffer p, CpuLaneBuffer s0, CpuLaneBuffer s1, CpuLaneBuffer s2, ref byte comp)
            where FP : struct, ICpuLane
            where F0 : struct, ICpuLane
            where F1 : struct, ICpuLane
            where F2 : struct, ICpuLane
            where FU : struct, ICpuLaneUpdate
            where TBf16 : struct, IFlag
        {
            for (var i = 0; i < whole; i += Unsafe.SizeOf<TV>() / sizeof(float))
            {
                var updated = FU.Apply(FP.Load<TV>(p, i), CpuLanes.Kept<TV>(p, i), ref comp, i, stream, start + i);
                if (FU.Rounds) Bf16Lane.StoreRounded(p, i, updated);
                else Output<FP, TBf16>(p, i, updated);
                if (F0.Kept && !F0.Scaled) Output<F0, TBf16>(s0, i, CpuLanes.Kept<TV>(s0, i));
                if (F1.Kept && !F1.Scaled) Output<F1, TBf16>(s1, i, CpuLanes.Kept<TV>(s1, i));
                if (F2.Kept && !F2.Scaled) Output<F2, TBf16>(s2, i, CpuLanes.Kept<TV>(s2, i));
            }
        }

        /// <summary>
        /// The whole blocks of block-scaled state among a piece's first <paramref name="whole"/> elements, each with its new
        /// scale (blocks from there on, the tensor's last cut short, are left to the piece's end).
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static void EncodeBlocks<F0, F1, F2>(int whole, in CpuLaneBuffer s0, in CpuLaneBuffer s1, in CpuLaneBuffer s2)
            where F0 : struct, ICpuLane
            where F1 : struct, ICpuLane
            where F2 : struct, ICpuLane
        {
            var full = whole - whole % ElementwiseLayout.ScaleBlock;
            if (F0.Scaled) F0.EncodeBlocks(s0, full);
            if (F1.Scaled) F1.EncodeBlocks(s1, full);
            if (F2.Scaled) F2.EncodeBlocks(s2, full);
        }

        /// <summary>
        /// A loaded vector as the maths takes it (<see cref="IMaths{T}.Load"/>); with bf16 maths (<typeparamref name="TBf16"/>
        /// on) a lane holding bf16 values already only has its NaNs made quiet, which is what the rounding does to them.
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static TV Input<F, TBf16>(TV x)
            where F : struct, ICpuLane
            where TBf16 : struct, IFlag =>
            F.HoldsBf16 && default(TBf16).IsOn ? CpuLanes.QuietBf16(x) : default(MV).Load(x);

        /// <summary>
        /// A stepped vector stored; with bf16 maths (<typeparamref name="TBf16"/> on) a bf16 buffer's values are the maths'
        /// (loaded, results or broadcast scalars: NaNs quiet with the lower half zero), so its store leaves out the NaN case.
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static void Output<F, TBf16>(in CpuLaneBuffer b, int i, TV x)
            where F : struct, ICpuLane
            where TBf16 : struct, IFlag
        {
            if (typeof(F) == typeof(Bf16Lane) && default(TBf16).IsOn) Bf16Lane.StoreOfQuiet(b, i, x);
            else F.Store(b, i, x);
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
}
