/// `s3gd bench`: reads the options (through Argu's error path: an option that would change nothing is an error too),
/// checks the output folder, plans every case (a case the backend cannot run is skipped with its reason; none left is an
/// error), then times them with progress and an estimate of the time left: a table on stdout, bench.csv and bench.svg.
/// On the CPU the layout column is the CPU's own (threads and vector width); CUDA launch layouts are refused there.
module S3gd.Cli.BenchCommand

open System
open System.IO
open Argu
open S3gd.Spec.Formats
open S3gd.Spec.Rules
open S3gd.Gpu
open S3gd.Gpu.Elementwise
open S3gd.Gpu.Structured
open S3gd.Cli.Arguments
open S3gd.Cli.Bench

/// The rules benchmarked by default: the catalog's bench rules, every rule with a fused elementwise kernel (the
/// structured ones and Muon are asked by --rule).
let defaultRules = Catalog.benchRules

/// Single-tensor sizes when --sizes is absent.
let defaultSizes = "1M,16M,64M"

/// Timed steps per case when --iterations is absent (elementwise and structured cases, and Muon on a GPU).
let defaultIterations = 50

/// The CPU backend's one layout: its threads and float vector width, e.g. cpu-t2-v8.
let cpuLayout () = sprintf "cpu-t%d-v%d" Environment.ProcessorCount Numerics.Vector<float>.Count

let private split (s: string) = s.Split(',', StringSplitOptions.RemoveEmptyEntries ||| StringSplitOptions.TrimEntries) |> List.ofArray

/// A result's value; an error throws, for Argu's `PostProcessResult` to report.
let private orFail (result: Result<'a, string>) =
    match result with
    | Ok value -> value
    | Error e -> failwith e

/// A storage format for Argu's `PostProcessResult` (an unknown name throws).
let private format (text: string) = orFail (StorageFormat.parse text)

/// What --layout asks for: the plans' own layouts, every candidate, one named layout of one kind, or the CPU's.
type LayoutChoice =
    | DefaultLayout
    | Tune
    | ElementwiseLayout of ElementwiseLaunch
    | StructuredLayout of StructuredLaunch
    | CpuLayout

/// Parses --layout against the CUDA launch layouts and the CPU's own name.
let parseLayout (text: string) : LayoutChoice =
    match text with
    | "default" -> DefaultLayout
    | "tune" -> Tune
    | name when name = cpuLayout () -> CpuLayout
    | name when ElementwiseLaunch.Candidates |> Seq.exists (fun c -> c.Name = name) -> ElementwiseLayout(ElementwiseLaunch.Parse name)
    | name when StructuredLaunch.Candidates |> Seq.exists (fun c -> c.Name = name) -> StructuredLayout(StructuredLaunch.Parse name)
    | name ->
        let known = Seq.append (ElementwiseLaunch.Candidates |> Seq.map (fun c -> c.Name)) (StructuredLaunch.Candidates |> Seq.map (fun c -> c.Name))
        failwithf "unknown layout '%s' (known: default, tune, %s, and on the CPU %s)" name (String.Join(", ", known)) (cpuLayout ())

/// One case to time: an elementwise or a structured configuration on one list of tensors.
type Planned =
    | Elementwise of config: ElementwiseConfig * caseName: string * lengths: int64 list
    | Structured of config: StructuredConfig * caseName: string * tensors: (int64 * int64 * bool) list

    /// The parameters the case steps (its share of the work, for the estimate).
    member p.Params =
        match p with
        | Elementwise(_, _, lengths) -> List.sum lengths
        | Structured(_, _, tensors) -> tensors |> List.sumBy (fun (n, _, _) -> n)

    /// The case as the progress line names it.
    member p.Name =
        match p with
        | Elementwise(c, name, _) -> sprintf "%O, %s" c name
        | Structured(c, name, _) -> sprintf "%O, %s" c name

/// The options bench reads, checked.
type Options =
    { Rules: RuleInfo list; States: StateFormat list; Param: StorageFormat; Grad: StorageFormat; Math: StorageFormat
      Update: ParamUpdate; Sizes: int64 list; Gpt2: bool; Iterations: int option; Layout: LayoutChoice; Kind: BackendKind option }

/// Reads the options through Argu's error path.
let options (args: ParseResults<BenchArgs>) : Options =
    let rules =
        args.TryPostProcessResult(BenchArgs.Rule, fun text ->
            match split text |> List.map Registry.find |> Errors.sequence with
            | Ok [] -> failwith "names no rule"
            | Ok rules -> rules
            | Error e -> failwith e)
        |> Option.defaultWith (fun () -> defaultRules |> List.map (Registry.find >> orFail))
    let param = args.TryPostProcessResult(BenchArgs.Param_Dtype, format) |> Option.defaultValue Fp32
    let math = args.TryPostProcessResult(BenchArgs.Math_Dtype, format) |> Option.defaultValue Fp32
    let update = args.TryPostProcessResult(BenchArgs.Param_Update, ParamUpdates.Parse) |> Option.defaultValue ParamUpdate.Nearest
    let parseSizes text = split text |> List.map (parseSize >> orFail)
    let sizes = args.TryPostProcessResult(BenchArgs.Sizes, parseSizes) |> Option.defaultWith (fun () -> parseSizes defaultSizes)
    let o =
        { Rules = rules
          States = args.TryPostProcessResult(BenchArgs.State_Dtype, fun text -> split text |> List.map StateFormat.Parse) |> Option.defaultValue [ StateFormat.Fp32 ]
          Param = param
          Grad = args.TryPostProcessResult(BenchArgs.Grad_Dtype, format) |> Option.defaultValue param
          Math = math
          Update = update
          Sizes = sizes
          Gpt2 = not (args.Contains BenchArgs.No_Gpt2)
          Iterations = args.TryPostProcessResult(BenchArgs.Iterations, fun n -> if n < 1 then failwithf "%d: must be at least 1" n else n)
          Layout = args.TryPostProcessResult(BenchArgs.Layout, parseLayout) |> Option.defaultValue DefaultLayout
          Kind = args.TryPostProcessResult(BenchArgs.Backend, BackendChoice.parse) }
    let names = rules |> List.map (fun r -> r.Name)
    let cased = names |> List.filter (Catalog.isMuon >> not)
    if update <> ParamUpdate.Nearest && (param <> Bf16 || math <> Fp32) then
        args.Raise(sprintf "--param-update %s needs --param-dtype bf16 and --math-dtype fp32, were %s and %s" (update.Name()) (StorageFormat.name param) (StorageFormat.name math))
    // The options of elementwise and structured cases: with --rule muon alone, they would change nothing.
    let caseOptions =
        [ "--state-dtype", args.Contains BenchArgs.State_Dtype; "--param-dtype", args.Contains BenchArgs.Param_Dtype
          "--grad-dtype", args.Contains BenchArgs.Grad_Dtype; "--math-dtype", args.Contains BenchArgs.Math_Dtype
          "--param-update", args.Contains BenchArgs.Param_Update; "--sizes", args.Contains BenchArgs.Sizes
          "--no-gpt2", args.Contains BenchArgs.No_Gpt2; "--layout", args.Contains BenchArgs.Layout ]
    match caseOptions |> List.filter snd with
    | (given, _) :: _ when cased.IsEmpty ->
        args.Raise(sprintf "%s changes nothing for --rule muon alone (its one case is GPT-2's 48 block matrices in float32)" given)
    | _ -> ()
    if not cased.IsEmpty && o.Sizes.IsEmpty && not o.Gpt2 then args.Raise "--sizes names no size and --no-gpt2 leaves out the GPT-2 case: no case to time"
    match o.Layout with
    | ElementwiseLayout l when not (cased |> List.exists (fun n -> not (List.contains n Catalog.structuredRules))) ->
        args.Raise(sprintf "--layout %s is an elementwise layout, and no elementwise rule is benchmarked" l.Name)
    | StructuredLayout l when not (cased |> List.exists (fun n -> List.contains n Catalog.structuredRules)) ->
        args.Raise(sprintf "--layout %s is a structured layout (stableadamw, adam-mini), and neither is benchmarked" l.Name)
    | _ -> o

/// The cases of the options on a backend, or why a rule and state cannot run there.
let plan (backend: Backend) (o: Options) : Planned list * string list =
    let cases = [ for n in o.Sizes -> showSize n, [ n ] ] @ (if o.Gpt2 then [ "gpt2", gpt2Lengths ] else [])
    let planned =
        [ for rule in o.Rules do
              if not (Catalog.isMuon rule.Name) then
                  for state in o.States ->
                      let skip reason = Error(sprintf "%s with state %s: %s" rule.Name state.Name reason)
                      let structured = Catalog.structured rule.Name
                      if structured.IsSome then
                          // StableAdamW's Kahan summation is its kahan_sum hyperparameter; Adam-mini has none.
                          let hypers = benchHypers rule.Name |> (if o.Update = ParamUpdate.Kahan && structured = Some StructuredRule.StableAdamW then Map.add "kahan_sum" (Flag true) else id)
                          if state.IsFp8 && not (structured = Some StructuredRule.AdamMini && state.BlockScaled && state.Storage = Fp8E4M3) then
                              skip "the structured step keeps fp32 or bf16 moments (adam-mini also fp8e4m3)"
                          elif o.Math <> Fp32 then skip "the structured step computes in fp32 (--math-dtype bf16)"
                          elif o.Update = ParamUpdate.Stochastic || (o.Update = ParamUpdate.Kahan && structured <> Some StructuredRule.StableAdamW) then
                              skip (sprintf "--param-update %s is not a mode of %s" (o.Update.Name()) rule.Name)
                          else
                              try
                                  let second = if structured = Some StructuredRule.StableAdamW then state.Storage else Fp32
                                  let config = StructuredConfig(rule, hypers, o.Param, o.Grad, state.Storage, second)
                                  Ok [ for name, lengths in cases -> Structured(config, name, structuredTensors rule.Name name lengths) ]
                              with :? ArgumentException as e -> skip e.Message
                      else
                          match (try Ok(ElementwiseConfig(rule, benchHypers rule.Name, o.Param, o.Grad, o.Math, [| state |], paramUpdate = o.Update)) with :? ArgumentException as e -> Error e.Message) with
                          | Error e -> skip e
                          | Ok config when config.UsesFp8 && not backend.SupportsFp8 -> skip (sprintf "%s has no fp8 conversions" backend.Device)
                          | Ok config -> Ok [ for name, lengths in cases -> Elementwise(config, name, lengths) ] ]
    (planned |> List.collect (function Ok cases -> cases | Error _ -> [])), (planned |> List.choose (function Error e -> Some e | Ok _ -> None))

/// The launch layouts a case tries on a backend: the CPU has only its own (the default), a GPU those --layout asks for.
let private layoutsOf (o: Options) (planned: Planned) =
    match planned, o.Layout with
    | Elementwise _, Tune -> Choice1Of2(List.ofSeq ElementwiseLaunch.Candidates)
    | Elementwise _, ElementwiseLayout l -> Choice1Of2 [ l ]
    | Elementwise(config, _, _), _ -> Choice1Of2 [ ElementwiseLaunch.For config ]
    | Structured _, Tune -> Choice2Of2(List.ofSeq StructuredLaunch.Candidates)
    | Structured _, StructuredLayout l -> Choice2Of2 [ l ]
    | Structured(config, _, _), _ -> Choice2Of2 [ StructuredLaunch.For config ]

/// Times one planned case; on the CPU its row names the CPU's layout.
let private time (backend: Backend) (o: Options) (planned: Planned) : Row =
    let iterations = defaultArg o.Iterations defaultIterations
    let row =
        match planned, layoutsOf o planned with
        | Elementwise(config, name, lengths), Choice1Of2 layouts -> measure backend config name lengths iterations layouts
        | Structured(config, name, tensors), Choice2Of2 layouts -> measureStructured backend config name tensors iterations layouts
        | _ -> invalidOp "a case's layouts are of its kind"
    if backend.Kind = BackendKind.Cpu then { row with Layout = cpuLayout () } else row

/// The cases' share of the estimate: parameters times the layouts tried.
let private work (o: Options) (planned: Planned) =
    let layouts = match layoutsOf o planned with Choice1Of2 l -> l.Length | Choice2Of2 l -> l.Length
    float planned.Params * float layouts

/// Runs `s3gd bench`.
let command (args: ParseResults<BenchArgs>) =
    let o = options args
    let output = args.TryGetResult BenchArgs.Out |> Option.map OutFolder.start
    use _ = { new IDisposable with member _.Dispose() = output |> Option.iter (fun out -> (out :> IDisposable).Dispose()) }
    let selection = BackendChoice.openBackend o.Kind
    use backend = selection.Backend
    match backend.Kind, o.Layout with
    | BackendKind.Cpu, (DefaultLayout | CpuLayout) -> ()
    | BackendKind.Cpu, _ ->
        Errors.fail (sprintf "--layout: the CPU backend has one layout, %s (its threads and vector width); tune and the CUDA layouts need --backend cuda or ilgpu-cpu" (cpuLayout ()))
    | _, CpuLayout -> Errors.fail (sprintf "--layout %s is the CPU backend's layout; the %s backend takes default, tune or a CUDA layout" (cpuLayout ()) (backend.Kind.Name()))
    | _ -> ()
    let muon = o.Rules |> List.exists (fun r -> Catalog.isMuon r.Name)
    let cases, skipped = plan backend o
    if cases.IsEmpty && not muon then Errors.fail (sprintf "nothing to time: %s" (String.Join("; ", skipped)))
    printfn "backend: %s (%s)" backend.Device selection.Reason
    for reason in skipped do eprintfn "skipped %s" reason
    if muon then
        let iterations =
            match o.Iterations with
            | Some n -> MuonBench.Fixed n
            | None when backend.Kind = BackendKind.Cpu -> MuonBench.Budget MuonBench.cpuBudget
            | None -> MuonBench.Fixed MuonBench.defaultIterations
        MuonBench.run backend iterations output
    if not cases.IsEmpty then
        let rows =
            use progress = Progress.start "bench" "cases" cases.Length (cases |> List.sumBy (work o))
            progress.Print header
            progress.Start cases.Head.Name
            [ for i, planned in List.indexed cases ->
                  let r = time backend o planned
                  progress.Print(row r)
                  progress.Advance(work o planned, cases |> List.tryItem (i + 1) |> Option.map (fun p -> p.Name) |> Option.defaultValue "")
                  r ]
        output |> Option.iter (fun out ->
            File.WriteAllLines(out.Stage "bench.csv", csv backend.Device rows)
            svg backend.Device rows |> Option.iter (fun s -> File.WriteAllText(out.Stage "bench.svg", s)))
    output |> Option.iter (fun out -> printfn "wrote %s into %s" (String.Join(", ", out.Commit())) out.Path)
    0
