/// How Adam-mini splits a parameter into blocks that share one second moment, by name and shape.
/// Every block is a contiguous row-major slice of equal length, so a partition is its block length.
///   Hessian-aware (the seed's, later Adam-mini versions; the default): query/key weights one block per
///   head (dim*dim/n_heads elements); value, attention-output and MLP weights one block per output row;
///   embeddings and the output layer one block per token row; anything else one block.
///   Reference (zyushun/Adam-mini adam_mini/adam_mini.py): embeddings/output per element (plain AdamW),
///   query/key per head, anything else one block.
module S3gd.Spec.Rules.AdamMiniPartition

/// Which partition to use.
type Scheme =
    /// The seed's Hessian-aware partition.
    | Hessian
    /// The partition of the reference adam_mini.py.
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

/// Name fragments of embeddings and output layers (adam_mini.py's embd_names).
let embeddingNames = [ "embed"; "embd"; "wte"; "lm_head.weight"; "output.weight" ]
/// Name fragments of query and key weights (adam_mini.py's wqk_names).
let queryKeyNames = [ "k_proj.weight"; "q_proj.weight"; "wq.weight"; "wk.weight" ]
/// Name fragments of value, attention-output and MLP weights (Llama and GPT-2 spellings).
let rowNames = [ "v_proj.weight"; "wv.weight"; "o_proj.weight"; "wo.weight"; "attn.c_proj.weight"; "mlp"; "gate_proj"; "up_proj"; "down_proj"; "w1.weight"; "w2.weight"; "w3.weight"; "c_fc" ]
/// Name fragments whose parameters take no weight decay (normalisation layers).
let noDecayNames = [ "norm"; "ln_f" ]

/// Whether the name contains any of the fragments.
let private matches (fragments: string list) (name: string) = fragments |> List.exists (fun f -> name.Contains f)

/// Whether Adam-mini applies weight decay to the named parameter (not to "norm"/"ln_f" names).
let decays (name: string) = not (matches noDecayNames name)

/// The block kind of a parameter, by its name and shape, under a scheme.
let kindOf (scheme: Scheme) (name: string) (shape: int list) : BlockKind =
    let isMatrix = List.length shape >= 2
    match scheme with
    | _ when matches queryKeyNames name -> PerHead
    | Reference when matches embeddingNames name -> PerElement
    | Hessian when isMatrix && (matches embeddingNames name || matches rowNames name) -> PerRow
    | _ -> Whole

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
