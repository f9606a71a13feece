/// Temporary folders for the CLI tests, removed when disposed.
module S3gd.Properties.Cli.Temp

open System
open System.IO

/// A fresh empty folder under the system's temporary folder, deleted with its contents on dispose.
type Folder() =
    let path = Path.Combine(Path.GetTempPath(), sprintf "s3gd-cli-%s" (Guid.NewGuid().ToString "N"))
    do Directory.CreateDirectory path |> ignore
    /// The folder's full path.
    member _.Path = path
    /// A path inside the folder.
    member _.File(name: string) = Path.Combine(path, name)
    interface IDisposable with
        member _.Dispose() = if Directory.Exists path then Directory.Delete(path, true)
