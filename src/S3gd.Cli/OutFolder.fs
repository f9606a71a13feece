/// `--out DIR`, the folder a command writes its results into (run, train, soak, bench). Before any long work `check`
/// makes sure DIR can be written (probing it, or the nearest existing folder above it, with a file created and
/// removed) and that it holds nothing but an earlier s3gd command's output, which the manifest file lists; anything
/// else there makes the command refuse. The command writes into a staging folder inside DIR and `commit` moves its
/// files in, replacing the earlier output as a whole (no stale file stays). A command that fails leaves DIR as it was.
module S3gd.Cli.OutFolder

open System
open System.IO

/// The file in DIR listing what s3gd wrote there, one name a line: what a later command may replace.
let manifestName = ".s3gd-output"

/// The prefix of staging folders inside DIR (one a command; a leftover of a killed command is replaced too).
let private stagingPrefix = ".s3gd-staging-"

/// The prefix of the probe file that shows a folder is writable.
let private probePrefix = ".s3gd-probe-"

/// The file names the manifest of an existing DIR lists (none without a manifest).
let private listed (full: string) =
    let manifest = Path.Combine(full, manifestName)
    if File.Exists manifest then File.ReadAllLines manifest |> Array.filter (fun l -> l <> "") |> Set.ofArray else Set.empty

/// Creates and removes a probe file in an existing folder; an error says why it cannot be written.
let private probe (dir: string) (folder: string) : Result<unit, string> =
    let path = Path.Combine(folder, probePrefix + Guid.NewGuid().ToString "N")
    try
        File.WriteAllBytes(path, [||])
        File.Delete path
        Ok()
    with :? IOException | :? UnauthorizedAccessException as e ->
        Error(sprintf "--out %s: %s is not writable (%s)" dir folder e.Message)

/// A checked output folder: its full path, the nearest folder of that path that exists (itself when it does), and the
/// files of the earlier output it replaces.
type Folder = { Full: string; Existing: string; Previous: Set<string> }

/// The names in an existing folder that no s3gd command wrote (sorted).
let private foreignEntries (full: string) (previous: Set<string>) =
    Directory.EnumerateFileSystemEntries full
    |> Seq.map Path.GetFileName
    |> Seq.filter (fun n -> n <> manifestName && not (n.StartsWith stagingPrefix) && not (previous.Contains n && File.Exists(Path.Combine(full, n))))
    |> Seq.sort
    |> List.ofSeq

/// The most foreign names an error lists.
let private listedForeign = 5

/// Checks `--out dir` before any work: creatable or writable, and holding only an earlier s3gd output; writes nothing
/// that stays.
let check (dir: string) : Result<Folder, string> =
    let full = Path.TrimEndingDirectorySeparator(Path.GetFullPath dir)
    if File.Exists full then Error(sprintf "--out %s is a file, not a folder" dir)
    elif Directory.Exists full then
        let previous = listed full
        match foreignEntries full previous with
        | [] -> probe dir full |> Result.map (fun () -> { Full = full; Existing = full; Previous = previous })
        | foreign ->
            let names = String.Join(", ", List.truncate listedForeign foreign) + (if foreign.Length > listedForeign then ", ..." else "")
            Error(sprintf "--out %s holds files s3gd did not write (%s): give a new or empty folder, or one an earlier s3gd command wrote (its output is replaced)" dir names)
    else
        // The nearest existing folder above DIR must take the folders to create.
        let rec existing (path: string) =
            match Path.GetDirectoryName path with
            | null -> path
            | parent when Directory.Exists parent || File.Exists parent -> parent
            | parent -> existing parent
        let above = existing full
        if File.Exists above then Error(sprintf "--out %s: %s is a file, not a folder" dir above)
        else probe dir above |> Result.map (fun () -> { Full = full; Existing = above; Previous = Set.empty })

/// Output being written into a checked folder: files are staged inside it, then committed together.
type Output(folder: Folder) =
    let staging = Path.Combine(folder.Full, stagingPrefix + Guid.NewGuid().ToString "N")
    let mutable committed = false

    /// The folder's full path.
    member _.Path = folder.Full

    /// The path a file named `name` is written to until `Commit` (the staging folder is created on first use).
    member _.Stage(name: string) =
        Directory.CreateDirectory staging |> ignore
        Path.Combine(staging, name)

    /// Moves every staged file into the folder, removing the earlier output's other files and leftover staging folders,
    /// and writes the manifest; returns the names written. The manifest lists old and new files until the moves are done,
    /// so a command killed in between leaves a folder the next command may still replace.
    member _.Commit() : string list =
        Directory.CreateDirectory staging |> ignore
        let names = Directory.GetFiles staging |> Array.map Path.GetFileName |> Array.sort |> List.ofArray
        let writeManifest (entries: string seq) =
            let temp = Path.Combine(staging, manifestName)
            File.WriteAllLines(temp, entries)
            File.Move(temp, Path.Combine(folder.Full, manifestName), true)
        writeManifest (Set.union folder.Previous (Set.ofList names))
        for old in folder.Previous do
            let path = Path.Combine(folder.Full, old)
            if not (List.contains old names) && File.Exists path then File.Delete path
        for name in names do
            File.Move(Path.Combine(staging, name), Path.Combine(folder.Full, name), true)
        writeManifest names
        for leftover in Directory.GetDirectories(folder.Full, stagingPrefix + "*") do
            Directory.Delete(leftover, true)
        committed <- true
        names

    interface IDisposable with
        /// Removes the staging folder, and the folders this command created for it, when nothing was committed.
        member _.Dispose() =
            if not committed then
                if Directory.Exists staging then Directory.Delete(staging, true)
                let rec removeCreated (path: string) =
                    if path <> folder.Existing && Directory.Exists path && Seq.isEmpty (Directory.EnumerateFileSystemEntries path) then
                        Directory.Delete path
                        removeCreated (Path.GetDirectoryName path)
                removeCreated folder.Full

/// Checks `dir` as `--out` and opens an output on it (nothing is written until a file is staged); a folder that fails
/// the check stops the command with one line.
let start (dir: string) =
    match check dir with
    | Ok folder -> new Output(folder)
    | Error e -> Errors.fail e
