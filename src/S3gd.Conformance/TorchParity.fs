/// fp32 parity with torch.optim: torch's CPU single-tensor trajectories in float32 (tools/golden/make_fp32_golden.py,
/// 20 steps on a 64x32 and a 3x37 parameter, shipped beside this assembly in `TorchFp32/`) replayed through the optimizer
/// API on a backend in float32: the final parameter and every state buffer equal torch's bit for bit, or lie within the
/// ulp distance pinned for the case in `pinned`, which says which operation differs and why.
module S3gd.Conformance.TorchParity

open System
open System.IO
open System.Text.Json
open S3gd.Spec.Io
open S3gd.Gpu
open S3gd.Gpu.Optimizers

/// One torch trajectory: a rule, its hyperparameters and torch's float32 results after the last step.
type Case =
    { /// The case folder's name: `<case>_<shape>`, e.g. `adam_ragged`.
      Name: string
      Rule: string
      Shape: int list
      /// torch's keyword arguments (S3gd's hyperparameter names for these rules).
      Hypers: (string * JsonElement) list
      Param0: float32[]
      /// One gradient per step.
      Grads: float32[] list
      /// torch's parameter after the last step.
      Param: float32[]
      /// torch's state buffers after the last step, by torch's name.
      Buffers: Map<string, float32[]> }

/// How far a backend's results lie from torch's: elements whose bits differ, and the largest distance in ulps.
type Outcome = { Case: string; Differing: int; Elements: int; MaxUlps: int64 }

/// A case that cannot equal torch bit for bit: at most this many differing elements and ulps (measured on the CPU
/// backend, which every backend equals bit for bit), and why.
type Pin = { Differing: int; MaxUlps: int64; Why: string }

/// Why the rules with a square root differ in a few elements.
let private sqrtWhy =
    "torch's CPU square root (ATen's vectorised sqrt, MKL's vsSqrt on x86 builds) is not correctly rounded: near a "
    + "rounding tie it returns the lower neighbour (measured: sqrt of 0x3c063dc7 is 0x3db9614d in torch, 0x3db9614e "
    + "correctly rounded, the exact root 0.503 ulp above the lower one); S3gd's roots are correctly rounded on every "
    + "backend, so an element whose root falls that close to a tie differs by an ulp there, and later steps carry it "
    + "(the ulps are large only where the parameter is near zero)"

/// Why NAdam differs in a few elements: the square root, and its mu_product.
let private nadamWhy =
    sqrtWhy
    + "; and torch keeps mu_product as a tensor of the default dtype (float32 here) where S3gd's host keeps the spec's "
    + "float64 product (the conformance bound takes each per-step scalar as one rounding of its float64 value): with "
    + "the defaults the float32 coefficient of the gradient differs by an ulp at step 3, which moves a parameter only "
    + "where its rounding was near a tie"

/// Why Adafactor differs everywhere by a little.
let private adafactorWhy =
    "torch's row and column means square a vector norm (ATen's reduction order) and take alpha and the update-RMS clip "
    + "in float64 on the host; S3gd sums the squares in its kernels' fixed order and takes both in float32 on the device"

/// The cases pinned (every other case equals torch bit for bit), from the CPU backend on this commit's rules.
let pinned : Map<string, Pin> =
    Map
        [ "adadelta_full", { Differing = 91; MaxUlps = 6L; Why = sqrtWhy }
          "adadelta_ragged", { Differing = 8; MaxUlps = 4L; Why = sqrtWhy }
          "adafactor_full", { Differing = 712; MaxUlps = 110L; Why = adafactorWhy }
          "adafactor_ragged", { Differing = 53; MaxUlps = 7L; Why = adafactorWhy }
          "adagrad_full", { Differing = 9; MaxUlps = 16L; Why = sqrtWhy }
          "adam_amsgrad_full", { Differing = 5; MaxUlps = 2L; Why = sqrtWhy }
          "adam_full", { Differing = 3; MaxUlps = 1024L; Why = sqrtWhy }
          "adamw_full", { Differing = 6; MaxUlps = 512L; Why = sqrtWhy }
          "nadam_decoupled_full", { Differing = 25; MaxUlps = 8L; Why = nadamWhy }
          "nadam_full", { Differing = 26; MaxUlps = 256L; Why = nadamWhy }
          "nadam_ragged", { Differing = 3; MaxUlps = 8L; Why = nadamWhy }
          "radam_decoupled_full", { Differing = 12; MaxUlps = 2L; Why = sqrtWhy }
          "radam_decoupled_ragged", { Differing = 1; MaxUlps = 1L; Why = sqrtWhy }
          "radam_full", { Differing = 7; MaxUlps = 1L; Why = sqrtWhy }
          "radam_ragged", { Differing = 2; MaxUlps = 1L; Why = sqrtWhy }
          "rmsprop_centered_momentum_full", { Differing = 82; MaxUlps = 151L; Why = sqrtWhy }
          "rmsprop_centered_momentum_ragged", { Differing = 5; MaxUlps = 4L; Why = sqrtWhy }
          "rmsprop_full", { Differing = 22; MaxUlps = 16L; Why = sqrtWhy } ]

/// The folder of the shipped trajectories, beside this assembly.
let folder = Path.Combine(AppContext.BaseDirectory, "TorchFp32")

/// A .npy file as float32 values (torch wrote them in float32, so the float64 reading is exact).
let private load (dir: string) (file: string) = Npy.toFloats (Npy.read (Path.Combine(dir, file + ".npy"))) |> Array.map float32

/// Reads one case folder (its shared data folder named in its manifest).
let read (name: string) : Case =
    let dir = Path.Combine(folder, name)
    use doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, "manifest.json")))
    let root = doc.RootElement
    let shape = [ for d in root.GetProperty("shape").EnumerateArray() -> d.GetInt32() ]
    let data = Path.Combine(folder, root.GetProperty("data").GetString())
    let n = List.fold (*) 1 shape
    let grads = load data "grads"
    { Name = name
      Rule = root.GetProperty("rule").GetString()
      Shape = shape
      Hypers = [ for p in root.GetProperty("hypers").EnumerateObject() -> p.Name, p.Value.Clone() ]
      Param0 = load data "param0"
      Grads = [ for t in 0 .. grads.Length / n - 1 -> grads[t * n .. (t + 1) * n - 1] ]
      Param = load dir "param"
      Buffers = Map [ for b in root.GetProperty("buffers").EnumerateArray() -> b.GetString(), load dir (b.GetString()) ] }

/// Every shipped case, by folder name (the data folders excluded).
let names () : string list =
    if Directory.Exists folder then
        [ for d in Directory.GetDirectories folder do
              let n = Path.GetFileName d
              if File.Exists(Path.Combine(d, "manifest.json")) then n ]
        |> List.sort
    else []

/// The distance in ulps between two float32 values (0 for equal bits; NaN against anything else the maximum).
let ulps (a: float32) (b: float32) : int64 =
    if BitConverter.SingleToInt32Bits a = BitConverter.SingleToInt32Bits b then 0L
    elif Single.IsNaN a || Single.IsNaN b then Int64.MaxValue
    else
        // Ordered integer images of the floats: adjacent floats differ by one, +0 and -0 map to the same point.
        let key (x: float32) = let i = int64 (BitConverter.SingleToInt32Bits x) in if i < 0L then -(i &&& 0x7FFFFFFFL) else i
        abs (key a - key b)

/// A hyperparameter from the manifest set on a group (numbers as reals or integers as the JSON writes them).
let private withHyper (group: ParamGroup) (name: string, v: JsonElement) =
    match v.ValueKind with
    | JsonValueKind.True -> group.With(name, true)
    | JsonValueKind.False -> group.With(name, false)
    | JsonValueKind.Number -> group.With(name, v.GetDouble())
    | kind -> failwithf "torch fp32 case: hyperparameter %s has an unsupported JSON kind %A" name kind

/// Runs a case on a backend in float32 through the optimizer API and measures it against torch's results.
let run (backend: Backend) (c: Case) : Outcome =
    use p = Parameter.Allocate(backend, "p", c.Shape, ElementType.Float32)
    backend.Upload<float32>(p.Param, ReadOnlySpan c.Param0)
    let group = c.Hypers |> List.fold withHyper (ParamGroup [ p ])
    use o = OptimizerCatalog.Create(c.Rule, [ group ])
    for g in c.Grads do
        backend.Upload<float32>(p.Grad, ReadOnlySpan g)
        o.Step()
    let read (b: DeviceBuffer) =
        let bytes = BufferBytes.Read b
        Array.init (bytes.Length / 4) (fun i -> BitConverter.ToSingle(bytes, 4 * i))
    let pairs =
        [ yield c.Param, read p.Param
          for s in o.State p do
              match c.Buffers.TryFind s.Name with
              | Some expected -> yield expected, read s.Buffer
              | None -> () ]
    let distances = [| for expected, actual in pairs do for i in 0 .. expected.Length - 1 -> ulps expected[i] actual[i] |]
    { Case = c.Name; Differing = distances |> Array.filter (fun d -> d > 0L) |> Array.length; Elements = distances.Length
      MaxUlps = if distances.Length = 0 then 0L else Array.max distances }

/// Every shipped case on the backend within its pin (bit for bit where none): one failure line per case outside it.
let check : Checks.Check =
    { Property = "fp32 step = torch.optim (CPU trajectories)"
      Format = None
      AppliesTo = fun _ -> true
      Run = fun _ backend ->
          let cases = names ()
          if cases.IsEmpty then failwithf "no torch fp32 trajectories in %s" folder
          let failures =
              [ for name in cases do
                    let o = run backend (read name)
                    let pin = pinned.TryFind name |> Option.defaultValue { Differing = 0; MaxUlps = 0L; Why = "" }
                    if o.Differing > pin.Differing || o.MaxUlps > pin.MaxUlps then
                        yield sprintf "%s: %d of %d elements differ from torch, up to %d ulps (pinned: %d, %d ulps)"
                                  name o.Differing o.Elements o.MaxUlps pin.Differing pin.MaxUlps ]
          if not failures.IsEmpty then failwith (String.Join("; ", failures)) }
