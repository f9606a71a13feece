using S3gd.Gpu.Elementwise;

namespace S3gd.Gpu;

/// <summary>The fused elementwise optimizer step, checked once here for every backend.</summary>
public abstract partial class Backend
{
    /// <summary>
    /// Allocates a parameter's state for a configuration: each kept state slot in its format, zero (as torch.zeros_like),
    /// and block scales of 1 for block-scaled fp8 (a zero block's scale). fp8 needs a device with fp8 conversions.
    /// </summary>
    public (DeviceBuffer?[] States, DeviceBuffer?[] Scales) AllocateElementwiseState(ElementwiseConfig config, long length)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        CheckFp8(config);
        var states = new DeviceBuffer?[3];
        var scales = new DeviceBuffer?[3];
        for (var k = 0; k < 3; k++)
        {
            if (config.States[k] is not { } f) continue;
            var type = f.Format;
            states[k] = Allocate(type, length);
            UploadZeros(states[k]!);
            if (!f.BlockScaled) continue;
            var count = ElementwiseLayout.ScaleCount(length);
            scales[k] = Allocate(ElementType.E8M0, count);
            var ones = new byte[count];
            Array.Fill(ones, (byte)Kernels.E8M0Scale.One);
            Upload<byte>(scales[k]!, ones);
        }
        return (states, scales);
    }

    /// <summary>
    /// Allocates a parameter's bf16 Kahan compensation buffer, zero (as optimi's), when the configuration has
    /// <see cref="ParamUpdate.Kahan"/>; null otherwise.
    /// </summary>
    public DeviceBuffer? AllocateCompensation(ElementwiseConfig config, long length)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        if (!config.HasCompensation) return null;
        var buffer = Allocate(ElementType.BFloat16, length);
        UploadZeros(buffer);
        return buffer;
    }

    /// <summary>
    /// Checks a list of tensors against a configuration (formats, lengths, owners, the fp8 capability, the found-inf
    /// flag: a float32 buffer of one element exactly when the configuration reads one) and prepares the step, laid out
    /// on a GPU as <paramref name="launch"/> says (default <see cref="ElementwiseLaunch.For"/>; the CPU ignores it).
    /// </summary>
    public ElementwisePlan PlanElementwise(
        ElementwiseConfig config, IReadOnlyList<ElementwiseTensor> tensors, DeviceBuffer? foundInf = null, ElementwiseLaunch? launch = null)
    {
        ArgumentNullException.ThrowIfNull(config);
        var layout = (launch ?? ElementwiseLaunch.For(config)).Validated();
        ArgumentNullException.ThrowIfNull(tensors);
        ThrowIfDisposed();
        CheckFp8(config);
        for (var i = 0; i < tensors.Count; i++)
        {
            var t = tensors[i] ?? throw new ArgumentNullException(nameof(tensors), $"tensors[{i}] is null");
            var where = $"{nameof(tensors)}[{i}]";
            CheckBuffer(t.Param, $"{where}.Param");
            CheckBuffer(t.Grad, $"{where}.Grad");
            CheckType(t.Param, ElementTypes.FromFormat(config.Param), $"{where}.Param");
            CheckType(t.Grad, ElementTypes.FromFormat(config.Grad), $"{where}.Grad");
            var n = t.Param.Length;
            if (t.Grad.Length != n)
                throw new ArgumentException($"{where}.Grad has {t.Grad.Length} elements, the parameter {n}", nameof(tensors));
            if (t.States.Count != 3 || t.Scales.Count != 3)
                throw new ArgumentException($"{where} has {t.States.Count} state and {t.Scales.Count} scale slots; both must be 3", nameof(tensors));
            for (var k = 0; k < 3; k++)
            {
                var state = t.States[k];
                var scale = t.Scales[k];
                var name = $"{where}.States[{k}]";
                if (config.States[k] is not { } f)
                {
                    if (state is not null || scale is not null)
                        throw new ArgumentException($"{name}: the configuration keeps no state in slot {k}, but a buffer was given", nameof(tensors));
                    continue;
                }
                if (state is null) throw new ArgumentException($"{name} ({config.SlotNames[k]}) is missing", nameof(tensors));
                CheckBuffer(state, name);
                CheckType(state, f.Format, name);
                if (state.Length != n) throw new ArgumentException($"{name} has {state.Length} elements, the parameter {n}", nameof(tensors));
                if (!f.BlockScaled)
                {
                    if (scale is not null) throw new ArgumentException($"{where}.Scales[{k}]: slot {k} is not block-scaled, but scales were given", nameof(tensors));
                    continue;
                }
                if (scale is null) throw new ArgumentException($"{where}.Scales[{k}] is missing: slot {k} is block-scaled {f.Name}", nameof(tensors));
                CheckBuffer(scale, $"{where}.Scales[{k}]");
                CheckType(scale, ElementType.E8M0, $"{where}.Scales[{k}]");
                if (scale.Length != ElementwiseLayout.ScaleCount(n))
                    throw new ArgumentException($"{where}.Scales[{k}] has {scale.Length} scales, {ElementwiseLayout.ScaleCount(n)} needed for {n} elements", nameof(tensors));
            }
            if (config.HasCompensation)
            {
                var c = t.Compensation ?? throw new ArgumentException($"{where}.Compensation is missing: paramUpdate=kahan keeps one", nameof(tensors));
                CheckBuffer(c, $"{where}.Compensation");
                CheckType(c, ElementType.BFloat16, $"{where}.Compensation");
                if (c.Length != n) throw new ArgumentException($"{where}.Compensation has {c.Length} elements, the parameter {n}", nameof(tensors));
            }
            else if (t.Compensation is not null)
                throw new ArgumentException(
                    $"{where}.Compensation was given but the configuration keeps none (paramUpdate={config.ParamUpdate.Name()})", nameof(tensors));
        }
        if (config.FoundInf)
        {
            if (foundInf is null) throw new ArgumentNullException(nameof(foundInf), "the configuration reads a found-inf flag (foundInf=true) but none was given");
            CheckBuffer(foundInf, nameof(foundInf));
            CheckType(foundInf, ElementType.Float32, nameof(foundInf));
            if (foundInf.Length != 1) throw new ArgumentException($"{nameof(foundInf)} must hold one float32, has {foundInf.Length}", nameof(foundInf));
        }
        else if (foundInf is not null)
            throw new ArgumentException("a found-inf flag was given but the configuration does not read one (foundInf=false)", nameof(foundInf));
        return PlanElementwiseInternal(config, tensors, foundInf, layout);
    }

    /// <summary>One step of a configuration over a list of tensors (a plan made and run once).</summary>
    public void StepElementwise(ElementwiseConfig config, StepScalars scalars, IReadOnlyList<ElementwiseTensor> tensors, DeviceBuffer? foundInf = null)
    {
        using var plan = PlanElementwise(config, tensors, foundInf);
        plan.Step(scalars);
    }

    /// <summary>Copies a buffer into another of the same type and length on the device (the bandwidth baseline of `s3gd bench`).</summary>
    public void Copy(DeviceBuffer source, DeviceBuffer destination)
    {
        ThrowIfDisposed();
        CheckBuffer(source, nameof(source));
        CheckBuffer(destination, nameof(destination));
        if (source.SizeInBytes != destination.SizeInBytes)
            throw new ArgumentException($"{nameof(source)} has {source.SizeInBytes} bytes, {nameof(destination)} {destination.SizeInBytes}", nameof(destination));
        CopyInternal(source, destination);
    }

    /// <summary>Prepares a checked elementwise step.</summary>
    protected abstract ElementwisePlan PlanElementwiseInternal(
        ElementwiseConfig config, IReadOnlyList<ElementwiseTensor> tensors, DeviceBuffer? foundInf, ElementwiseLaunch launch);

    /// <summary>Copies checked buffers of equal size.</summary>
    protected abstract void CopyInternal(DeviceBuffer source, DeviceBuffer destination);

    private void CheckFp8(ElementwiseConfig config)
    {
        if (config.UsesFp8 && !SupportsFp8)
            throw new UnsupportedFormatException($"{config}: fp8 state needs fp8 conversion instructions (sm_89+), which {Device} lacks; keep the state in bf16 instead");
    }

    private static void CheckType(DeviceBuffer buffer, ElementType expected, string name)
    {
        if (buffer.ElementType != expected)
            throw new ArgumentException($"{name} holds {buffer.ElementType.Name()}, the configuration needs {expected.Name()}", name);
    }

    private void UploadZeros(DeviceBuffer buffer)
    {
        switch (buffer.ElementType.SizeOf())
        {
            case 4: Upload<uint>(buffer, new uint[buffer.Length]); break;
            case 2: Upload<ushort>(buffer, new ushort[buffer.Length]); break;
            default: Upload<byte>(buffer, new byte[buffer.Length]); break;
        }
    }
}
