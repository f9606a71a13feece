/// The optimizer `s3gd train` steps: the public API's class of the rule (OptimizerCatalog) over the MLP's parameters,
/// named and shaped as torch.nn.Sequential's Linear layers ("0.weight" [out; in], "0.bias" [out], "2.weight", ...), in
/// one param group whose values are the run's resolved hyperparameters. Adam-mini's partition (the Hessian-aware one,
/// by name and shape) matches none of these names to a per-head or per-row fragment, so each tensor of the MLP is one
/// block: one vmean per weight matrix and one per bias.
module S3gd.Cli.TrainOptimizer

open System
open S3gd.Spec.Rules
open S3gd.Gpu
open S3gd.Gpu.Optimizers
open S3gd.Gpu.Training

/// The MLP's parameters over its (parameter, gradient) buffers, which stay the caller's.
let parameters (shape: MlpShape) (values: DeviceBuffer[]) (gradients: DeviceBuffer[]) : Parameter list =
    [ for i, name in Seq.indexed shape.ParameterNames ->
          let layer = i / 2
          let dims = if i % 2 = 0 then [ shape.Widths[layer + 1]; shape.Widths[layer] ] else [ shape.Widths[layer + 1] ]
          new Parameter(name, dims, values[i], gradients[i]) ]

/// The rule's optimizer class over the parameters with every hyperparameter set to the resolved value; an error names
/// the rule and what is wrong.
let create (rule: RuleInfo) (hypers: Hypers) (ps: Parameter list) : Result<Optimizer, string> =
    let group = hypers |> Map.fold (fun (g: ParamGroup) name value -> g.With(name, value)) (ParamGroup ps)
    try Ok(OptimizerCatalog.Create(rule.Name, [ group ])) with :? ArgumentException as e -> Error e.Message
