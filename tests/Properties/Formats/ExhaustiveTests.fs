/// Every code of every narrow format: decoding then encoding gives the code back.
module S3gd.Properties.Formats.ExhaustiveTests

open System
open Xunit
open S3gd.Spec.Formats

let private roundTrip (decode: uint32 -> float) (encode: float -> uint32) (codes: uint32 seq) =
    for c in codes do
        let v = decode c
        if not (Double.IsNaN v) then
            let back = encode v
            if back <> c then failwithf "code 0x%x decodes to %g which encodes to 0x%x" c v back

[<Fact>]
let ``every bf16 code round-trips through float64 and float32`` () =
    roundTrip (uint16 >> Bf16.decode) (Bf16.encode >> uint32) (seq { 0u .. 0xFFFFu })
    roundTrip (uint16 >> Bf16.decode) (float32 >> Bf16.encode32 >> uint32) (seq { 0u .. 0xFFFFu })

[<Fact>]
let ``every fp8 e4m3fn code round-trips`` () =
    roundTrip (byte >> Fp8.decodeE4M3) (Fp8.encodeE4M3 >> uint32) (seq { 0u .. 0xFFu })

[<Fact>]
let ``every fp8 e5m2 code round-trips in both overflow modes`` () =
    let finite = seq { 0u .. 0xFFu } |> Seq.filter (fun c -> Double.IsFinite(Fp8.decodeE5M2 (byte c)))
    roundTrip (byte >> Fp8.decodeE5M2) (Fp8.encodeE5M2 Minifloat.Saturate >> uint32) finite
    roundTrip (byte >> Fp8.decodeE5M2) (Fp8.encodeE5M2 Minifloat.ToInfinity >> uint32) (seq { 0u .. 0xFFu })

[<Fact>]
let ``the NaN codes are exactly the ones the OCP specification names`` () =
    let e4m3Nans = [ 0u .. 0xFFu ] |> List.filter (fun c -> Double.IsNaN(Fp8.decodeE4M3 (byte c)))
    Assert.Equal<uint32 list>([ 0x7Fu; 0xFFu ], e4m3Nans)
    let e5m2Nans = [ 0u .. 0xFFu ] |> List.filter (fun c -> Double.IsNaN(Fp8.decodeE5M2 (byte c)))
    Assert.Equal<uint32 list>([ 0x7Du; 0x7Eu; 0x7Fu; 0xFDu; 0xFEu; 0xFFu ], e5m2Nans)

[<Fact>]
let ``the format constants match the OCP specification`` () =
    Assert.Equal(448.0, Minifloat.maxFinite Fp8.e4m3)
    Assert.Equal(57344.0, Minifloat.maxFinite Fp8.e5m2)
    Assert.Equal(Math.Pow(2.0, -9.0), Minifloat.minSubnormal Fp8.e4m3)
    Assert.Equal(Math.Pow(2.0, -16.0), Minifloat.minSubnormal Fp8.e5m2)
    Assert.Equal((2.0 - Math.Pow(2.0, -7.0)) * Math.Pow(2.0, 127.0), Minifloat.maxFinite Bf16.layout)
    Assert.Equal(Minifloat.maxFinite Bf16.layout, Bf16.decode 0x7F7Fus)
