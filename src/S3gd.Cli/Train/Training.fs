/// `s3gd train`'s run: the spiral data set (Spirals: `classes` arms of `pointsPerClass` noisy 2-D points, from the
/// seed), an MLP of tanh layers whose hand-written forward and backward passes run on the chosen backend (Mlp), the
/// rows reshuffled every epoch and cut into batches, one optimizer step (TrainOptimizer: the public optimizer API) per
/// batch; at the end the optimizer's checkpoint, with the trained parameters, can be saved. A non-finite batch loss
/// (its gradients are not finite) stops the run with an error naming the optimizer and the step.
module S3gd.Cli.Training

open System
open System.Diagnostics
open S3gd.Spec.Rules
open S3gd.Gpu
open S3gd.Gpu.Training
open S3gd.Gpu.Optimizers

/// What a run trains on and how long.
type Settings =
    { Steps: int
      Batch: int
      /// Seeds the data set, the initial parameters and the shuffles: every optimizer of a run sees the same ones.
      Seed: int
      Hidden: int list
      Classes: int
      PointsPerClass: int
      /// The standard deviation of the angle noise of the spirals, radians.
      Noise: float
      /// Whether every step records the optimizer's telemetry (Outcome.Telemetry).
      Telemetry: bool }

/// `s3gd train`'s defaults: 2000 steps of 128 rows over 3 spiral arms of 1000 points (noise 0.2), a 2 -> 64 -> 64 -> 3 MLP.
let defaults =
    { Steps = 2000; Batch = 128; Seed = 1; Hidden = [ 64; 64 ]; Classes = 3; PointsPerClass = 1000; Noise = 0.2; Telemetry = false }

/// The learning rate a rule trains with unless `--hyper` sets lr: its catalog entry's TrainingLr (why they differ from
/// torch.optim's defaults is said there); None keeps the rule's default.
let trainingLr (rule: string) : float option =
    match OptimizerCatalog.Entries.TryGetValue rule with
    | true, entry when entry.TrainingLr.HasValue -> Some entry.TrainingLr.Value
    | _ -> None

/// One optimizer of a run: the rule and its resolved hyperparameters.
type Candidate = { Rule: RuleInfo; Hypers: Hypers }

/// Splits `rule.name=value` into (Some rule, "name=value"); `name=value` applies to every optimizer (None).
let private target (assignment: string) =
    match assignment.IndexOf '=', assignment.IndexOf '.' with
    | eq, dot when dot > 0 && (eq < 0 || dot < eq) -> Some(assignment.Substring(0, dot)), assignment.Substring(dot + 1)
    | _ -> None, assignment

/// The optimizers named (comma-separated registry names, each once) with their hyperparameters: `name=value` sets a
/// hyperparameter of every optimizer, `rule.name=value` of one; lr defaults to `trainingLr`. Errors name the value.
let resolve (names: string) (assignments: string list) : Result<Candidate list, string> =
    let list = names.Split(',', StringSplitOptions.RemoveEmptyEntries ||| StringSplitOptions.TrimEntries) |> List.ofArray
    match list |> List.countBy id |> List.tryFind (fun (_, n) -> n > 1) with
    | _ when list.IsEmpty -> Error(sprintf "--optimizer '%s' names no optimizer" names)
    | Some(name, _) -> Error(sprintf "--optimizer '%s' names %s twice" names name)
    | None ->
        let targeted = assignments |> List.map target
        match targeted |> List.tryPick (function Some t, _ when not (List.contains t list) -> Some t | _ -> None) with
        | Some t -> Error(sprintf "--hyper %s.*: %s is not one of the optimizers (%s)" t t (String.Join(", ", list)))
        | None ->
            list
            |> List.map (fun name ->
                Registry.find name
                |> Result.mapError (fun e -> "--optimizer: " + e)
                |> Result.bind (fun rule ->
                    // Muon takes 2-D parameters only (as torch) and the MLP has bias vectors.
                    match OptimizerCatalog.Entries.TryGetValue name with
                    | true, entry when entry.Family = RuleFamily.Muon ->
                        Error(sprintf "--optimizer %s takes 2-D parameters only (as torch.optim.Muon) and the MLP has bias vectors; train it with another optimizer" name)
                    | true, _ -> Ok rule
                    | _ -> Error(sprintf "--optimizer %s has no fused kernel or optimizer class to train with (these do: %s)" name (String.Join(", ", OptimizerCatalog.ByName.Keys))))
                |> Result.bind (fun rule ->
                    let own = targeted |> List.choose (fun (t, a) -> if t.IsNone || t = Some name then Some a else None)
                    let setsLr = own |> List.exists (fun a -> a.Split('=').[0].Trim() = "lr")
                    let lr = if setsLr then [] else trainingLr name |> Option.map (sprintf "lr=%g") |> Option.toList
                    Hypers.parse rule (lr @ own) |> Result.map (fun h -> { Rule = rule; Hypers = h })))
            |> Errors.sequence

/// What one optimizer's run gave: the loss of every step's batch, then the loss and accuracy over the whole data set,
/// and with Settings.Telemetry each step's records (one per param group; empty otherwise).
type Outcome = { Optimizer: string; Losses: float[]; Final: MlpEvaluation; Seconds: float; Telemetry: StepTelemetry list[] }

/// A float32 buffer of the backend holding the values.
let private upload (backend: Backend) (values: float32[]) =
    let b = backend.Allocate(ElementType.Float32, values.LongLength)
    backend.Upload<float32>(b, ReadOnlySpan values)
    b

/// Trains a fresh model with one optimizer; `progress step loss` is called after every step. With `checkpoint`, the
/// trained optimizer's state and parameters are saved there (OptimizerCheckpoint, atomically).
let run (backend: Backend) (settings: Settings) (candidate: Candidate) (checkpoint: string option) (progress: int -> float -> unit) : Result<Outcome, string> =
    let data = Spirals.Generate(settings.Classes, settings.PointsPerClass, settings.Seed, settings.Noise)
    let shape = MlpShape(data.Features, settings.Hidden, settings.Classes)
    let parameters = shape.Initialize settings.Seed |> Array.map (upload backend)
    let gradients = shape.ParameterLengths |> Seq.map (fun n -> backend.Allocate(ElementType.Float32, n)) |> Array.ofSeq
    let inputs = backend.Allocate(ElementType.Float32, data.Inputs.LongLength)
    let labels = backend.Allocate(ElementType.Float32, data.Labels.LongLength)
    try
        use mlp = backend.CreateMlp(shape, min settings.Batch data.Count)
        match TrainOptimizer.create candidate.Rule candidate.Hypers (TrainOptimizer.parameters shape parameters gradients) with
        | Error e -> Error e
        | Ok optimizer ->
            use optimizer = optimizer
            optimizer.TelemetryEnabled <- settings.Telemetry
            let random = Random settings.Seed
            let order = Array.init data.Count id
            // Each epoch: a fresh permutation of the rows, uploaded, then read in consecutive batches.
            let shuffle () =
                random.Shuffle order
                backend.Upload<float32>(inputs, ReadOnlySpan(order |> Array.collect (fun r -> Array.sub data.Inputs (r * data.Features) data.Features)))
                backend.Upload<float32>(labels, ReadOnlySpan(order |> Array.map (fun r -> data.Labels[r])))
            let watch = Stopwatch.StartNew()
            let losses = Array.zeroCreate settings.Steps
            let telemetry = Array.create settings.Steps []
            let mutable start = data.Count
            let mutable step = 1
            let mutable diverged = None
            while step <= settings.Steps && diverged.IsNone do
                if start >= data.Count then
                    shuffle ()
                    start <- 0
                let count = min mlp.MaxBatch (data.Count - start)
                let loss = mlp.ForwardBackward(parameters, gradients, inputs, labels, start, count)
                // A non-finite loss has non-finite gradients: no step is taken with them, and the run stops.
                if not (Single.IsFinite loss) then
                    diverged <- Some(sprintf "%s: the batch loss is %g at step %d, so its gradients are not finite (a smaller lr may help)" candidate.Rule.Name loss step)
                else
                    optimizer.Step()
                    start <- start + count
                    losses[step - 1] <- float loss
                    telemetry[step - 1] <- List.ofSeq optimizer.Telemetry
                    progress step (float loss)
                    step <- step + 1
            match diverged with
            | Some e -> Error e
            | None ->
                let final = mlp.Evaluate(parameters, inputs, labels)
                let seconds = watch.Elapsed.TotalSeconds
                checkpoint |> Option.iter (fun path -> optimizer.Save(path, includeParams = true))
                Ok { Optimizer = candidate.Rule.Name; Losses = losses; Final = final; Seconds = seconds; Telemetry = telemetry }
    finally
        for b in Seq.concat [ parameters; gradients; [| inputs; labels |] ] do
            b.Dispose()
