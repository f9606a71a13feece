/// Elementwise operations written the way PyTorch's CPU kernels compute them, so that float64
/// results match torch.optim bit for bit where the formula allows more than one rounding.
module S3gd.Spec.Rules.TorchOps

/// torch.lerp(start, end, weight) = start + weight*(end - start), computed as torch does:
/// below weight 0.5 from the start, otherwise end - (end - start)*(1 - weight).
let lerp (start: Vec) (finish: Vec) (weight: float) : Vec =
    // 0.5: the switch point of torch's lerp kernel (aten/src/ATen/native/Lerp.h).
    if abs weight < 0.5 then start + weight * (finish - start)
    else finish - (finish - start) * (1.0 - weight)
