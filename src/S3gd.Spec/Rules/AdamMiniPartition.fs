/// How Adam-mini splits a parameter into blocks that share one second moment, by name and shape.
/// Every block is a contiguous row-major slice of equal length, so a partition is its block length.
///   Reference (zyushun/Adam-mini adam_mini/adam_mini.py, version 1.1.1; the default), on the lower-cased name:
///   "bias" names per element (plain AdamW); query and key ("k_proj", "q_proj", "wq", "wk", "query", "key") one block
///   per head (dim*dim/n_heads elements); embeddings ("embed", "embd", "wte"), outputs ("lm_head", "output",
///   "final_layer"), values ("v_proj", "wv", "value"), attention outputs ("o_proj", "wo", "attn.proj") and MLPs
///   ("feed_forward", "linear", "mlp") one block per row; anything else one block. No weight decay where the name
///   holds "norm", "ln" or "bias". (A 1-D parameter of the row names is one block here; adam_mini.py indexes a second
///   dimension of it and fails.)
///   Hessian-aware (the seed's): query/key weights one block per head; value, attention-output and MLP weights one
///   block per output row; embeddings and the output layer one block per token row; anything else one block; no
///   weight decay for "norm" and "ln_f" names.
module S3gd.Spec.Rules.AdamMiniPartition

/// Which partition to use.
type Scheme =
    /// The seed's Hessian-aware partition.
    | Hessian
    /// The partition of adam_mini.py 1.1.1, the official implementation.
    | Reference

/// The transformer sizes the partition needs (Adam-mini's dim, n_heads, n_kv_heads; the head size dim*dim/n_heads
/// serves query and key alike, so n_kv_heads only has to divide n_heads, as the reference checks).
type Model = { Dim: int; NHeads: int; NKvHeads: int }

/// The kind of block a parameter is split into, for printing the partition chosen.
type BlockKind =
    /// One block per attention head (dim*dim/n_heads elements).
    | PerHead
    /// One block per row (output neuron or token).
    | PerRow
    /// One block per element: plain AdamW.
    | PerElement
    /// The whole tensor is one block.
    | Whole

/// Name fragments of embeddings and output layers (the Hessian-aware partition).
let embeddingNames = [ "embed"; "embd"; "wte"; "lm_head.weight"; "output.weight" ]
/// Name fragments of query and key weights (the Hessian-aware partition).
let queryKeyNames = [ "k_proj.weight"; "q_proj.weight"; "wq.weight"; "wk.weight" ]
/// Name fragments of value, attention-output and MLP weights (the Hessian-aware partition; Llama and GPT-2 spellings).
let rowNames = [ "v_proj.weight"; "wv.weight"; "o_proj.weight"; "wo.weight"; "attn.c_proj.weight"; "mlp"; "gate_proj"; "up_proj"; "down_proj"; "w1.weight"; "w2.weight"; "w3.weight"; "c_fc" ]
/// Name fragments whose parameters take no weight decay (the Hessian-aware partition: normalisation layers).
let noDecayNames = [ "norm"; "ln_f" ]

/// adam_mini.py's name sets, matched against the lower-cased name.
module Official =
    /// Parameters stepped as plain AdamW, per element (adam_block_names).
    let adamNames = [ "bias" ]
    /// Query and key weights, one block per head (wqk_names).
    let queryKeyNames = [ "k_proj"; "q_proj"; "wq"; "wk"; "query"; "key" ]
    /// Embeddings, outputs, values, attention outputs and MLPs, one block per row (embd_names, output_names,
    /// wv_names, attn_proj_names, mlp_names).
    let rowNames =
        [ "embed"; "embd"; "wte"; "lm_head"; "output"; "final_layer"; "v_proj"; "wv"; "value"; "o_proj"; "wo"; "attn.proj"
          "feed_forward"; "linear"; "mlp" ]
    /// Parameters that take no weight decay.
    let noDecayNames = [ "norm"; "ln"; "bias" ]

/// Whether the name contains any of the fragments.
let private matches (fragments: string list) (name: string) = fragments |> List.exists (fun f -> name.Contains f)

/// Whether Adam-mini applies weight decay to the named parameter under a scheme.
let decays (scheme: Scheme) (name: string) =
    match scheme with
    | Reference -> not (matches Official.noDecayNames (name.ToLowerInvariant()))
    | Hessian -> not (matches noDecayNames name)

/// The block kind of a parameter, by its name and shape, under a scheme.
let kindOf (scheme: Scheme) (name: string) (shape: int list) : BlockKind =
    let isMatrix = List.length shape >= 2
    match scheme with
    | Reference ->
        let lower = name.ToLowerInvariant()
        if matches Official.adamNames lower then PerElement
        elif matches Official.queryKeyNames lower then PerHead
        elif isMatrix && matches Official.rowNames lower then PerRow
        else Whole
    | Hessian ->
        if matches queryKeyNames name then PerHead
        elif isMatrix && (matches embeddingNames name || matches rowNames name) then PerRow
        else Whole

/// The block kind of a parameter under a scheme.
let kind (scheme: Scheme) (p: Param) : BlockKind = kindOf scheme p.Name p.Shape

/// The block length of a parameter given by name, shape and element count `n` (no values needed, so a large tensor
/// costs nothing); a head size that does not divide the parameter is an error naming both.
let blockLengthOf (scheme: Scheme) (m: Model) (name: string) (shape: int list) (n: int64) : int64 =
    match kindOf scheme name shape with
    | PerHead ->
        if (m.Dim * m.Dim) % m.NHeads <> 0 then invalidArg "n_heads" (sprintf "dim*dim = %d is not divisible by n_heads = %d" (m.Dim * m.Dim) m.NHeads)
        let head = int64 (m.Dim * m.Dim / m.NHeads)
        if n % head <> 0L then invalidArg "dim" (sprintf "'%s' has %d elements, not a multiple of the head size dim*dim/n_heads = %d" name n head)
        head
    | PerRow -> n / int64 (List.head shape)
    | PerElement -> 1L
    | Whole -> max n 1L

/// The block length for a parameter; a head size that does not divide the parameter is an error naming both.
let blockLength (scheme: Scheme) (m: Model) (p: Param) : int = int (blockLengthOf scheme m p.Name p.Shape (int64 p.Value.Count))

/// One line describing the partition of a parameter, for printing.
let describe (scheme: Scheme) (m: Model) (p: Param) : string =
    let len = blockLength scheme m p
    sprintf "%s %A: %A, %d block(s) of %d" p.Name p.Shape (kind scheme p) (p.Value.Count / len) len
