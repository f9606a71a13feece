/// OAdamW (jeb1399/OAdamW, oadamw.py): StableAdamW whose 2-D+ parameters first have their gradient
/// orthogonalised by Newton–Schulz (MuonProjector: quintic coefficients, X / (||X||_F + 1e-7), ns_steps
/// iterations, recomputed every update_proj_gap steps and reused in between), then fed to the
/// StableAdamW core (moments and RMS clipping see the orthogonalised gradient); 1-D parameters take
/// plain StableAdamW. A 2-D+ parameter of shape (d0, d1, ...) is orthogonalised as a d0 x (d1*...) matrix.
/// ns_precision says how the backends iterate: float32 (the reference's `_newton_schulz`: `G.float()`, every product
/// and sum in float32), which the spec iterates in float64 (the reference agrees with it within float32 rounding, 1e-6),
/// or bf16 (torch.optim.Muon's arithmetic, an option here), which the spec models bit for bit (NewtonSchulz.Bf16).
/// Where the spec departs from the reference: the reference stores `scale` but never applies it on the Muon path, the
/// spec multiplies NS(g) by it (so the default 1.0 agrees).
module S3gd.Spec.Rules.OAdamW

/// OAdamW hyperparameters: the StableAdamW core plus the Muon group keys.
type Hyper =
    { Core: StableAdamW.Hyper
      NsSteps: int
      UpdateProjGap: int
      Scale: float
      /// The spec's iteration for ns_precision: Float64 for float32 (its exact anchor), Bf16 for bf16 (its model).
      NsPrecision: NewtonSchulz.Precision }

/// OAdamW state: the StableAdamW state and the orthogonalised gradient last used (2-D+ parameters; reused while
/// update_proj_gap allows, and kept at a gap of 1 too, as the optimizer classes keep it: never read there).
type State = { Core: StableAdamW.State; NsCache: Vec option }

/// The reference's defaults (OAdamW lr 1e-3, betas (0.9, 0.99), wd 1e-2, eps 1e-6; ns_steps 5, gap 1, scale 1; float32).
let defaults = { Core = StableAdamW.defaults; NsSteps = 5; UpdateProjGap = 1; Scale = 1.0; NsPrecision = NewtonSchulz.Float64 }

/// ns_precision's words with the spec's iteration for each: float32 (the reference's, the default) and bf16.
let nsPrecisions = [ "float32", NewtonSchulz.Float64; "bf16", NewtonSchulz.Bf16 ]

/// MuonProjector's eps, added to the Frobenius norm.
let projectorEps = 1e-7

/// The state before the first step for a parameter of n elements.
let init (h: Hyper) (n: int) : State = { Core = StableAdamW.init h.Core n; NsCache = None }

/// Whether a parameter of this shape is orthogonalised (2-D and more: OAdamW's automatic grouping).
let isMatrix (shape: int list) = List.length shape >= 2

/// scale * NS(G) for a parameter of the given shape, viewed as shape[0] x (the rest).
let project (h: Hyper) (shape: int list) (g: Vec) : Vec =
    let rows = List.head shape
    let cols = g.Count / rows
    let o = NewtonSchulz.orthogonalize h.NsPrecision NewtonSchulz.AddEps NewtonSchulz.quintic h.NsSteps projectorEps (NewtonSchulz.toMatrix rows cols g)
    h.Scale * NewtonSchulz.ofMatrix o

/// One OAdamW step on a parameter of the given shape: (hyper, shape, state, grad, param) -> (param', state').
let step (h: Hyper) (shape: int list) (s: State) (g: Vec) (p: Vec) : Vec * State =
    if not (isMatrix shape) then
        let p', core = StableAdamW.step h.Core s.Core g p
        p', { s with Core = core }
    else
        let t = s.Core.Step + 1
        let o =
            match s.NsCache with
            | Some cached when t % h.UpdateProjGap <> 0 -> cached
            | _ -> project h shape g
        let p', core = StableAdamW.step h.Core s.Core o p
        p', { Core = core; NsCache = Some o }

/// OAdamW hyperparameters from resolved values.
let ofHypers (v: Hypers) : Hyper =
    { Core = StableAdamW.ofHypers v; NsSteps = Hyper.getWhole v "ns_steps"; UpdateProjGap = Hyper.getWhole v "update_proj_gap"; Scale = Hyper.getReal v "scale"
      NsPrecision = nsPrecisions |> List.find (fun (w, _) -> w = Hyper.getWord v "ns_precision") |> snd }

/// The registry entry: names, ranges and the adapter to named state.
let info: RuleInfo =
    { Name = "oadamw"
      Summary = "StableAdamW with Newton-Schulz orthogonalised gradients for 2-D+ parameters"
      Reference = "jeb1399/OAdamW oadamw.py (StableAdamW core from warner-benjamin/optimi)"
      Hypers =
        StableAdamW.hyperDefs
        @ [ Hyper.whole "ns_steps" defaults.NsSteps ">= 1" (fun v -> v >= 1) "Newton-Schulz iterations per gradient"
            Hyper.whole "update_proj_gap" defaults.UpdateProjGap ">= 1" (fun v -> v >= 1) "steps between Newton-Schulz recomputations"
            Hyper.real "scale" defaults.Scale "> 0" (fun v -> v > 0.0) "factor on the orthogonalised gradient"
            Hyper.word "ns_precision" "float32" (List.map fst nsPrecisions) "Newton-Schulz arithmetic: the reference's float32, or bf16 with float32 accumulation (torch.optim.Muon's)" ]
      Pairs = [ "betas", "beta1", "beta2" ]
      Create =
        fun v ->
            let h = ofHypers v
            let toNamed (s: State) =
                let ns = StableAdamW.toNamed s.Core
                match s.NsCache with
                | Some c -> { ns with Buffers = ns.Buffers.Add("ns_cache", c) }
                | None -> ns
            let ofNamed (ns: NamedState) = { Core = StableAdamW.ofNamed ns; NsCache = Map.tryFind "ns_cache" ns.Buffers }
            Ok
                { Init = fun p -> toNamed (init h p.Value.Count)
                  Step = fun ns g p -> let p', s' = step h p.Shape (ofNamed ns) g p.Value in p', toNamed s' } }
