/// `s3gd formats`: negative values are values, codes print in hex, block-scaled fp8 prints its power-of-two scales, bad
/// input exits 2 with one line.
module S3gd.Properties.Cli.FormatsCommandTests

open System
open System.IO
open Argu
open Xunit
open S3gd.Cli

let private parser = ArgumentParser.Create<Arguments.S3gdArgs>(programName = "s3gd")

/// Runs `s3gd formats ...` in process, returning (exit code, stdout lines, stderr).
let private formats (argv: string list) =
    let out, err = new StringWriter(), new StringWriter()
    let code = Formats.run out err ((parser.ParseCommandLine(List.toArray ("formats" :: argv))).GetResult Arguments.S3gdArgs.Formats)
    code, out.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries), err.ToString()

let private codes (lines: string[]) = lines |> Array.map (fun l -> l.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1])

[<Fact>]
let ``encode prints the codes of the OCP examples, negative values with or without a separator`` () =
    let code, lines, _ = formats [ "encode"; "--format"; "fp8e4m3"; "1"; "448"; "500"; "-0"; "0.001953125" ]
    Assert.Equal(0, code)
    Assert.Equal<string[]>([| "0x38"; "0x7e"; "0x7e"; "0x80"; "0x01" |], codes lines)
    for argv in [ [ "encode"; "--format"; "fp8e4m3"; "-0"; "-240" ]; [ "encode"; "--format"; "fp8e4m3"; "--"; "-0"; "-240" ] ] do
        let code, lines, _ = formats argv
        Assert.Equal(0, code)
        Assert.Equal<string[]>([| "0x80"; "0xf7" |], codes lines)

[<Fact>]
let ``decode reads hex and decimal codes`` () =
    let code, lines, _ = formats [ "decode"; "--format"; "bf16"; "0x3fc0"; "65408" ]
    Assert.Equal(0, code)
    Assert.Equal<string[]>([| "0x3fc0 1.5"; "0xff80 -Infinity" |], lines |> Array.map (fun l -> String.Join(" ", l.Split(' ', StringSplitOptions.RemoveEmptyEntries))))

[<Fact>]
let ``block prints each block's power-of-two scale and E8M0 byte, then the codes of the values over it`` () =
    // absmax 900 over e4m3's 448: the scale is 2^2 (900 / 4 = 225 fits, 900 / 2 = 450 does not); 225 rounds to 224
    // (1.75 * 2^7), -0.125 / 4 is -2^-5.
    let code, lines, _ = formats [ "block"; "--format"; "fp8e4m3"; "900"; "-0.125"; "0" ]
    Assert.Equal(0, code)
    let words (l: string) = String.Join(" ", l.Split(' ', StringSplitOptions.RemoveEmptyEntries))
    Assert.Equal<string[]>([| "block 0: scale 2^2 (e8m0 0x81)"; "900 0x76 896"; "-0.125 0x90 -0.125"; "0 0x00 0" |], lines |> Array.map words)
    // e5m2's 57344: 128 and 130 both take 2^-8 (32768 and 33280 fit, twice that does not).
    let values = [ for i in 1..130 -> string i ]
    let _, lines, _ = formats ("block" :: "--format" :: "fp8e5m2" :: values)
    Assert.Equal<string[]>([| "block 0: scale 2^-8 (e8m0 0x77)"; "block 1: scale 2^-8 (e8m0 0x77)" |], lines |> Array.filter (fun l -> l.StartsWith "block"))

[<Fact>]
let ``an unknown format or an unparsable value is one line on stderr and exit code 2`` () =
    for argv, fragment in
        [ [ "encode"; "--format"; "fp7"; "1" ], "unknown format 'fp7'"
          [ "encode"; "--format"; "bf16"; "1.5x" ], "cannot parse value '1.5x'"
          [ "decode"; "--format"; "fp8e5m2"; "0x100" ], "does not fit in 8 bits"
          [ "block"; "--format"; "bf16"; "1" ], "--format bf16: block scaling is for fp8e4m3 and fp8e5m2"
          [ "block"; "--format"; "fp8e4m3"; "1"; "1e39" ], "value 1E+39 is not finite in float32" ] do
        let code, lines, err = formats argv
        Assert.Equal(2, code)
        Assert.Empty lines
        Assert.Contains(fragment, err)
        Assert.Equal(1, err.Trim().Split('\n').Length)
