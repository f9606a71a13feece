/// Sign-based rules: the exact size of Signum's step and the bound on S3GD's.
module S3gd.Properties.Spec.BoundTests

open FsCheck.FSharp
open FsCheck.Xunit
open MathNet.Numerics.LinearAlgebra
open S3gd.Spec.Rules
open S3gd.Properties.Spec.Generators

/// Cases per property: enough to cover the hyperparameter ranges, few enough to stay fast on two cores.
[<Literal>]
let private cases = 60

/// Random Signum hyperparameters without decay.
let private signumHyper =
    gen {
        let! lr = lr
        let! b = beta
        let! correct = Gen.elements [ false; true ]
        let! nesterov = Gen.elements [ false; true ]
        return { Signum.defaults with Lr = lr; Momentum = b; CorrectBias = correct; Nesterov = nesterov; WeightDecay = 0.0 }
    }

/// Checks every step of a Signum trajectory: a step taken from a zero parameter has |p'_i| = size exactly where
/// the signed momentum is nonzero and 0 where it is zero (checked exactly without Nesterov, where that momentum
/// is exp_avg/bc1 and so zero exactly where exp_avg is).
let private checkSignumSteps (h: Signum.Hyper) (shape: int list) (size: float) (t: Trajectory) =
    let n = t.Param.Count
    let states = Signum.init n :: (run (Signum.step h shape) (Signum.init n) t |> List.map snd)
    List.iteri2
        (fun k (s: Signum.State) (g: Vec) ->
            let p', s' = Signum.step h shape s g (Vector<float>.Build.Dense n)
            for i in 0 .. n - 1 do
                let expected = if not h.Nesterov && s'.ExpAvg[i] = 0.0 then 0.0 else size
                let ok = abs p'[i] = expected || (h.Nesterov && p'[i] = 0.0)
                require ok (sprintf "step %d, element %d: |step| = %.17g, expected %.17g" (k + 1) i (abs p'[i]) expected))
        (List.take t.Grads.Length states) t.Grads

[<Property(MaxTest = cases)>]
let ``Signum steps are exactly lr per element where the momentum is nonzero`` () =
    Gens.forAll (Gen.zip signumHyper trajectory) (fun (h, t) -> checkSignumSteps h [ t.Param.Count ] h.Lr t)

[<Property(MaxTest = cases)>]
let ``Signum with shape scaling steps are exactly lr*2/(rows+cols)`` () =
    let g =
        gen {
            let! h = signumHyper
            // 17: rows and columns up to 17, so up to 289 elements.
            let! rows = Gen.choose (1, 17)
            let! cols = Gen.choose (1, 17)
            let! t = trajectoryOf (rows * cols)
            return { h with UseShapeScaling = true }, rows, cols, t
        }
    Gens.forAll g (fun (h, rows, cols, t) -> checkSignumSteps h [ rows; cols ] (h.Lr * (2.0 / float (rows + cols))) t)

[<Property(MaxTest = cases)>]
let ``S3GD momentum stays in [-1, 1] so each step is at most lr per element`` () =
    let g =
        gen {
            let! lr = lr
            let! b = beta
            let! wd = weightDecay
            let! t = trajectory
            return { SmoothedSignSgd.defaults with Lr = lr; Beta = b; WeightDecay = wd; InitialLr = lr }, t
        }
    Gens.forAll g (fun (h, t) ->
        let n = t.Param.Count
        let states = SmoothedSignSgd.init n :: (run (SmoothedSignSgd.step h) (SmoothedSignSgd.init n) t |> List.map snd)
        List.iteri2
            (fun k (s: SmoothedSignSgd.State) (g: Vec) ->
                // The step alone: from a zero parameter without decay.
                let p', s' = SmoothedSignSgd.step { h with WeightDecay = 0.0 } s g (Vector<float>.Build.Dense n)
                for i in 0 .. n - 1 do
                    require (abs s'.ExpAvg[i] <= 1.0) (sprintf "step %d, element %d: |exp_avg| = %.17g > 1" (k + 1) i (abs s'.ExpAvg[i]))
                    require (abs p'[i] <= h.Lr) (sprintf "step %d, element %d: |step| = %.17g > lr = %.17g" (k + 1) i (abs p'[i]) h.Lr))
            (List.take t.Grads.Length states) t.Grads)
