/// `--out`: checked before any work (a file, a folder below a file, foreign files are refused; nothing is left behind by
/// the check), the earlier output replaced as a whole on commit, and a command that fails before committing leaves no
/// folder it created.
module S3gd.Properties.Cli.OutFolderTests

open System.IO
open Xunit
open S3gd.Cli
open S3gd.Properties.Cli.Temp

let private entries (dir: string) = Directory.GetFileSystemEntries dir |> Array.map Path.GetFileName |> Array.sort

let private commit (dir: string) (files: string list) =
    use output = OutFolder.start dir
    for f in files do File.WriteAllText(output.Stage f, f)
    output.Commit()

[<Fact>]
let ``the check refuses a file, a folder below a file and a folder with foreign files, and writes nothing`` () =
    use folder = new Folder()
    let file = folder.File "file"
    File.WriteAllText(file, "")
    let refused dir =
        match OutFolder.check dir with
        | Ok _ -> failwithf "%s was accepted" dir
        | Error e -> e
    Assert.Equal(sprintf "--out %s is a file, not a folder" file, refused file)
    Assert.Equal(sprintf "--out %s: %s is a file, not a folder" (Path.Combine(file, "a", "b")) file, refused (Path.Combine(file, "a", "b")))
    let mine = folder.File "mine"
    Directory.CreateDirectory(Path.Combine(mine, "sub")) |> ignore
    File.WriteAllText(Path.Combine(mine, "b.txt"), "")
    Assert.StartsWith(sprintf "--out %s holds files s3gd did not write (b.txt, sub)" mine, refused mine)
    Assert.Equal<string[]>([| "file"; "mine" |], entries folder.Path)
    Assert.Equal<string[]>([| "b.txt"; "sub" |], entries mine)
    match OutFolder.check (folder.File "new/nested") with
    | Ok _ -> ()
    | Error e -> failwith e
    Assert.Equal<string[]>([| "file"; "mine" |], entries folder.Path)

[<Fact>]
let ``a commit replaces the earlier output as a whole and lists what it wrote`` () =
    use folder = new Folder()
    let out = folder.File "out"
    Assert.Equal<string list>([ "a.txt"; "b.txt" ], commit out [ "b.txt"; "a.txt" ])
    Assert.Equal<string list>([ "c.txt" ], commit out [ "c.txt" ])
    Assert.Equal<string[]>([| OutFolder.manifestName; "c.txt" |], entries out)
    Assert.Equal<string[]>([| "c.txt" |], File.ReadAllLines(Path.Combine(out, OutFolder.manifestName)))
    // A staging folder a killed command left is the command's own: replaced, not foreign.
    Directory.CreateDirectory(Path.Combine(out, ".s3gd-staging-leftover")) |> ignore
    Assert.Equal<string list>([ "c.txt" ], commit out [ "c.txt" ])
    Assert.Equal<string[]>([| OutFolder.manifestName; "c.txt" |], entries out)

[<Fact>]
let ``an output that is not committed leaves no folder it created, and an existing folder as it was`` () =
    use folder = new Folder()
    let out = folder.File "new/nested/out"
    do
        use output = OutFolder.start out
        File.WriteAllText(output.Stage "x.txt", "staged, never committed")
    Assert.Empty(entries folder.Path)
    commit (folder.File "kept") [ "a.txt" ] |> ignore
    do
        use output = OutFolder.start (folder.File "kept")
        File.WriteAllText(output.Stage "b.txt", "staged, never committed")
    Assert.Equal<string[]>([| OutFolder.manifestName; "a.txt" |], entries (folder.File "kept"))
