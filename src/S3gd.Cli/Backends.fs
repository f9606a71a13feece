/// Every backend `run` and `compare` can use, by command-line name.
module S3gd.Cli.Backends

open S3gd.Cli.Backend

/// All backends, in the order errors list them.
let all: Backend list = [ SpecBackend.spec; SpecBackend.specRounded; KernelBackend.cpu; KernelBackend.cuda ]

/// The backend with the given name among `backends`; an unknown name is an error listing the known ones.
let find (backends: Backend list) (name: string) : Result<Backend, string> =
    match backends |> List.tryFind (fun b -> b.Name = name) with
    | Some b -> Ok b
    | None -> Error(sprintf "unknown backend '%s' (known: %s)" name (backends |> List.map (fun b -> b.Name) |> String.concat ", "))
