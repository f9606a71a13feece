/// The kernel backend a command runs on (devices, verify, bench, soak, train): the one `--backend` names, else the best
/// available or `S3GD_BACKEND`'s. A name that is no backend is Argu's error naming the option; a backend that cannot run
/// here (or a bad S3GD_BACKEND) throws, and `Errors.guard` makes it one line.
module S3gd.Cli.BackendChoice

open System
open S3gd.Gpu

/// The names `--backend` takes.
let names = "cpu, cuda or ilgpu-cpu"

/// Parses a `--backend` value, for Argu's `PostProcessResult`: an unknown name throws, and Argu reports it.
let parse (name: string) : BackendKind =
    match Backends.Parse name |> Option.ofNullable with
    | Some kind -> kind
    | None -> failwithf "unknown backend '%s' (expected %s)" name names

/// Opens the backend of the kind given, else the best available (or S3GD_BACKEND's), with the reason it was chosen; a
/// backend S3GD_BACKEND names that cannot run here is an error naming the variable.
let openBackend (kind: BackendKind option) : BackendSelection =
    match kind with
    | Some k -> BackendSelection(Backends.Create k, "asked for with --backend")
    | None ->
        try Backends.Best()
        with :? BackendUnavailableException as e ->
            Errors.fail (sprintf "%s=%s: %s" Backends.EnvironmentVariable (Environment.GetEnvironmentVariable Backends.EnvironmentVariable) e.Message)
