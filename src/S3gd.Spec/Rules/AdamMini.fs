/// Adam-mini (zyushun/Adam-mini, adam_mini/adam_mini.py): Adam with one second moment per block
/// (AdamMiniPartition says which blocks), per block of length L and step t:
///   p <- p*(1 - lr*wd)  (wd = 0 for names the partition exempts: "norm", "ln", "bias" in adam_mini.py's);
///   m <- lerp(m, g, 1 - b1);  vmean <- b2*vmean + (1 - b2)*mean(g^2 over the block);
///   p <- p - lr * (m/(1 - b1^t)) / (sqrt(vmean)/sqrt(1 - b2^t) + eps).
/// State named as the reference: `m` per element and `vmean` one per block (the reference names the
/// per-element second moment of its bias terms `v`; here those are blocks of length 1 in `vmean`).
module S3gd.Spec.Rules.AdamMini

open MathNet.Numerics.LinearAlgebra

/// Adam-mini hyperparameters, the reference's names and defaults, plus the partition scheme.
type Hyper =
    { Lr: float
      Beta1: float
      Beta2: float
      Eps: float
      WeightDecay: float
      Model: AdamMiniPartition.Model
      Partition: AdamMiniPartition.Scheme }

/// Adam-mini state: the step, m per element and vmean per block.
type State = { Step: int; M: Vec; VMean: Vec }

/// The reference's defaults (dim 2048, n_heads 32, n_kv_heads = n_heads) and its partition.
let defaults =
    { Lr = 1e-3; Beta1 = 0.9; Beta2 = 0.999; Eps = 1e-8; WeightDecay = 0.0
      Model = { Dim = 2048; NHeads = 32; NKvHeads = 32 }; Partition = AdamMiniPartition.Reference }

/// The state before the first step for n elements in blocks of length `block`.
let init (n: int) (block: int) : State =
    { Step = 0; M = Vector<float>.Build.Dense n; VMean = Vector<float>.Build.Dense(n / block) }

/// mean(g^2) over each block of length `block`.
let blockMeanSquare (block: int) (g: Vec) : Vec =
    Vector<float>.Build.Dense(g.Count / block, fun b -> g.SubVector(b * block, block).PointwisePower(2.0).Sum() / float block)

/// Each block's value repeated over its elements.
let private expand (block: int) (perBlock: Vec) : Vec = Vector<float>.Build.Dense(perBlock.Count * block, fun i -> perBlock[i / block])

/// One Adam-mini step on blocks of length `block` with weight decay `wd`: (hyper, block, wd, state, grad, param) -> (param', state').
let step (h: Hyper) (block: int) (wd: float) (s: State) (g: Vec) (p: Vec) : Vec * State =
    if block <= 0 || g.Count % block <> 0 then invalidArg "block" (sprintf "block length %d does not divide %d elements" block g.Count)
    let t = s.Step + 1
    let p = p * (1.0 - h.Lr * wd)
    let m = Elementwise.lerp s.M g (1.0 - h.Beta1)
    let vmean = h.Beta2 * s.VMean + (1.0 - h.Beta2) * blockMeanSquare block g
    let bc1, bc2 = 1.0 - h.Beta1 ** float t, 1.0 - h.Beta2 ** float t
    let denom = expand block (vmean.PointwiseSqrt() / sqrt bc2 + h.Eps)
    p - h.Lr * (m / bc1).PointwiseDivide denom, { Step = t; M = m; VMean = vmean }

/// The block length and weight decay for a named parameter.
let layout (h: Hyper) (p: Param) : int * float =
    AdamMiniPartition.blockLength h.Partition h.Model p, (if AdamMiniPartition.decays h.Partition p.Name then h.WeightDecay else 0.0)

/// Adam-mini hyperparameters from resolved values (n_kv_heads 0 means n_heads); an n_kv_heads that does not divide
/// n_heads is an error naming both.
let ofHypers (v: Hypers) : Result<Hyper, string> =
    let nHeads, nKv = Hyper.getWhole v "n_heads", Hyper.getWhole v "n_kv_heads"
    let nKv = if nKv = 0 then nHeads else nKv
    if nHeads % nKv <> 0 then Error(sprintf "n_kv_heads=%d must divide n_heads=%d" nKv nHeads)
    else
        Ok
            { Lr = Hyper.getReal v "lr"; Beta1 = Hyper.getReal v "beta1"; Beta2 = Hyper.getReal v "beta2"
              Eps = Hyper.getReal v "eps"; WeightDecay = Hyper.getReal v "weight_decay"
              Model = { Dim = Hyper.getWhole v "dim"; NHeads = nHeads; NKvHeads = nKv }
              Partition = if Hyper.getWord v "partition" = "hessian" then AdamMiniPartition.Hessian else AdamMiniPartition.Reference }

/// The registry entry: names, ranges and the adapter to named state.
let info: RuleInfo =
    { Name = "adam-mini"
      Summary = "Adam with one second moment per block, blocks chosen by parameter name and shape"
      Reference = "zyushun/Adam-mini adam_mini/adam_mini.py 1.1.1 (its partition by default; the seed's Hessian-aware one by name)"
      Hypers =
        [ Hyper.real "lr" defaults.Lr ">= 0" (fun v -> v >= 0.0) "learning rate"
          Hyper.real "beta1" defaults.Beta1 "[0, 1)" (fun v -> v >= 0.0 && v < 1.0) "EMA factor of the gradient"
          Hyper.real "beta2" defaults.Beta2 "[0, 1)" (fun v -> v >= 0.0 && v < 1.0) "EMA factor of the block mean of g^2"
          Hyper.real "eps" defaults.Eps ">= 0" (fun v -> v >= 0.0) "added to the denominator"
          Hyper.real "weight_decay" defaults.WeightDecay ">= 0" (fun v -> v >= 0.0) "decoupled decay (0 for the names the partition exempts)"
          Hyper.whole "dim" defaults.Model.Dim ">= 1" (fun v -> v >= 1) "hidden size (head size = dim*dim/n_heads elements)"
          Hyper.whole "n_heads" defaults.Model.NHeads ">= 1" (fun v -> v >= 1) "attention heads"
          Hyper.whole "n_kv_heads" 0 ">= 0, divides n_heads (0: n_heads)" (fun v -> v >= 0) "key/value heads (grouped-query attention)"
          Hyper.word "partition" "reference" [ "reference"; "hessian" ] "blocks: adam_mini.py 1.1.1's partition or the seed's Hessian-aware one" ]
      Pairs = [ "betas", "beta1", "beta2" ]
      Create =
        fun v ->
            match ofHypers v with
            | Error e -> Error e
            | Ok h ->
                let toNamed (s: State) = { Step = s.Step; Buffers = Map [ "m", s.M; "vmean", s.VMean ] }
                Ok
                    { Init = fun p -> toNamed (init p.Value.Count (fst (layout h p)))
                      Step =
                        fun ns g p ->
                            let block, wd = layout h p
                            let p', s' = step h block wd { Step = ns.Step; M = ns.Buffers["m"]; VMean = ns.Buffers["vmean"] } g p.Value
                            p', toNamed s' } }
