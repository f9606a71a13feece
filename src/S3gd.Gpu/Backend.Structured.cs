using S3gd.Gpu.Structured;
using S3gd.Spec.Formats;

namespace S3gd.Gpu;

/// <summary>The structured steps (StableAdamW, Adam-mini), checked once here for every backend.</summary>
public abstract partial class Backend
{
    /// <summary>
    /// Allocates a parameter's state for a structured configuration, all zero (as the references): the first moment of
    /// <paramref name="length"/> elements; StableAdamW's exp_avg_sq of <paramref name="length"/> or Adam-mini's vmean of
    /// length/<paramref name="blockLength"/>; the bf16 Kahan compensation when the configuration keeps one.
    /// </summary>
    public (DeviceBuffer Moment, DeviceBuffer SecondMoment, DeviceBuffer? Compensation) AllocateStructuredState(
        StructuredConfig config, long length, long blockLength = 0)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        var second = length;
        if (config.Rule == StructuredRule.AdamMini) second = length == 0 ? 0 : length / CheckBlock(length, blockLength, nameof(blockLength));
        var moment = Allocate(ElementTypes.FromFormat(config.Moment), length);
        UploadZeros(moment);
        var secondMoment = Allocate(ElementTypes.FromFormat(config.SecondMoment), second);
        UploadZeros(secondMoment);
        DeviceBuffer? compensation = null;
        if (config.HasCompensation)
        {
            compensation = Allocate(ElementType.BFloat16, length);
            UploadZeros(compensation);
        }
        return (moment, secondMoment, compensation);
    }

    /// <summary>
    /// Allocates the block words and slots of an fp8 first moment (<see cref="MomentFallback"/>) for a parameter of
    /// <paramref name="length"/> elements in Adam-mini blocks of <paramref name="blockLength"/>: every block word
    /// <see cref="MomentFallback.ZerosWord"/> (the first moment starts at zero), slots zero. Null when the configuration's
    /// moment is not fp8.
    /// </summary>
    public MomentFallback? AllocateMomentFallback(StructuredConfig config, long length, long blockLength)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        if (!config.MomentIsFp8) return null;
        var block = length == 0 ? 1 : CheckBlock(length, blockLength, nameof(blockLength));
        CheckFp8(config);
        var scales = Allocate(ElementType.Float32, MomentFallback.ScaleCount(length, block));
        UploadZeros(scales);
        try
        {
            var pool = Allocate(ElementType.BFloat16, MomentFallback.PoolCount(length, block));
            UploadZeros(pool);
            return new MomentFallback(scales, pool);
        }
        catch
        {
            scales.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Checks a list of tensors against a structured configuration (formats, lengths, owners, Adam-mini's block lengths,
    /// the compensation buffers) and prepares the step, on a GPU laid out as <paramref name="launch"/> says (default
    /// <see cref="StructuredLaunch.For"/>; the CPU ignores it).
    /// </summary>
    public StructuredPlan PlanStructured(StructuredConfig config, IReadOnlyList<StructuredTensor> tensors, StructuredLaunch? launch = null)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(tensors);
        ThrowIfDisposed();
        for (var i = 0; i < tensors.Count; i++)
        {
            var t = tensors[i] ?? throw new ArgumentNullException(nameof(tensors), $"tensors[{i}] is null");
            var where = $"{nameof(tensors)}[{i}]";
            CheckBuffer(t.Param, $"{where}.Param");
            CheckBuffer(t.Grad, $"{where}.Grad");
            CheckBuffer(t.Moment, $"{where}.Moment");
            CheckBuffer(t.SecondMoment, $"{where}.SecondMoment");
            CheckType(t.Param, ElementTypes.FromFormat(config.Param), $"{where}.Param");
            CheckType(t.Grad, ElementTypes.FromFormat(config.Grad), $"{where}.Grad");
            CheckType(t.Moment, ElementTypes.FromFormat(config.Moment), $"{where}.Moment");
            CheckType(t.SecondMoment, ElementTypes.FromFormat(config.SecondMoment), $"{where}.SecondMoment");
            var n = t.Param.Length;
            if (t.Grad.Length != n) throw new ArgumentException($"{where}.Grad has {t.Grad.Length} elements, the parameter {n}", nameof(tensors));
            if (t.Moment.Length != n) throw new ArgumentException($"{where}.Moment has {t.Moment.Length} elements, the parameter {n}", nameof(tensors));
            long second;
            if (config.Rule == StructuredRule.StableAdamW)
            {
                if (t.BlockLength != 0)
                    throw new ArgumentException($"{where}.BlockLength is {t.BlockLength}: stableadamw reduces whole tensors, give 0", nameof(tensors));
                second = n;
            }
            else second = n == 0 ? 0 : n / CheckBlock(n, t.BlockLength, $"{where}.BlockLength");
            if (t.SecondMoment.Length != second)
                throw new ArgumentException(
                    $"{where}.SecondMoment ({config.StateNames[1]}) has {t.SecondMoment.Length} elements, {second} needed", nameof(tensors));
            if (config.HasCompensation)
            {
                var c = t.Compensation ?? throw new ArgumentException($"{where}.Compensation is missing: kahan_sum=true keeps one", nameof(tensors));
                CheckBuffer(c, $"{where}.Compensation");
                CheckType(c, ElementType.BFloat16, $"{where}.Compensation");
                if (c.Length != n) throw new ArgumentException($"{where}.Compensation has {c.Length} elements, the parameter {n}", nameof(tensors));
            }
            else if (t.Compensation is not null)
                throw new ArgumentException($"{where}.Compensation was given but the configuration keeps none (kahan_sum=false)", nameof(tensors));
            CheckFallback(config, t, n, where);
        }
        if (config.MomentIsFp8) CheckFp8(config);
        return PlanStructuredInternal(config, tensors, (launch ?? StructuredLaunch.For(config)).Validated());
    }

    /// <summary>Prepares a checked structured step.</summary>
    protected abstract StructuredPlan PlanStructuredInternal(StructuredConfig config, IReadOnlyList<StructuredTensor> tensors, StructuredLaunch launch);

    private void CheckFp8(StructuredConfig config)
    {
        if (!SupportsFp8)
            throw new UnsupportedFormatException($"{config}: an fp8 first moment needs fp8 conversion instructions (sm_89+), which {Device} lacks; keep it in bf16 instead");
    }

    private void CheckFallback(StructuredConfig config, StructuredTensor t, long n, string where)
    {
        if (!config.MomentIsFp8)
        {
            if (t.Fallback is not null)
                throw new ArgumentException($"{where}.Fallback was given but the first moment is {StorageFormatModule.name(config.Moment)}, not fp8", "tensors");
            return;
        }
        var f = t.Fallback ?? throw new ArgumentException($"{where}.Fallback is missing: an fp8 first moment keeps block words and slots", "tensors");
        CheckBuffer(f.Scales, $"{where}.Fallback.Scales");
        CheckBuffer(f.Pool, $"{where}.Fallback.Pool");
        CheckType(f.Scales, ElementType.Float32, $"{where}.Fallback.Scales");
        CheckType(f.Pool, ElementType.BFloat16, $"{where}.Fallback.Pool");
        var block = n == 0 ? 1 : t.BlockLength;
        if (f.Scales.Length != MomentFallback.ScaleCount(n, block))
            throw new ArgumentException($"{where}.Fallback.Scales has {f.Scales.Length} elements, {MomentFallback.ScaleCount(n, block)} needed", "tensors");
        if (f.Pool.Length != MomentFallback.PoolCount(n, block))
            throw new ArgumentException($"{where}.Fallback.Pool has {f.Pool.Length} elements, {MomentFallback.PoolCount(n, block)} needed", "tensors");
    }

    private static long CheckBlock(long length, long blockLength, string name)
    {
        if (blockLength <= 0 || (length > 0 && length % blockLength != 0))
            throw new ArgumentException($"{name} is {blockLength}: an Adam-mini block length must be positive and divide the {length} elements", name);
        return blockLength;
    }
}
