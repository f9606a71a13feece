/// `s3gd partition`: Adam-mini's blocks for each named parameter of a model (AdamMiniPartition), as a table: name,
/// shape, block kind, blocks, block length and whether weight decay applies.
module S3gd.Cli.Partition

open System
open Argu
open MathNet.Numerics.LinearAlgebra
open S3gd.Spec.Rules
open S3gd.Cli.Arguments

/// GPT-2 small's named parameters as Hugging Face's GPT2LMHeadModel stores them (Conv1D weights are in x out; the
/// output layer is tied to wte): 148 tensors, 124M parameters, the shapes of Bench.gpt2Lengths.
let gpt2 : (string * int list) list =
    // Vocabulary, context, width and MLP width of GPT-2 small.
    let vocab, context, width, mlp = 50257, 1024, 768, 3072
    let block i =
        let h name = sprintf "transformer.h.%d.%s" i name
        [ h "ln_1.weight", [ width ]; h "ln_1.bias", [ width ]
          h "attn.c_attn.weight", [ width; 3 * width ]; h "attn.c_attn.bias", [ 3 * width ]
          h "attn.c_proj.weight", [ width; width ]; h "attn.c_proj.bias", [ width ]
          h "ln_2.weight", [ width ]; h "ln_2.bias", [ width ]
          h "mlp.c_fc.weight", [ width; mlp ]; h "mlp.c_fc.bias", [ mlp ]
          h "mlp.c_proj.weight", [ mlp; width ]; h "mlp.c_proj.bias", [ width ] ]
    [ "transformer.wte.weight", [ vocab; width ]; "transformer.wpe.weight", [ context; width ] ]
    @ List.concat [ for i in 0..11 -> block i ]
    @ [ "transformer.ln_f.weight", [ width ]; "transformer.ln_f.bias", [ width ] ]

/// GPT-2 small's sizes as Adam-mini needs them: dim 768, 12 heads.
let gpt2Model : AdamMiniPartition.Model = { Dim = 768; NHeads = 12; NKvHeads = 12 }

/// A parameter of a shape with no values (a sparse vector: only its length is read).
let param (name: string, shape: int list) : Param =
    { Name = name; Shape = shape; Value = Vector<float>.Build.Sparse(List.fold (*) 1 shape) }

/// One row of the partition: name, shape, kind, blocks, block length, decays.
type Row = { Name: string; Shape: int list; Kind: AdamMiniPartition.BlockKind; Blocks: int; Block: int; Decays: bool }

/// The partition of named shapes under a scheme and model sizes; an error names the parameter that does not fit.
let rows (scheme: AdamMiniPartition.Scheme) (model: AdamMiniPartition.Model) (shapes: (string * int list) list) : Result<Row list, string> =
    try
        Ok
            [ for name, shape in shapes ->
                  let p = param (name, shape)
                  let block = AdamMiniPartition.blockLength scheme model p
                  { Name = name; Shape = shape; Kind = AdamMiniPartition.kind scheme p; Blocks = p.Value.Count / block; Block = block
                    Decays = AdamMiniPartition.decays scheme name } ]
    with :? ArgumentException as e -> Error e.Message

/// Parses NAME=AxB (dimensions positive).
let parseParam (spec: string) : Result<string * int list, string> =
    match spec.Split('=', 2) with
    | [| name; dims |] when name <> "" ->
        let parsed = dims.Split('x') |> Array.map (fun d -> match Int32.TryParse d with | true, v when v > 0 -> Some v | _ -> None)
        if parsed.Length > 0 && Array.forall Option.isSome parsed then Ok(name, parsed |> Array.choose id |> List.ofArray)
        else Error(sprintf "--param: '%s' has a bad shape '%s' (positive sizes joined by x, e.g. 768x3072)" spec dims)
    | _ -> Error(sprintf "--param: '%s' is not NAME=AxB" spec)

let private kindName (k: AdamMiniPartition.BlockKind) =
    match k with
    | AdamMiniPartition.PerHead -> "per-head"
    | AdamMiniPartition.PerRow -> "per-row"
    | AdamMiniPartition.PerElement -> "per-element"
    | AdamMiniPartition.Whole -> "whole"

/// The table of rows, with totals.
let table (rows: Row list) =
    let shape (s: int list) = String.Join("x", s)
    let width = rows |> List.map (fun r -> r.Name.Length) |> List.fold max 4
    [ yield sprintf "%-*s %-12s %-11s %9s %9s %s" width "name" "shape" "kind" "blocks" "block" "decay"
      for r in rows -> sprintf "%-*s %-12s %-11s %9d %9d %s" width r.Name (shape r.Shape) (kindName r.Kind) r.Blocks r.Block (if r.Decays then "yes" else "no")
      yield sprintf "%d tensors, %d parameters, %d second moments (vmean)" rows.Length (rows |> List.sumBy (fun r -> int64 r.Blocks * int64 r.Block)) (rows |> List.sumBy (fun r -> int64 r.Blocks)) ]

/// Runs `s3gd partition`.
let command (args: ParseResults<PartitionArgs>) =
    let shapes =
        match args.GetResults PartitionArgs.Param, args.GetResult(PartitionArgs.Model, "gpt2") with
        | [], "gpt2" -> Ok gpt2
        | [], other -> Error(sprintf "--model: unknown model '%s' (expected gpt2, or give --param NAME=AxB)" other)
        | specs, _ -> specs |> List.map parseParam |> Errors.sequence
    let scheme =
        match args.GetResult(PartitionArgs.Partition, "reference") with
        | "hessian" -> Ok AdamMiniPartition.Hessian
        | "reference" -> Ok AdamMiniPartition.Reference
        | other -> Error(sprintf "--partition: '%s' is not hessian or reference" other)
    let dim = args.GetResult(PartitionArgs.Dim, gpt2Model.Dim)
    let heads = args.GetResult(PartitionArgs.N_Heads, gpt2Model.NHeads)
    let kv = args.GetResult(PartitionArgs.N_Kv_Heads, heads)
    let model =
        if dim < 1 then Error(sprintf "--dim must be at least 1, was %d" dim)
        elif heads < 1 then Error(sprintf "--n-heads must be at least 1, was %d" heads)
        elif kv < 1 || heads % kv <> 0 then Error(sprintf "--n-kv-heads=%d must divide --n-heads=%d" kv heads)
        else Ok({ Dim = dim; NHeads = heads; NKvHeads = kv }: AdamMiniPartition.Model)
    match shapes, scheme, model with
    | Error e, _, _ | _, Error e, _ | _, _, Error e -> Errors.report e
    | Ok shapes, Ok scheme, Ok model ->
        match rows scheme model shapes with
        | Error e -> Errors.report e
        | Ok rs ->
            printfn "partition: %A, dim %d, n_heads %d, n_kv_heads %d" scheme model.Dim model.NHeads model.NKvHeads
            table rs |> List.iter (printfn "%s")
            0
