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

/// Arguments of `s3gd formats block`.
type BlockArgs =
    | [<Mandatory; AltCommandLine("-f")>] Format of name: string
    | [<MainCommand; Last>] Values of value: string list

    interface IArgParserTemplate with
        member a.Usage =
            match a with
            | Format _ -> "fp8 format of the codes: fp8e4m3 or fp8e5m2."
            | Values _ -> "finite decimal values, in blocks of 128 as fp8 state is (negative values need no '--')."

/// Subcommands of `s3gd formats`.
type FormatsArgs =
    | [<CliPrefix(CliPrefix.None)>] Encode of ParseResults<EncodeArgs>
    | [<CliPrefix(CliPrefix.None)>] Decode of ParseResults<DecodeArgs>
    | [<CliPrefix(CliPrefix.None)>] Block of ParseResults<BlockArgs>

    interface IArgParserTemplate with
        member a.Usage =
            match a with
            | Encode _ -> "encode values: prints each value, its code in hex and the decoded value."
            | Decode _ -> "decode codes: prints each code and the value it denotes."
            | Block _ -> "block-scaled fp8: prints each block's power-of-two scale and its E8M0 byte, then each value (as float32), its code and decoded value."

/// Arguments of `s3gd list`.
type ListArgs =
    | Names

    interface IArgParserTemplate with
        member a.Usage =
            match a with
            | Names -> "print only the rule names, one a line."

/// Arguments of `s3gd run`.
type RunArgs =
    | [<Mandatory; Unique; AltCommandLine("-r")>] Rule of name: string
    | [<Unique; AltCommandLine("-b")>] Backend of name: string
    | Hyper of assignment: string list
    | [<Mandatory; Unique>] Param of path: string
    | [<Mandatory; Unique>] Grads of path: string
    | [<Unique>] Steps of count: int
    | [<Mandatory; Unique; AltCommandLine("-o")>] Out of dir: string
    | [<Unique>] Name of name: string
    | [<Unique>] Telemetry
    | [<Unique>] Skip_Nonfinite

    interface IArgParserTemplate with
        member a.Usage =
            match a with
            | Rule _ -> "the rule, as `s3gd list` names it (sgd, adamw, ...)."
            | Backend _ -> "the backend that runs it: spec (the float64 specification, the default) or another that `s3gd compare` knows, with fp32 storage."
            | Hyper _ -> "hyperparameters as name=value with torch.optim's names (betas=0.9,0.999 or beta1=0.9 beta2=0.999); repeatable."
            | Param _ -> "the initial parameter, a float32 or float64 .npy file."
            | Grads _ -> "the gradients, a .npy file holding one gradient per step along its first axis."
            | Steps _ -> "the number of steps, at least 1 (default: one per gradient in --grads)."
            | Out _ -> "the folder (created if missing) that receives param.npy and one .npy per state buffer; an earlier s3gd output there is replaced, other files make it refuse."
            | Name _ -> "the parameter's name as the rule sees it (default: the --param file's stem)."
            | Telemetry -> "measure each step: print its time, max |update|, non-finite gradients and fallbacks (- where not measured) and write telemetry.csv into --out."
            | Skip_Nonfinite -> "skip the steps whose gradient has NaN or infinite elements, as torch's GradScaler skips optimizer.step() (the step count does not advance); without it such a gradient is an error naming the steps."

/// Arguments of `s3gd soak`.
type SoakArgs =
    | [<Unique; AltCommandLine("-b")>] Backend of name: string
    | [<Unique>] Optimizer of name: string
    | [<Unique>] Steps of count: int
    | [<Unique>] Every of count: int
    | [<Unique>] Size of elements: int
    | [<Unique>] Seed of seed: int
    | [<Unique>] Param_Dtype of format: string
    | [<Unique>] State_Dtype of format: string
    | [<Unique>] Param_Update of mode: string
    | [<Unique>] Alternate
    | [<Mandatory; Unique; AltCommandLine("-o")>] Out of folder: string

    interface IArgParserTemplate with
        member a.Usage =
            match a with
            | Backend _ -> "the backend: cpu, cuda or ilgpu-cpu (default: the best available, S3GD_BACKEND overrides)."
            | Param_Dtype _ -> "parameter format: fp32 (default) or bf16."
            | State_Dtype _ -> "state format: fp32 (default), bf16, fp8e4m3, fp8e5m2 (block-scaled by powers of two, one E8M0 byte per 128), or fp8e4m3-unscaled for s3gd; adam-mini's first moment: fp32, bf16 or fp8e4m3 (a power-of-two scale per 128, bf16 fallback)."
            | Param_Update _ -> "bf16 parameter update: nearest (default), kahan or stochastic (these two need --param-dtype bf16)."
            | Alternate -> "reload the second run alternately onto the CPU and back onto --backend: checkpoints cross backends, and the CPU twin must match bit for bit."
            | Optimizer _ -> "the optimizer by rule name: sgd, rmsprop, adam, adamw (default), s3gd, signum, lion, laprop, ademamix, sim-ademamix, madam, stableadamw, adam-mini, muon, oadamw."
            | Steps _ -> "steps of each run (default 10000)."
            | Every _ -> "steps between checkpoint-and-reload in the second run (default 1000); must be below --steps, or nothing would be reloaded."
            | Size _ -> "elements of the largest parameter (default 65536; three parameters in two groups)."
            | Seed _ -> "seed of the initial parameters and the gradient stream (default 1)."
            | Out _ -> "folder (created if missing) for the checkpoint file and soak.txt, the summary; an earlier s3gd output there is replaced, other files make it refuse."

/// Arguments of `s3gd bench`.
type BenchArgs =
    | [<Unique; AltCommandLine("-b")>] Backend of name: string
    | [<Unique; AltCommandLine("-r")>] Rule of names: string
    | [<Unique>] State_Dtype of formats: string
    | [<Unique>] Param_Dtype of format: string
    | [<Unique>] Grad_Dtype of format: string
    | [<Unique>] Math_Dtype of format: string
    | [<Unique>] Param_Update of mode: string
    | [<Unique>] Sizes of sizes: string
    | [<Unique>] No_Gpt2
    | [<Unique>] Iterations of count: int
    | [<Unique>] Layout of layout: string
    | [<Unique>] Out of folder: string

    interface IArgParserTemplate with
        member a.Usage =
            match a with
            | Backend _ -> "the backend: cpu, cuda or ilgpu-cpu (default: the best available, S3GD_BACKEND overrides)."
            | Rule _ -> "rules, comma-separated (default: every elementwise rule: adamw,adam,sgd,rmsprop,s3gd,lion,signum,laprop,ademamix,sim-ademamix,madam); muon times Muon over GPT-2 small's 48 block matrices (muon.csv)."
            | State_Dtype _ -> "state formats, comma-separated: fp32, bf16, fp8e4m3, fp8e5m2 (block-scaled by powers of two, one E8M0 byte per 128), fp8e4m3-unscaled (S3GD) (default fp32)."
            | Param_Dtype _ -> "parameter format: fp32 or bf16 (default fp32)."
            | Grad_Dtype _ -> "gradient format: fp32 or bf16 (default: the parameter's)."
            | Math_Dtype _ -> "maths: fp32 or bf16 (default fp32)."
            | Param_Update _ -> "how bf16 parameters take their update: nearest, kahan (a bf16 compensation buffer: 4 more bytes per parameter) or stochastic (default nearest)."
            | Sizes _ -> "parameters per single-tensor case, comma-separated, with K/M suffixes (default 1M,16M,64M)."
            | No_Gpt2 -> "leave out the GPT-2-small-shaped case (148 tensors, 124M parameters, one launch)."
            | Iterations _ -> "timed steps per case, after warm-up (default 50; Muon on the CPU: as many as fit in a minute with one warm-up step)."
            | Layout _ -> "the launch layout: default (the plan's own choice), tune (time every candidate per case, report the fastest) or a name: u1, u2 or u4 with an optional -smem48K, -b4 or -b8 (elementwise rules), s1, s2 or s4 with an optional -b3 or -b4 (stableadamw, adam-mini); CUDA and ilgpu-cpu only: the CPU backend has one layout, cpu-tT-vV (threads, vector width), and refuses the others."
            | Out _ -> "the folder (created if missing) that receives bench.csv and bench.svg (muon.csv for muon); an earlier s3gd output there is replaced, other files make it refuse."

/// Arguments of `s3gd train`.
type TrainArgs =
    | [<Unique; AltCommandLine("-O")>] Optimizer of names: string
    | [<Unique; AltCommandLine("-b")>] Backend of name: string
    | Hyper of assignment: string list
    | [<Unique>] Steps of count: int
    | [<Unique>] Batch of rows: int
    | [<Unique>] Seed of seed: int
    | [<Unique>] Hidden of widths: string
    | [<Unique>] Log_Every of steps: int
    | [<Unique>] Telemetry
    | [<Mandatory; Unique; AltCommandLine("-o")>] Out of dir: string

    interface IArgParserTemplate with
        member a.Usage =
            match a with
            | Optimizer _ -> "optimizers, comma-separated, as `s3gd list` names them (any rule with an optimizer class: adamw, lion, sgd, stableadamw, adam-mini, ...; default adamw); each trains the same model from the same seed."
            | Backend _ -> "the backend the model and optimizer run on: cpu, cuda or ilgpu-cpu (default: the best available, S3GD_BACKEND overrides)."
            | Hyper _ -> "hyperparameters as name=value (every optimizer) or rule.name=value (one), torch.optim's names; lr defaults to a rate suited to this model (adam/adamw 0.01, lion 0.003, sgd 0.3, ...)."
            | Steps _ -> "optimizer steps per optimizer (default 2000)."
            | Batch _ -> "rows per batch (default 128)."
            | Seed _ -> "the seed of the data set, the initial parameters and the shuffles (default 1)."
            | Hidden _ -> "hidden layer widths, comma-separated (default 64,64)."
            | Log_Every _ -> "steps per loss report, the mean of their batch losses (default: a twentieth of --steps; at most --steps)."
            | Telemetry -> "every --log-every steps, each param group's step time, max |update|, non-finite gradients and fallbacks (- where the optimizer does not measure it)."
            | Out _ -> "the folder (created if missing) that receives loss.csv, loss.svg and OPTIMIZER.safetensors (each optimizer's checkpoint with the trained parameters); an earlier s3gd output there is replaced, other files make it refuse."

/// Arguments of `s3gd compare`.
type CompareArgs =
    | [<Mandatory; Unique; AltCommandLine("-r")>] Rule of name: string
    | [<Mandatory; Unique; AltCommandLine("-b")>] Backend of name: string
    | [<Mandatory; Unique>] Against of name: string
    | [<Unique>] Shape of dims: string
    | [<Unique>] Steps of count: int
    | [<Unique>] Seed of seed: int
    | [<Unique>] Param_Dtype of format: string
    | [<Unique>] Grad_Dtype of format: string
    | [<Unique>] State_Dtype of format: string
    | Hyper of assignment: string list
    | [<Unique>] Name of name: string

    interface IArgParserTemplate with
        member a.Usage =
            match a with
            | Rule _ -> "the rule, as `s3gd list` names it (sgd, adamw, ...)."
            | Backend _ -> "the backend under test."
            | Against _ -> "the backend it is compared against (the reference)."
            | Shape _ -> "the parameter's shape, dimensions joined by x (default 256x128)."
            | Steps _ -> "the number of steps (default 10)."
            | Seed _ -> "the seed of the random parameter and gradients (default 1)."
            | Param_Dtype _ -> "storage format of the parameter: fp32 or bf16 (default fp32)."
            | Grad_Dtype _ -> "storage format of the gradients: fp32 or bf16 (default fp32)."
            | State_Dtype _ -> "storage format of the state buffers: fp32, bf16, fp8e4m3 or fp8e5m2 (default fp32)."
            | Hyper _ -> "hyperparameters as name=value with torch.optim's names (betas=0.9,0.999 or beta1=0.9 beta2=0.999); repeatable."
            | Name _ -> "the parameter's name as the rule sees it (default param; Adam-mini partitions by name)."

/// Arguments of `s3gd verify`.
type VerifyArgs =
    | [<Unique; AltCommandLine("-b")>] Backend of name: string
    | [<Unique>] Max_Test of count: int
    | [<Unique>] Seed of seed: uint64
    | Check of text: string
    | [<Unique>] Shard of part: string

    interface IArgParserTemplate with
        member a.Usage =
            match a with
            | Backend _ -> "cpu, cuda, ilgpu-cpu or best (default: best available, or S3GD_BACKEND)."
            | Max_Test _ -> "cases per property (default 100)."
            | Seed _ -> "the random seed, to replay a failed run (default: a fresh one, printed)."
            | Check _ -> "run only the checks whose name contains this text (repeatable; each check draws from the seed alone, so a replay of one check fails as in the whole run)."
            | Shard _ -> "K/N: run every Nth of the selected checks from the Kth (1 <= K <= N); N runs with one --seed and K = 1..N run each check once, side by side, as one run would."

/// Arguments of `s3gd partition`.
type PartitionArgs =
    | [<Unique>] Model of name: string
    | Param of spec: string
    | [<Unique>] Dim of size: int
    | [<Unique>] N_Heads of count: int
    | [<Unique>] N_Kv_Heads of count: int
    | [<Unique>] Partition of scheme: string

    interface IArgParserTemplate with
        member a.Usage =
            match a with
            | Model _ -> "the model whose named parameters are printed: gpt2 (GPT-2 small, the default; dim 768, 12 heads)."
            | Param _ -> "a named parameter NAME=AxB (e.g. model.layers.0.self_attn.q_proj.weight=4096x4096), instead of the model's; repeatable."
            | Dim _ -> "hidden size for the head size dim*dim/n_heads (default: the model's, 768)."
            | N_Heads _ -> "attention heads (default: the model's, 12)."
            | N_Kv_Heads _ -> "key/value heads, dividing n_heads (default: n_heads)."
            | Partition _ -> "reference (adam_mini.py 1.1.1's; the default) or hessian (the seed's: per head, per output row, per token)."

/// The top-level commands of s3gd.
type S3gdArgs =
    | Version
    | [<CliPrefix(CliPrefix.None)>] Formats of ParseResults<FormatsArgs>
    | [<CliPrefix(CliPrefix.None)>] List of ParseResults<ListArgs>
    | [<CliPrefix(CliPrefix.None)>] Run of ParseResults<RunArgs>
    | [<CliPrefix(CliPrefix.None)>] Compare of ParseResults<CompareArgs>
    | [<SubCommand; CliPrefix(CliPrefix.None)>] Devices
    | [<CliPrefix(CliPrefix.None)>] Verify of ParseResults<VerifyArgs>
    | [<CliPrefix(CliPrefix.None)>] Bench of ParseResults<BenchArgs>
    | [<CliPrefix(CliPrefix.None)>] Partition of ParseResults<PartitionArgs>
    | [<CliPrefix(CliPrefix.None)>] Train of ParseResults<TrainArgs>
    | [<CliPrefix(CliPrefix.None)>] Soak of ParseResults<SoakArgs>

    interface IArgParserTemplate with
        member a.Usage =
            match a with
            | Version -> "print the version and exit."
            | Formats _ -> "encode and decode values in the storage formats (bf16, fp8 e4m3fn, fp8 e5m2)."
            | List _ -> "list every rule with its summary, reference and hyperparameters (defaults and ranges)."
            | Run _ -> "apply a rule to a parameter and gradients from .npy files; write the final parameter and state as .npy."
            | Compare _ -> "run a rule on two backends from the same random data and compare every buffer against the tolerance."
            | Devices -> "list the backends, each GPU and its capabilities, or why CUDA is unavailable."
            | Verify _ -> "check a backend's kernels against the spec (the properties tests/Properties runs)."
            | Bench _ -> "time the fused elementwise step against a device copy: table, CSV and an SVG chart."
            | Partition _ -> "print Adam-mini's blocks for each named parameter: shape, block kind, blocks and block length."
            | Train _ -> "train an MLP on spirals end to end with one or more optimizers: progress, loss, loss.csv and loss.svg."
            | Soak _ -> "run an optimizer twice on one seeded gradient stream, once saved to and reloaded from a checkpoint every N steps; compare bit for bit."
