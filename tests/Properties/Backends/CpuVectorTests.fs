/// The CPU twin's sixteen- and eight-lane paths against its one-value code, bit for bit: every bf16 and fp8 code decoded, every
/// float32 around each format's rounding boundaries (ties, saturation, subnormals, zeros, infinities, NaNs) and random bit
/// patterns encoded, the block scale's absmax, the bf16 maths, Kahan compensation and stochastic rounding. Spans have
/// lengths that leave a one-value tail, so both paths run in each check; the fused step's one-vector loads and stores match the spans.
module S3gd.Properties.Backends.CpuVectorTests

open System
open System.Runtime.Intrinsics
open Xunit
open FsCheck
open FsCheck.FSharp
open FsCheck.Xunit
open S3gd.Spec.Formats
open S3gd.Gpu.Cpu
open S3gd.Gpu.Kernels

let private bits (x: float32) = BitConverter.SingleToUInt32Bits x

/// The bits of a float32 arithmetic result, every NaN as one: which operand's NaN x86 propagates depends on the order the
/// JIT gives a commutative operation's operands (the twin's contract leaves NaN payloads aside; conversions, integer steps,
/// are compared with their NaN payloads).
let private arithmetic (x: float32) = if Single.IsNaN x then 0x7FC00000u else bits x
let private ofBits (b: uint32) = BitConverter.UInt32BitsToSingle b

/// Fails naming the first index where the two arrays differ, with both values in hex.
let private sameAt (what: string) (input: int -> string) (expected: 'a[]) (actual: 'a[]) =
    Assert.Equal(expected.Length, actual.Length)
    match Array.tryFindIndex id (Array.map2 (<>) expected actual) with
    | Some i -> failwithf "%s at %d (input %s): one value at a time %A, eight lanes %A" what i (input i) expected[i] actual[i]
    | None -> ()

/// Float32 values around every rounding boundary of the formats: every pattern of the sign, the exponent and the 11 upper
/// mantissa bits (so every kept bit, every rounding bit and every exponent, float32 subnormals, infinities and NaNs), with
/// the 12 lowest bits exactly zero (ties of bf16 and fp8), one, half, just below half or all set (one ulp around a tie).
let private boundaryValues =
    lazy
        [| for high in 0u .. (1u <<< 20) - 1u do
               for low in [ 0u; 1u; 0x7FFu; 0x800u; 0x801u; 0xFFFu ] -> ofBits ((high <<< 12) ||| low) |]

/// Random float32 bit patterns, one in eight an exact special (zeros, infinities, NaNs with payloads, subnormals, the
/// formats' largest values and their neighbours).
let private patterns =
    let special =
        Gen.elements
            [ 0u; 0x80000000u; 0x7F800000u; 0xFF800000u; 0x7FC00000u; 0xFFC12345u; 0x7F800001u; 0x00000001u; 0x807FFFFFu
              bits 448.0f; bits 464.0f; bits 480.0f; bits -480.0f; bits 57344.0f; bits 61440.0f; bits 65536.0f; 0x7F7FFFFFu; 0x7F7F8000u ]
    let one = Gen.frequency [ 7, Gen.choose (Int32.MinValue, Int32.MaxValue) |> Gen.map uint32; 1, special ] |> Gen.map ofBits
    // Up to 300 elements: several runs of 32 fp8 codes and a tail.
    Gen.choose (0, 300) |> Gen.bind (fun n -> Gen.arrayOfLength n one)

/// Cases per property.
[<Literal>]
let private maxTest = 200

let private encodeBf16 (x: float32[]) =
    let codes = Array.zeroCreate<uint16> x.Length
    CpuConvert.EncodeBf16(ReadOnlySpan x, Span codes)
    codes

let private encodeFp8 (e4m3: bool) (factor: float32) (x: float32[]) =
    let codes = Array.zeroCreate<byte> x.Length
    CpuConvert.EncodeFp8(e4m3, ReadOnlySpan x, factor, Span codes)
    codes

/// The one-value fp8 encode of x * factor.
let private scalarFp8 (e4m3: bool) (factor: float32) (x: float32) =
    let y = x * factor
    if e4m3 then CpuConvert.EncodeE4M3 y else CpuConvert.EncodeE5M2 y

let private hex (x: float32[]) i = sprintf "0x%08x" (bits x[i])

[<Fact>]
let ``every bf16 code decodes to the same float32 eight lanes at a time`` () =
    // Every code, then a few again so that the length leaves a tail.
    let codes = Array.append [| 0us .. 0xFFFFus |] [| 0x7FC1us; 0xFF80us; 1us |]
    let y = Array.zeroCreate<float32> codes.Length
    CpuConvert.DecodeBf16(ReadOnlySpan codes, Span y)
    sameAt "bf16 decode" (fun i -> sprintf "0x%04x" codes[i]) (codes |> Array.map (CpuConvert.DecodeBf16 >> bits)) (y |> Array.map bits)

[<Fact>]
let ``every fp8 code decodes as one value at a time does, times a block's scale`` () =
    // Every code, then random ones in a shuffled order, the length leaving a tail.
    let rng = Random 5
    let codes = Array.append [| 0uy .. 255uy |] (Array.init 1021 (fun _ -> byte (rng.Next 256)))
    let input i = sprintf "0x%02x" codes[i]
    for e4m3, one in [ true, SoftwareConvert.DecodeE4M3; false, SoftwareConvert.DecodeE5M2 ] do
        let decode scale =
            let y = Array.zeroCreate<float32> codes.Length
            CpuConvert.DecodeFp8(e4m3, ReadOnlySpan codes, scale, Span y)
            y
        // Unscaled, the one-value decode's bits, NaN payloads included; scaled, each value times the scale.
        sameAt (sprintf "fp8 decode (e4m3 %b)" e4m3) input (codes |> Array.map (uint32 >> one >> bits)) (decode 1.0f |> Array.map bits)
        for scale in [ 0.75f; 3.0f / 448.0f; 1e-40f; Single.PositiveInfinity ] do
            sameAt (sprintf "fp8 decode (e4m3 %b, scale %g)" e4m3 scale) input
                (codes |> Array.map (fun c -> arithmetic (one (uint32 c) * scale))) (decode scale |> Array.map arithmetic)

[<Fact>]
let ``every float32 around a rounding boundary encodes to bf16 as one value at a time does`` () =
    let x = boundaryValues.Force()
    sameAt "bf16 encode" (hex x) (x |> Array.map CpuConvert.EncodeBf16) (encodeBf16 x)

[<Fact>]
let ``every float32 around a rounding boundary encodes to fp8 as one value at a time does`` () =
    let x = boundaryValues.Force()
    for e4m3 in [ true; false ] do
        sameAt (sprintf "fp8 encode (e4m3 %b)" e4m3) (hex x) (x |> Array.map (scalarFp8 e4m3 1.0f)) (encodeFp8 e4m3 1.0f x)

[<Fact>]
let ``the fp8 encode rounds each fp8 value's neighbourhood and midpoints as one value at a time does, times an inverse scale`` () =
    // Every fp8 value and each midpoint to the next, and 40 float32 ulps either side, times a scale, then times its inverse.
    for e4m3, decode in [ true, Fp8.decodeE4M3; false, Fp8.decodeE5M2 ] do
        let finite = [| for c in 0uy .. 255uy -> float32 (decode c) |] |> Array.filter Single.IsFinite |> Array.distinct |> Array.sort
        let anchors = Array.append finite (Array.map2 (fun a b -> (a + b) / 2.0f) finite[.. finite.Length - 2] finite[1..])
        for scale in [ 1.0f; 0.37f; 3.0f / 448.0f; 1e-30f ] do
            let x = [| for a in anchors do for k in -40 .. 40 -> ofBits (uint32 (int64 (bits (a * scale)) + int64 k)) |]
            sameAt (sprintf "fp8 encode (e4m3 %b, scale %g)" e4m3 scale) (hex x) (x |> Array.map (scalarFp8 e4m3 (1.0f / scale))) (encodeFp8 e4m3 (1.0f / scale) x)

[<Property(MaxTest = maxTest)>]
let ``random bit patterns encode to bf16 and fp8, times a factor, as one value at a time`` () =
    let factors = Gen.elements [ 1.0f; 0.5f; 3.0f; 1e-3f; 1e30f; 448.0f / 57344.0f; Single.PositiveInfinity; Single.NaN; float32 (Math.Pow(2.0, 127.0)) ]
    Prop.forAll (Arb.fromGen (Gen.zip patterns factors)) (fun (x, d) ->
        sameAt "bf16 encode" (hex x) (x |> Array.map CpuConvert.EncodeBf16) (encodeBf16 x)
        for e4m3 in [ true; false ] do
            sameAt (sprintf "fp8 encode (e4m3 %b, factor %g)" e4m3 d) (hex x) (x |> Array.map (scalarFp8 e4m3 d)) (encodeFp8 e4m3 d x))

[<Property(MaxTest = maxTest)>]
let ``the absmax of a block ignores NaN and equals the one-value fold`` () =
    Prop.forAll (Arb.fromGen patterns) (fun x ->
        let expected = x |> Array.fold (fun m v -> Single.MaxNumber(m, abs v)) 0.0f
        Assert.Equal(bits expected, bits (CpuConvert.AbsMax(ReadOnlySpan x))))

/// Lane-wise application of a vector operation over arrays of eight, against the one-value operation.
let private lanes (name: string) (vector: Vector256<float32>[] -> Vector256<float32>) (scalar: float32[] -> float32) (inputs: float32[][]) =
    let n = inputs[0].Length / 8 * 8
    let expected = Array.init n (fun i -> arithmetic (scalar (inputs |> Array.map (fun a -> a[i]))))
    let actual =
        [| for k in 0 .. 8 .. n - 1 do
               let v = vector (inputs |> Array.map (fun a -> Vector256.Create<float32>(ReadOnlySpan<float32>(a, k, 8))))
               for l in 0 .. 7 -> arithmetic (Vector256.GetElement(v, l)) |]
    sameAt name (fun i -> inputs |> Array.map (fun a -> sprintf "0x%08x" (bits a[i])) |> String.concat ",") expected actual

/// Lane-wise application of a sixteen-lane vector operation over arrays of sixteen, against the one-value operation.
let private wideLanes (name: string) (vector: Vector512<float32>[] -> Vector512<float32>) (scalar: float32[] -> float32) (inputs: float32[][]) =
    let n = inputs[0].Length / 16 * 16
    let expected = Array.init n (fun i -> arithmetic (scalar (inputs |> Array.map (fun a -> a[i]))))
    let actual =
        [| for k in 0 .. 16 .. n - 1 do
               let v = vector (inputs |> Array.map (fun a -> Vector512.Create<float32>(ReadOnlySpan<float32>(a, k, 16))))
               for l in 0 .. 15 -> arithmetic (Vector512.GetElement(v, l)) |]
    sameAt name (fun i -> inputs |> Array.map (fun a -> sprintf "0x%08x" (bits a[i])) |> String.concat ",") expected actual

/// Three random arrays of one length.
let private threePatterns =
    Gen.zip3 patterns patterns patterns |> Gen.map (fun (a, b, c) -> let n = min a.Length (min b.Length c.Length) in [| a[.. n - 1]; b[.. n - 1]; c[.. n - 1] |])

/// A value as bf16 maths loads it, one at a time, eight lanes and sixteen: the operations' operands are loaded values,
/// results and broadcast scalars, never raw float32 bits (their rounding relies on it: RoundBf16OfQuiet).
let private bl (x: float32) = Bf16Maths().Load x
let private nl (x: Vector256<float32>) = VectorBf16Maths().Load x
let private wl (x: Vector512<float32>) = WideVectorBf16Maths().Load x

[<Property(MaxTest = maxTest)>]
let ``float32 and bf16 maths sixteen lanes at a time compute every operation as one value at a time`` () =
    Prop.forAll (Arb.fromGen threePatterns) (fun xs ->
        wideLanes "mul" (fun v -> WideVectorMaths().Mul(v[0], v[1])) (fun s -> ScalarMaths().Mul(s[0], s[1])) xs
        wideLanes "add" (fun v -> WideVectorMaths().Add(v[0], v[1])) (fun s -> ScalarMaths().Add(s[0], s[1])) xs
        wideLanes "div" (fun v -> WideVectorMaths().Div(v[0], v[1])) (fun s -> ScalarMaths().Div(s[0], s[1])) xs
        wideLanes "root" (fun v -> WideVectorMaths().Root(v[0])) (fun s -> ScalarMaths().Root(s[0])) xs
        wideLanes "madd" (fun v -> WideVectorMaths().Madd(v[0], v[1], v[2])) (fun s -> ScalarMaths().Madd(s[0], s[1], s[2])) xs
        wideLanes "max" (fun v -> WideVectorMaths().Max(v[0], v[1])) (fun s -> ScalarMaths().Max(s[0], s[1])) xs
        wideLanes "sign" (fun v -> WideVectorMaths().Sign(v[0])) (fun s -> ScalarMaths().Sign(s[0])) xs
        wideLanes "zero where zero" (fun v -> WideVectorMaths().ZeroWhereZero(v[0], v[1])) (fun s -> ScalarMaths().ZeroWhereZero(s[0], s[1])) xs
        wideLanes "bf16 mul" (fun v -> WideVectorBf16Maths().Mul(wl v[0], wl v[1])) (fun s -> Bf16Maths().Mul(bl s[0], bl s[1])) xs
        wideLanes "bf16 add" (fun v -> WideVectorBf16Maths().Add(wl v[0], wl v[1])) (fun s -> Bf16Maths().Add(bl s[0], bl s[1])) xs
        wideLanes "bf16 div" (fun v -> WideVectorBf16Maths().Div(wl v[0], wl v[1])) (fun s -> Bf16Maths().Div(bl s[0], bl s[1])) xs
        wideLanes "bf16 root" (fun v -> WideVectorBf16Maths().Root(wl v[0])) (fun s -> Bf16Maths().Root(bl s[0])) xs
        wideLanes "bf16 madd" (fun v -> WideVectorBf16Maths().Madd(wl v[0], wl v[1], wl v[2])) (fun s -> Bf16Maths().Madd(bl s[0], bl s[1], bl s[2])) xs
        wideLanes "bf16 max" (fun v -> WideVectorBf16Maths().Max(v[0], v[1])) (fun s -> Bf16Maths().Max(s[0], s[1])) xs
        wideLanes "bf16 load" (fun v -> WideVectorBf16Maths().Load(v[0])) (fun s -> Bf16Maths().Load(s[0])) xs
        wideLanes "where less" (fun v -> WideVectorMaths().WhereLess(v[0], v[1], v[2], v[1])) (fun s -> ScalarMaths().WhereLess(s[0], s[1], s[2], s[1])) xs
        wideLanes "bf16 where less" (fun v -> WideVectorBf16Maths().WhereLess(v[0], v[1], v[2], v[1])) (fun s -> Bf16Maths().WhereLess(s[0], s[1], s[2], s[1])) xs)

[<Property(MaxTest = maxTest)>]
let ``bf16 maths eight lanes at a time rounds every operation as one value at a time`` () =
    Prop.forAll (Arb.fromGen threePatterns) (fun xs ->
        lanes "mul" (fun v -> VectorBf16Maths().Mul(nl v[0], nl v[1])) (fun s -> Bf16Maths().Mul(bl s[0], bl s[1])) xs
        lanes "add" (fun v -> VectorBf16Maths().Add(nl v[0], nl v[1])) (fun s -> Bf16Maths().Add(bl s[0], bl s[1])) xs
        lanes "div" (fun v -> VectorBf16Maths().Div(nl v[0], nl v[1])) (fun s -> Bf16Maths().Div(bl s[0], bl s[1])) xs
        lanes "root" (fun v -> VectorBf16Maths().Root(nl v[0])) (fun s -> Bf16Maths().Root(bl s[0])) xs
        lanes "madd" (fun v -> VectorBf16Maths().Madd(nl v[0], nl v[1], nl v[2])) (fun s -> Bf16Maths().Madd(bl s[0], bl s[1], bl s[2])) xs
        lanes "max" (fun v -> VectorBf16Maths().Max(v[0], v[1])) (fun s -> Bf16Maths().Max(s[0], s[1])) xs
        lanes "sign" (fun v -> VectorBf16Maths().Sign(v[0])) (fun s -> Bf16Maths().Sign(s[0])) xs
        lanes "load" (fun v -> VectorBf16Maths().Load(v[0])) (fun s -> Bf16Maths().Load(s[0])) xs
        lanes "zero where zero" (fun v -> VectorBf16Maths().ZeroWhereZero(v[0], v[1])) (fun s -> Bf16Maths().ZeroWhereZero(s[0], s[1])) xs
        lanes "where less" (fun v -> VectorBf16Maths().WhereLess(v[0], v[1], v[2], v[1])) (fun s -> Bf16Maths().WhereLess(s[0], s[1], s[2], s[1])) xs)

[<Fact>]
let ``a NaN scalar broadcast to bf16 maths keeps an operation's result NaN, whatever its payload`` () =
    for payload in [ 0x7FFFFFFFu; 0xFFFFFFFFu; 0x7FFF8000u; 0x7F800001u; 0xFFC00000u ] do
        let nan = ofBits payload
        let one = 1.0f
        Assert.True(Single.IsNaN(Vector256.GetElement(VectorBf16Maths().Mul(VectorBf16Maths().Broadcast nan, nl (Vector256.Create one)), 0)), sprintf "0x%08x" payload)
        Assert.True(Single.IsNaN(Vector512.GetElement(WideVectorBf16Maths().Mul(WideVectorBf16Maths().Broadcast nan, wl (Vector512.Create one)), 0)), sprintf "0x%08x" payload)

[<Property(MaxTest = maxTest)>]
let ``Kahan compensation sixteen or eight lanes at a time is the kernel's kahan_update of each element`` () =
    // Parameters and compensations are bf16 values (as stored), updates small and large; NaN and infinities among them.
    let bf16s = patterns |> Gen.map (Array.map (CpuConvert.EncodeBf16 >> CpuConvert.DecodeBf16))
    let cases = Gen.zip3 bf16s patterns bf16s |> Gen.map (fun (a, b, c) -> let n = min a.Length (min b.Length c.Length) in a[.. n - 1], b[.. n - 1], c[.. n - 1])
    Prop.forAll (Arb.fromGen cases) (fun (old, delta, comp) ->
        // The updated float32 parameter: old + delta, or a pattern itself where that is not finite.
        let p = Array.map2 (fun o d -> let u = o + d * 1e-3f in if Single.IsFinite u then u else d) old delta
        let expected =
            Array.map3 (fun (o: float32) (u: float32) (c: float32) ->
                let c1 = c + (u - o)
                let p1 = CpuConvert.RoundBf16(o + c1)
                arithmetic p1, arithmetic (c1 + (o - p1))) old p comp
        let actualP = Array.copy p
        let actualC = Array.copy comp
        CpuKahan.Update(Span actualP, ReadOnlySpan old, Span actualC)
        sameAt "kahan parameter" (hex p) (Array.map fst expected) (Array.map arithmetic actualP)
        sameAt "kahan compensation" (hex p) (Array.map snd expected) (Array.map arithmetic actualC))

[<Property(MaxTest = maxTest)>]
let ``stochastic rounding sixteen or eight lanes at a time draws each element's own word`` () =
    let cases = Gen.zip3 patterns (Gen.choose (0, Int32.MaxValue - 100000)) (Gen.choose (Int32.MinValue, Int32.MaxValue) |> Gen.map uint32)
    Prop.forAll (Arb.fromGen cases) (fun (x, start, stream) ->
        let expected = x |> Array.mapi (fun i v -> bits (StochasticRounding.Round(v, StochasticRounding.Element(stream, int64 (start + i)))))
        let y = Array.copy x
        StochasticRounding.Round(Span y, stream, start)
        sameAt "stochastic rounding" (hex x) expected (Array.map bits y))

/// Finite vectors of 1-700 elements, blocks of one magnitude in 2^-150..2^127 (float32 subnormals to near its largest), some zero.
let private finiteBlocks =
    gen {
        let! n = Gen.choose (1, 700)
        let! exponents = Gen.arrayOfLength ((n + 127) / 128) (Gen.choose (-150, 127))
        let! raw = Gen.arrayOfLength n (Gen.frequency [ 9, Gen.choose (-1_000_000, 1_000_000); 1, Gen.constant 0 ])
        return raw |> Array.mapi (fun i r -> float32 (float r / 1e6 * Math.Pow(2.0, float exponents[i / 128])))
    }

[<Property(MaxTest = maxTest)>]
let ``the block-scaled encode gives the spec's codes and power-of-two scale bytes`` () =
    Prop.forAll (Arb.fromGen finiteBlocks) (fun x ->
        for e4m3, f in [ true, Fp8E4M3; false, Fp8E5M2 ] do
            let codes = Array.zeroCreate<byte> x.Length
            let exponents = Array.zeroCreate<byte> ((x.Length + 127) / 128)
            CpuConvert.EncodeFp8Scaled(e4m3, ReadOnlySpan x, 128, Span exponents, Span codes)
            let spec = BlockScaled.encode f 128 x
            sameAt (sprintf "scale bytes (%s)" (StorageFormat.name f)) (fun b -> sprintf "block %d" b) spec.Exponents exponents
            sameAt (sprintf "codes (%s)" (StorageFormat.name f)) (hex x) spec.Codes codes)

[<Fact>]
let ``a block holding an infinity gets the NaN scale byte and NaN codes, a NaN element is left out of the scale`` () =
    for e4m3 in [ true; false ] do
        let x = Array.append (Array.init 128 (fun i -> if i = 5 then Single.NegativeInfinity else float32 i)) (Array.init 3 (fun i -> if i = 1 then nanf else 2.0f))
        let codes = Array.zeroCreate<byte> x.Length
        let exponents = Array.zeroCreate<byte> 2
        CpuConvert.EncodeFp8Scaled(e4m3, ReadOnlySpan x, 128, Span exponents, Span codes)
        Assert.Equal(byte E8M0Scale.NaN, exponents[0])
        Assert.All(codes[..127], fun c -> Assert.Equal(0x7Fuy, c))
        Assert.Equal(0x7Fuy, codes[129])
        // 2 over e4m3's 448 or e5m2's 57344: the smallest e is -7 or -14.
        Assert.Equal(byte (E8M0.Bias + (if e4m3 then -7 else -14)), exponents[1])

[<Property(MaxTest = maxTest)>]
let ``one vector at a time (the fused step's loads and stores), codes convert as the spans convert them`` () =
    Prop.forAll (Arb.fromGen patterns) (fun values ->
        // Whole vectors of sixteen (two of eight).
        let x = values[.. values.Length - values.Length % 16 - 1]
        let n = x.Length
        let bf16 = encodeBf16 x
        let decodedBf16 = Array.zeroCreate<float32> n
        CpuConvert.DecodeBf16(ReadOnlySpan bf16, Span decodedBf16)
        let wideBf16, narrowBf16 = Array.zeroCreate<uint16> n, Array.zeroCreate<uint16> n
        let wideLoads, narrowLoads = Array.zeroCreate<float32> n, Array.zeroCreate<float32> n
        for i in 0 .. 16 .. n - 1 do
            CpuConvert.StoreBf16(Vector512.Create<float32>(x, i), &wideBf16[i])
            CpuConvert.LoadBf16x16(&bf16[i]).CopyTo(Span(wideLoads, i, 16))
            for j in [ i; i + 8 ] do
                CpuConvert.StoreBf16(Vector256.Create<float32>(x, j), &narrowBf16[j])
                CpuConvert.LoadBf16x8(&bf16[j]).CopyTo(Span(narrowLoads, j, 8))
        sameAt "bf16 store, sixteen lanes" (hex x) bf16 wideBf16
        sameAt "bf16 store, eight lanes" (hex x) bf16 narrowBf16
        sameAt "bf16 load, sixteen lanes" (hex x) (Array.map bits decodedBf16) (Array.map bits wideLoads)
        sameAt "bf16 load, eight lanes" (hex x) (Array.map bits decodedBf16) (Array.map bits narrowLoads)
        for e4m3 in [ true; false ] do
            let fp8 = encodeFp8 e4m3 1.0f x
            let decodedFp8 = Array.zeroCreate<float32> n
            CpuConvert.DecodeFp8(e4m3, ReadOnlySpan fp8, 1.0f, Span decodedFp8)
            let wideFp8, narrowFp8 = Array.zeroCreate<byte> n, Array.zeroCreate<byte> n
            for i in 0 .. 16 .. n - 1 do
                CpuConvert.StoreFp8(e4m3, Vector512.Create<float32>(x, i), &wideFp8[i])
                CpuConvert.LoadFp8x16(e4m3, &fp8[i]).CopyTo(Span(wideLoads, i, 16))
                for j in [ i; i + 8 ] do
                    CpuConvert.StoreFp8(e4m3, Vector256.Create<float32>(x, j), &narrowFp8[j])
                    CpuConvert.LoadFp8x8(e4m3, &fp8[j]).CopyTo(Span(narrowLoads, j, 8))
            sameAt (sprintf "fp8 store, sixteen lanes (e4m3 %b)" e4m3) (hex x) fp8 wideFp8
            sameAt (sprintf "fp8 store, eight lanes (e4m3 %b)" e4m3) (hex x) fp8 narrowFp8
            sameAt (sprintf "fp8 load, sixteen lanes (e4m3 %b)" e4m3) (hex x) (Array.map bits decodedFp8) (Array.map bits wideLoads)
            sameAt (sprintf "fp8 load, eight lanes (e4m3 %b)" e4m3) (hex x) (Array.map bits decodedFp8) (Array.map bits narrowLoads))
