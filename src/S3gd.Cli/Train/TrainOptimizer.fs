/// The optimizer `s3gd train` steps, isolated here: for now the fused elementwise step (one plan over every parameter
/// of the model, float32 parameters, gradients and state) of any rule with a kernel, `StepScalars.For` giving each
/// step's scalars. The public optimizer API (S3gd.Gpu.Optimizers) will take this file's place.
module S3gd.Cli.TrainOptimizer

open System
open S3gd.Spec.Rules
open S3gd.Gpu
open S3gd.Gpu.Elementwise

/// One optimizer over a model's parameters: its state, the prepared step and the step count.
type TrainOptimizer private (config: ElementwiseConfig, tensors: ElementwiseTensor list, plan: ElementwisePlan) =
    let mutable step = 0

    /// Prepares the rule with its resolved hyperparameters over (parameter, gradient) buffers of the backend; the
    /// state starts at zero, as torch.optim's. An error names the rule and what is wrong.
    static member Create(backend: Backend, rule: RuleInfo, hypers: Hypers, parameters: (DeviceBuffer * DeviceBuffer) list) : Result<TrainOptimizer, string> =
        // The configuration checks the rule (it must have a fused kernel) and the hyperparameters, naming them.
        match (try Ok(ElementwiseConfig(rule, hypers)) with :? ArgumentException as e -> Error e.Message) with
        | Error e -> Error e
        | Ok config ->
            let tensors =
                [ for p, g in parameters ->
                      let struct (states, scales) = backend.AllocateElementwiseState(config, p.Length)
                      ElementwiseTensor(p, g, states, scales) ]
            Ok(new TrainOptimizer(config, tensors, backend.PlanElementwise(config, tensors)))

    /// The rule's name.
    member _.Name = config.RuleInfo.Name

    /// Steps taken so far.
    member _.Steps = step

    /// Applies one step to every parameter from its gradient (queued on the backend).
    member _.Step() =
        step <- step + 1
        plan.Step(StepScalars.For(config, step))

    interface IDisposable with
        /// Frees the plan and the state buffers (the parameters and gradients belong to the caller).
        member _.Dispose() =
            plan.Dispose()
            for t in tensors do
                for b in Seq.append t.States t.Scales do
                    if not (isNull b) then b.Dispose()
