/// The command-line grammar of s3gd: union types only; Program.fs wires them.
module S3gd.Cli.Arguments

open Argu

/// Arguments of `s3gd formats encode`.
type EncodeArgs =
    | [<Mandatory; AltCommandLine("-f")>] Format of name: string
    | [<MainCommand; Last>] Values of value: string list

    interface IArgParserTemplate with
        member a.Usage =
            match a with
            | Format _ -> "storage format: fp32, bf16, fp8e4m3 or fp8e5m2."
            | Values _ -> "decimal values to encode (inf, -inf, nan accepted; negative values need no '--')."

/// Arguments of `s3gd formats decode`.
type DecodeArgs =
    | [<Mandatory; AltCommandLine("-f")>] Format of name: string
    | [<MainCommand; Last>] Codes of code: string list

    interface IArgParserTemplate with
        member a.Usage =
            match a with
            | Format _ -> "storage format: fp32, bf16, fp8e4m3 or fp8e5m2."
            | Codes _ -> "codes to decode, hexadecimal (0x38) or decimal (56)."

/// Subcommands of `s3gd formats`.
type FormatsArgs =
    | [<CliPrefix(CliPrefix.None)>] Encode of ParseResults<EncodeArgs>
    | [<CliPrefix(CliPrefix.None)>] Decode of ParseResults<DecodeArgs>

    interface IArgParserTemplate with
        member a.Usage =
            match a with
            | Encode _ -> "encode values: prints each value, its code in hex and the decoded value."
            | Decode _ -> "decode codes: prints each code and the value it denotes."

/// Arguments of `s3gd verify`.
type VerifyArgs =
    | [<AltCommandLine("-b")>] Backend of name: string
    | Max_Test of count: int
    | Seed of seed: uint64

    interface IArgParserTemplate with
        member a.Usage =
            match a with
            | Backend _ -> "cpu, cuda or best (default: best available, or S3GD_BACKEND)."
            | Max_Test _ -> "cases per property (default 100)."
            | Seed _ -> "the random seed, to replay a failed run (default: a fresh one, printed)."

/// The top-level commands of s3gd.
type S3gdArgs =
    | Version
    | [<CliPrefix(CliPrefix.None)>] Formats of ParseResults<FormatsArgs>
    | [<SubCommand; CliPrefix(CliPrefix.None)>] Devices
    | [<CliPrefix(CliPrefix.None)>] Verify of ParseResults<VerifyArgs>

    interface IArgParserTemplate with
        member a.Usage =
            match a with
            | Version -> "print the version and exit."
            | Formats _ -> "encode and decode values in the storage formats (bf16, fp8 e4m3fn, fp8 e5m2)."
            | Devices -> "list the backends, each GPU and its capabilities, or why CUDA is unavailable."
            | Verify _ -> "check a backend's kernels against the spec (the properties tests/Properties runs)."
