/// The safetensors writer and reader: the layout PyTorch users' tools read, a hand-made file in the reference's
/// layout, argument checks, and the atomic write (a failed write leaves the previous file as it was, no temporary left).
module S3gd.Properties.Checkpoints.SafeTensorsTests

open System
open System.Buffers.Binary
open System.IO
open System.Text
open System.Text.Json
open Xunit
open S3gd.Gpu.Checkpoints
open S3gd.Properties.Cli

let private tensors =
    [| SafeTensor("a", "F32", [ 2L; 2L ], Array.init 16 byte)
       SafeTensor("b.scales", "BF16", [ 3L ], Array.init 6 (fun i -> byte (100 + i)))
       SafeTensor("empty", "F8_E4M3", [ 0L ], [||]) |]

let private meta = dict [ "format", "test"; "note", "ünïcode" ] |> fun d -> Collections.Generic.Dictionary d :> Collections.Generic.IReadOnlyDictionary<_, _>

[<Fact>]
let ``the file is an 8-byte little-endian header length, a space-padded JSON header and the data back to back`` () =
    use folder = new Temp.Folder()
    let path = folder.File "t.safetensors"
    SafeTensorsWriter.Write(path, meta, tensors)
    let bytes = File.ReadAllBytes path
    let n = BinaryPrimitives.ReadUInt64LittleEndian(ReadOnlySpan(bytes, 0, 8)) |> int
    Assert.Equal(0, n % 8)
    Assert.Equal(8 + n + 22, bytes.Length)
    use doc = JsonDocument.Parse(Encoding.UTF8.GetString(bytes, 8, n))
    let root = doc.RootElement
    Assert.Equal("ünïcode", root.GetProperty("__metadata__").GetProperty("note").GetString())
    Assert.StartsWith("sha256:", root.GetProperty("__metadata__").GetProperty("checksum").GetString())
    let offsets (name: string) = [ for x in root.GetProperty(name).GetProperty("data_offsets").EnumerateArray() -> x.GetInt64() ]
    Assert.Equal<int64 list>([ 0L; 16L ], offsets "a")
    Assert.Equal<int64 list>([ 16L; 22L ], offsets "b.scales")
    Assert.Equal<int64 list>([ 22L; 22L ], offsets "empty")
    Assert.Equal("BF16", root.GetProperty("b.scales").GetProperty("dtype").GetString())
    Assert.Equal<byte>(Array.init 16 byte, bytes[8 + n .. 8 + n + 15])
    let back = SafeTensorsReader.Read path
    Assert.Equal<string>([ "a"; "b.scales"; "empty" ], [ for t in back.Tensors -> t.Name ])
    for t, u in Array.zip tensors (Array.ofSeq back.Tensors) do
        Assert.Equal<byte>(t.Data, u.Data)
        Assert.Equal<int64>(t.Shape, u.Shape)
        Assert.Equal(t.Dtype, u.Dtype)
    Assert.Equal("test", back.Metadata["format"])

[<Fact>]
let ``a file written as the reference writes it (no metadata, no padding, keys in any order) reads`` () =
    use folder = new Temp.Folder()
    let path = folder.File "ref.safetensors"
    let header = """{"y":{"dtype":"F32","shape":[1],"data_offsets":[2,6]},"x":{"shape":[],"dtype":"I16","data_offsets":[0,2]}}"""
    let h = Encoding.UTF8.GetBytes header
    let prefix = Array.zeroCreate<byte> 8
    BinaryPrimitives.WriteUInt64LittleEndian(Span prefix, uint64 h.Length)
    File.WriteAllBytes(path, Array.concat [ prefix; h; [| 1uy; 2uy; 0uy; 0uy; 128uy; 63uy |] ])
    let c = SafeTensorsReader.Read path
    Assert.Empty c.Metadata
    Assert.Equal<string>([ "x"; "y" ], [ for t in c.Tensors -> t.Name ])
    Assert.Equal(1.0f, BitConverter.ToSingle(c.Tensors[1].Data, 0))
    Assert.Empty c.Tensors[0].Shape

[<Fact>]
let ``the writer rejects tensors that do not match their shape, duplicate names and unknown dtypes`` () =
    use folder = new Temp.Folder()
    let path = folder.File "bad.safetensors"
    let throws (fragment: string) (ts: SafeTensor[]) =
        let e = Assert.ThrowsAny<ArgumentException>(fun () -> SafeTensorsWriter.Write(path, meta, ts))
        Assert.Contains(fragment, e.Message)
    throws "needs 12 bytes" [| SafeTensor("a", "F32", [ 3L ], Array.zeroCreate 8) |]
    throws "two tensors are named 'a'" [| SafeTensor("a", "U8", [ 1L ], [| 0uy |]); SafeTensor("a", "U8", [ 1L ], [| 0uy |]) |]
    throws "unknown dtype 'F24'" [| SafeTensor("a", "F24", [ 1L ], [| 0uy |]) |]
    throws "__metadata__" [| SafeTensor("__metadata__", "U8", [ 1L ], [| 0uy |]) |]
    throws "negative dimension" [| SafeTensor("a", "U8", [ -1L ], [||]) |]
    Assert.False(File.Exists path)
    Assert.Empty(Directory.GetFiles folder.Path)

/// A stream that fails once more than `limit` bytes have been written through it.
type private FailingStream(inner: Stream, limit: int64) =
    inherit Stream()
    let mutable written = 0L
    override _.CanRead = false
    override _.CanSeek = false
    override _.CanWrite = true
    override _.Length = inner.Length
    override _.Position with get () = inner.Position and set v = inner.Position <- v
    override _.Flush() = inner.Flush()
    override _.Read(_: byte[], _: int, _: int) = raise (NotSupportedException())
    override _.Seek(_: int64, _: SeekOrigin) = raise (NotSupportedException())
    override _.SetLength(_: int64) = raise (NotSupportedException())
    override _.Write(buffer: byte[], offset: int, count: int) =
        if written + int64 count > limit then raise (IOException "disk full (simulated)")
        inner.Write(buffer, offset, count)
        written <- written + int64 count

[<Fact>]
let ``a write that fails midway leaves the previous file as it was and no temporary file`` () =
    use folder = new Temp.Folder()
    let path = folder.File "ckpt.safetensors"
    SafeTensorsWriter.Write(path, meta, tensors)
    let before = File.ReadAllBytes path
    let bigger = [| SafeTensor("big", "F32", [ 1000L ], Array.create 4000 7uy) |]
    for limit in [ 0L; 4L; 8L; 100L; 3000L ] do
        let e = Assert.Throws<IOException>(fun () ->
            SafeTensorsWriter.Write(path, meta, bigger, true, Func<Stream, Stream>(fun s -> new FailingStream(s, limit) :> Stream)))
        Assert.Contains("simulated", e.Message)
        Assert.Equal<byte>(before, File.ReadAllBytes path)
        Assert.Equal<string>([ path ], Directory.GetFiles folder.Path)
    // A rename that cannot happen (a folder stands at the path) also leaves nothing behind.
    let blocked = folder.File "blocked"
    Directory.CreateDirectory blocked |> ignore
    Assert.ThrowsAny<IOException>(fun () -> SafeTensorsWriter.Write(blocked, meta, tensors)) |> ignore
    Assert.Equal<string>([ path ], Directory.GetFiles folder.Path)
    SafeTensorsWriter.Write(path, meta, bigger)
    Assert.Equal(4000, (SafeTensorsReader.Read path).Tensors[0].Data.Length)
