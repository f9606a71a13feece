/// `s3gd formats encode|decode|block`: values and their codes in a storage format, or in block-scaled fp8.
module S3gd.Cli.Formats

open System
open System.Globalization
open Argu
open S3gd.Spec.Formats
open S3gd.Cli.Arguments

/// Drops one leading `--` separator: Argu passes it through as a value, and users write it before negative values.
let dropSeparator (items: string list) =
    match items with
    | "--" :: rest -> rest
    | _ -> items

/// Parses a decimal value as the command line writes it (also inf, -inf, nan, -0).
let parseValue (s: string) : Result<float, string> =
    match s.ToLowerInvariant() with
    | "inf" | "+inf" | "infinity" -> Ok Double.PositiveInfinity
    | "-inf" | "-infinity" -> Ok Double.NegativeInfinity
    | "nan" -> Ok Double.NaN
    | _ ->
        match Double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture) with
        | true, v -> Ok v
        | _ -> Error(sprintf "cannot parse value '%s' as a number" s)

/// Parses a code written in hex (0x38) or decimal, checking it fits the format's width.
let parseCode (format: StorageFormat) (s: string) : Result<uint32, string> =
    let hex = s.StartsWith("0x", StringComparison.OrdinalIgnoreCase)
    let digits = if hex then s.Substring 2 else s
    let style = if hex then NumberStyles.AllowHexSpecifier else NumberStyles.None
    match UInt64.TryParse(digits, style, CultureInfo.InvariantCulture) with
    | true, v when v < (1UL <<< (8 * StorageFormat.size format)) -> Ok(uint32 v)
    | true, _ -> Error(sprintf "code '%s' does not fit in %d bits of %s" s (8 * StorageFormat.size format) (StorageFormat.name format))
    | _ -> Error(sprintf "cannot parse code '%s' (hexadecimal 0x.. or decimal)" s)

/// The code in hex, as many digits as the format has bytes times two.
let hexCode (format: StorageFormat) (code: uint32) =
    "0x" + code.ToString("x" + string (2 * StorageFormat.size format), CultureInfo.InvariantCulture)

/// A float64 in its shortest round-trip form.
let show (x: float) = x.ToString("R", CultureInfo.InvariantCulture)

/// One printed row for each value: value, code, decoded value.
let encodeRows (format: StorageFormat) (values: float list) =
    values
    |> List.map (fun v ->
        let code = StorageFormat.encode format v
        sprintf "%-24s %-12s %s" (show v) (hexCode format code) (show (StorageFormat.decode format code)))

/// One printed row for each code: code and decoded value.
let decodeRows (format: StorageFormat) (codes: uint32 list) =
    codes |> List.map (fun c -> sprintf "%-12s %s" (hexCode format c) (show (StorageFormat.decode format c)))

/// Rows of block-scaled fp8 (the elementwise rules' fp8 state): per block of 128 values a line with its scale 2^e and
/// E8M0 byte, then each value as float32, its code and decoded value; a value that is not finite as float32 is an error.
let blockRows (format: StorageFormat) (values: float list) : Result<string list, string> =
    match format with
    | Fp8E4M3
    | Fp8E5M2 ->
        let xs = values |> List.map float32 |> Array.ofList
        match xs |> Array.tryFindIndex (Single.IsFinite >> not) with
        | Some i -> Error(sprintf "value %s is not finite in float32: block scaling takes finite values" (show values[i]))
        | None ->
            let block = BlockScaled.encode format BlockScaled.DefaultBlockSize xs
            let decoded = BlockScaled.decode block
            Ok
                [ for i in 0 .. xs.Length - 1 do
                      if i % block.BlockSize = 0 then
                          let b = block.Exponents[i / block.BlockSize]
                          yield sprintf "block %d: scale 2^%d (e8m0 0x%02x)" (i / block.BlockSize) (int b - E8M0.Bias) b
                      yield sprintf "%-24s %-12s %s" (show (float xs[i])) (hexCode format (uint32 block.Codes[i])) (show (float decoded[i])) ]
    | f -> Error(sprintf "--format %s: block scaling is for fp8e4m3 and fp8e5m2" (StorageFormat.name f))

let private printRows (out: IO.TextWriter) (err: IO.TextWriter) (rows: Result<string list, string>) =
    match rows with
    | Ok lines -> lines |> List.iter out.WriteLine; 0
    | Error e -> Errors.reportTo err e

/// Runs `s3gd formats encode|decode|block`, writing rows to `out` and an error line to `err`.
let run (out: IO.TextWriter) (err: IO.TextWriter) (args: ParseResults<FormatsArgs>) =
    match args.GetSubCommand() with
    | Encode a ->
        StorageFormat.parse (a.GetResult EncodeArgs.Format)
        |> Result.bind (fun f ->
            dropSeparator (a.GetResult(EncodeArgs.Values, [])) |> List.map parseValue |> Errors.sequence |> Result.map (encodeRows f))
        |> printRows out err
    | Decode a ->
        StorageFormat.parse (a.GetResult DecodeArgs.Format)
        |> Result.bind (fun f -> dropSeparator (a.GetResult(Codes, [])) |> List.map (parseCode f) |> Errors.sequence |> Result.map (decodeRows f))
        |> printRows out err
    | Block a ->
        StorageFormat.parse (a.GetResult BlockArgs.Format)
        |> Result.bind (fun f ->
            dropSeparator (a.GetResult(BlockArgs.Values, [])) |> List.map parseValue |> Errors.sequence |> Result.bind (blockRows f))
        |> printRows out err

/// Runs `s3gd formats encode|decode|block` on the console.
let command (args: ParseResults<FormatsArgs>) = run Console.Out Console.Error args
