/// Every conformance check, in the order `s3gd verify` reports them: the runtime's (conversions, memory, compiler),
/// then the fused elementwise steps, then the float32 steps against torch.optim's trajectories, then their bf16 parameter update modes, then the structured steps (StableAdamW,
/// Adam-mini), then the optimizer API's checkpoints and raw device pointers, then an older GPU's refusals, then the training example's model passes, then Muon and OAdamW's
/// matrix path, then the OAdamW optimizer end to end, then Adafactor.
module S3gd.Conformance.Suite

open S3gd.Gpu

/// Every check.
let all : Checks.Check list =
    Checks.all @ ElementwiseChecks.all @ [ TorchParity.check ] @ ParamUpdateChecks.all @ StructuredChecks.all @ OptimizerChecks.all @ CapabilityChecks.all @ MlpChecks.all
    @ MuonChecks.all @ OAdamWChecks.all @ OAdamWOptimizerChecks.all @ AdafactorChecks.all

/// The checks that apply to a backend.
let forBackend (backend: Backend) : Checks.Check list = all |> List.filter (fun c -> c.AppliesTo backend)
