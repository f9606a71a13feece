/// The backend-versus-spec checks, written once against the Backend abstraction: tests/Properties
/// runs them for every backend and `s3gd verify` runs them on the chosen one.
module S3gd.Conformance.Checks

open System
open FsCheck
open FsCheck.FSharp
open S3gd.Spec.Formats
open S3gd.Gpu

/// One named check: a property (run under a FsCheck Config) or a plain check; it throws on failure.
type Check =
    { /// What is checked, e.g. "encode = spec".
      Property: string
      /// The storage format it is about, if any.
      Format: StorageFormat option
      /// Whether it means anything on the backend (comparing a backend with the CPU backend needs another backend).
      AppliesTo: Backend -> bool
      /// Runs the check; throws with a message naming the failing case.
      Run: Config -> Backend -> unit }

/// Whether a backend runs the kernels on ILGPU's CPU accelerator, where each thread of a block is an OS thread: its
/// checks take tensors of thousands of elements where the others take millions.
let emulated (backend: Backend) = backend.Kind = BackendKind.IlgpuCpu

/// A CPU-twin check's cases per rule and format (elementwise rules, update modes): as configured, one where the kernels
/// are emulated (the step checks run the same kernels on more cases; a twin check adds the comparison of the bits).
let twinConfig (backend: Backend) (config: Config) = if emulated backend then config.WithMaxTest 1 else config

/// A failure label that reads first what failed, then the case it failed on as one line ("%A" with its line breaks
/// and indentation collapsed): the verify table shows a label's beginning.
let failureLabel (failure: string) (case: 'c) =
    sprintf "%s [case: %s]" failure (Text.RegularExpressions.Regex.Replace(sprintf "%A" case, @"\s+", " "))

/// Codes equal, or both NaN for fp32: the spec encodes fp32 through float64, which quiets a signalling NaN.
let private sameCode (format: StorageFormat) (expected: uint32) (actual: uint32) =
    expected = actual
    || (format = Fp32
        && Single.IsNaN(BitConverter.UInt32BitsToSingle expected)
        && Single.IsNaN(BitConverter.UInt32BitsToSingle actual))

/// Float32 bits equal, or both NaN: the spec decodes to float64, where a NaN carries no defined payload.
let private sameValue (expected: float32) (actual: float32) =
    BitConverter.SingleToUInt32Bits expected = BitConverter.SingleToUInt32Bits actual
    || (Single.IsNaN expected && Single.IsNaN actual)

/// The first index where <paramref name="same"/> fails, described; None when every element agrees.
let private firstMismatch (n: int) (same: int -> bool) (describe: int -> string) =
    Seq.init n id |> Seq.tryFind (same >> not) |> Option.map describe

/// Runs a list operation over buffers made for each tensor, disposing them all afterwards.
let private withBuffers (make: unit -> DeviceBuffer list) (body: DeviceBuffer list -> 'r) : 'r =
    let buffers = make ()
    try body buffers
    finally buffers |> List.iter (fun b -> b.Dispose())

/// Encoding random float32 tensors (one list operation) gives the spec's codes, bit for bit.
let encodeMatchesSpec (format: StorageFormat) : Check =
    let element = ElementTypes.FromFormat format
    let property (backend: Backend) (inputs: float32[] list) =
        withBuffers (fun () -> inputs |> List.map (Transfer.uploadFloats backend)) (fun sources ->
            withBuffers (fun () -> inputs |> List.map (fun xs -> backend.Allocate(element, int64 xs.Length))) (fun destinations ->
                backend.Encode(List.map2 (fun s d -> TensorPair(s, d)) sources destinations |> List.toArray)
                let failures =
                    List.zip inputs destinations
                    |> List.mapi (fun t (xs, d) ->
                        let codes = Transfer.downloadCodes backend d
                        let expected i = StorageFormat.encode format (float xs[i])
                        firstMismatch xs.Length (fun i -> sameCode format (expected i) codes[i]) (fun i ->
                            sprintf "tensor %d element %d of %d: %g (bits 0x%08x) encoded to 0x%x, the spec gives 0x%x"
                                t i xs.Length xs[i] (BitConverter.SingleToUInt32Bits xs[i]) codes[i] (expected i)))
                    |> List.choose id
                List.isEmpty failures |> Prop.label (String.Join("; ", failures))))
    { Property = "encode = spec"
      Format = Some format
      AppliesTo = fun _ -> true
      Run = fun config backend ->
          Check.One(config, Prop.forAll (Arb.fromGen (Generators.tensors (Generators.value format))) (property backend)) }

/// Decoding random codes (one list operation) gives the spec's values as float32, bit for bit.
let decodeMatchesSpec (format: StorageFormat) : Check =
    let element = ElementTypes.FromFormat format
    let property (backend: Backend) (inputs: uint32[] list) =
        withBuffers (fun () -> inputs |> List.map (Transfer.uploadCodes backend element)) (fun sources ->
            withBuffers (fun () -> inputs |> List.map (fun cs -> backend.Allocate(ElementType.Float32, int64 cs.Length))) (fun destinations ->
                backend.Decode(List.map2 (fun s d -> TensorPair(s, d)) sources destinations |> List.toArray)
                let failures =
                    List.zip inputs destinations
                    |> List.mapi (fun t (codes, d) ->
                        let values = backend.Download<float32> d
                        let expected i = float32 (StorageFormat.decode format codes[i])
                        firstMismatch codes.Length (fun i -> sameValue (expected i) values[i]) (fun i ->
                            sprintf "tensor %d element %d of %d: code 0x%x decoded to %g (bits 0x%08x), the spec gives %g"
                                t i codes.Length codes[i] values[i] (BitConverter.SingleToUInt32Bits values[i]) (expected i)))
                    |> List.choose id
                List.isEmpty failures |> Prop.label (String.Join("; ", failures))))
    { Property = "decode = spec"
      Format = Some format
      AppliesTo = fun _ -> true
      Run = fun config backend ->
          Check.One(config, Prop.forAll (Arb.fromGen (Generators.tensors (Generators.code format))) (property backend)) }

/// Allocation rounds of the memory check.
let private memoryRounds = 32

/// Elements per buffer of the memory check: 2^20 float32, 4 MiB.
let private memoryElements = 1L <<< 20

/// Slack in device free memory after the loop: one 2 MiB page of the driver's allocation granularity,
/// which it may keep mapped for its own bookkeeping; a leak in the loop would lose 32 x 3 x 4 MiB.
let private freeMemorySlack = 2L <<< 20

/// Allocating and freeing buffers in a loop leaves no live buffer and (on a GPU) gives the device memory back.
let memoryLoop : Check =
    let round (backend: Backend) =
        withBuffers (fun () -> [ for k in 1L .. 3L -> backend.Allocate(ElementType.Float32, k * memoryElements) ]) ignore
    { Property = "memory loop"
      Format = None
      AppliesTo = fun _ -> true
      Run = fun _ backend ->
          // The first round may set up the driver's own bookkeeping; measure from after it.
          round backend
          backend.Synchronize()
          let live = backend.LiveBuffers
          let free = backend.DeviceFreeBytes
          for _ in 1..memoryRounds do
              round backend
          backend.Synchronize()
          if backend.LiveBuffers <> live then
              failwithf "%d buffers live after %d allocate/free rounds, %d before" backend.LiveBuffers memoryRounds live
          let after = backend.DeviceFreeBytes
          if free.HasValue && after.HasValue && after.Value < free.Value - freeMemorySlack then
              failwithf "device free memory fell from %d to %d bytes over %d allocate/free rounds" free.Value after.Value memoryRounds }

/// Every code of a narrow element type.
let private allCodes (t: ElementType) = Array.init (1 <<< (8 * t.SizeOf())) uint32

/// The float32 bits of every code of <paramref name="t"/>, decoded by the backend.
let decodeAllCodes (backend: Backend) (t: ElementType) : uint32[] =
    withBuffers (fun () -> [ Transfer.uploadCodes backend t (allCodes t) ]) (fun codes ->
        withBuffers (fun () -> [ backend.Allocate(ElementType.Float32, codes.Head.Length) ]) (fun values ->
            backend.Decode [| TensorPair(codes.Head, values.Head) |]
            backend.Download<uint32> values.Head))

/// The codes of <see cref="Generators.specialValues"/> encoded by the backend to <paramref name="t"/>.
let encodeSpecialValues (backend: Backend) (t: ElementType) : uint32[] =
    withBuffers (fun () -> [ Transfer.uploadFloats backend Generators.specialValues ]) (fun values ->
        withBuffers (fun () -> [ backend.Allocate(t, values.Head.Length) ]) (fun codes ->
            backend.Encode [| TensorPair(values.Head, codes.Head) |]
            Transfer.downloadCodes backend codes.Head))

/// The CPU backend, the kernels' twin, gives the same bits as a GPU backend, NaNs included (which the
/// spec comparisons treat as one class): every bf16 and fp8 code decoded, every special value encoded.
let cpuTwin : Check =
    { Property = "CPU twin, bit for bit"
      Format = None
      AppliesTo = fun backend -> backend.Kind <> BackendKind.Cpu
      Run = fun _ backend ->
          use cpu = new Cpu.CpuBackend()
          for t in [ ElementType.BFloat16; ElementType.Fp8E4M3; ElementType.Fp8E5M2 ] do
              let compare (what: string) (input: int -> string) (expected: uint32[]) (actual: uint32[]) =
                  match Array.tryFindIndex id (Array.map2 (<>) expected actual) with
                  | Some i -> failwithf "%s %s %s: CPU gives 0x%x, %O gives 0x%x" what (t.Name()) (input i) expected[i] backend.Kind actual[i]
                  | None -> ()
              compare "decoding" (sprintf "code 0x%x") (decodeAllCodes cpu t) (decodeAllCodes backend t)
              compare "encoding" (fun i -> sprintf "%g (bits 0x%08x)" Generators.specialValues[i] (BitConverter.SingleToUInt32Bits Generators.specialValues[i]))
                  (encodeSpecialValues cpu t) (encodeSpecialValues backend t) }

/// Every check, in the order they are reported: encode and decode per format, then the runtime checks.
let all : Check list =
    [ for f in StorageFormat.all -> encodeMatchesSpec f ]
    @ [ for f in StorageFormat.all -> decodeMatchesSpec f ]
    @ [ memoryLoop; cpuTwin ]

/// A check's name with its format, e.g. "encode = spec [bf16]".
let name (check: Check) =
    match check.Format with
    | Some f -> sprintf "%s [%s]" check.Property (StorageFormat.name f)
    | None -> check.Property
