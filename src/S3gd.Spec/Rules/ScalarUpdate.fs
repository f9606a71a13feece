/// How NVIDIA-NeMo/Emerging-Optimizers' scalar optimizers apply an update u (emerging_optimizers/scalar_optimizers/
/// base.py and mixin.py): decoupled weight decay p <- p + (-wd*lr)*p, then p <- p - lr*u. The spec uses the
/// "decoupled" weight_decay_method (the base class's default) for every rule built on those update functions.
module S3gd.Spec.Rules.ScalarUpdate

/// Decoupled decay as WeightDecayMixin writes it: p + (-wd*lr)*p.
let decay (lr: float) (wd: float) (p: Vec) : Vec = if wd <> 0.0 then p + (-wd * lr) * p else p

/// Decay, then the step p <- p - lr*u.
let apply (lr: float) (wd: float) (u: Vec) (p: Vec) : Vec = decay lr wd p - lr * u

/// The weight_decay hyperparameter of these rules.
let weightDecayDef (dflt: float) : HyperDef =
    Hyper.real "weight_decay" dflt ">= 0" (fun v -> v >= 0.0) "decoupled decay: p <- p - lr*wd*p"

/// A beta hyperparameter, valid in [0, 1) as the reference's _validate_common_hparams checks.
let betaDef (name: string) (dflt: float) (doc: string) : HyperDef =
    Hyper.real name dflt "[0, 1)" (fun v -> v >= 0.0 && v < 1.0) doc
