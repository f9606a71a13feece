/// Bad checkpoint files, hundreds of them, made from a valid one: random bytes, truncations at every kind of boundary,
/// huge, negative and off-by-some header lengths, damaged JSON, bad offsets, wrong and unknown dtypes, NaN and infinite
/// hyperparameters, zero-length and reshaped tensors, flipped data. Each load must fail with CheckpointFormatException
/// or CheckpointMismatchException, a message naming the file, and leave the optimizer and the file untouched.
module S3gd.Properties.Checkpoints.CorruptCheckpointTests

open System
open System.Buffers.Binary
open System.IO
open System.Text
open System.Text.Json.Nodes
open Xunit
open FsCheck
open FsCheck.FSharp
open FsCheck.Xunit
open S3gd.Gpu
open S3gd.Gpu.Cpu
open S3gd.Gpu.Optimizers
open S3gd.Gpu.Checkpoints
open S3gd.Properties.Cli
open S3gd.Properties.Optimizers.Fixtures

/// A file's header length, header text and data section.
let private split (bytes: byte[]) =
    let n = BinaryPrimitives.ReadUInt64LittleEndian(ReadOnlySpan(bytes, 0, 8)) |> int
    n, Encoding.UTF8.GetString(bytes, 8, n), bytes[8 + n ..]

/// A file from a header length field, header bytes and data.
let private assemble (length: uint64) (header: byte[]) (data: byte[]) =
    let prefix = Array.zeroCreate<byte> 8
    BinaryPrimitives.WriteUInt64LittleEndian(Span prefix, length)
    Array.concat [ prefix; header; data ]

/// A file from a header object and data, the checksum recomputed when `restamp` (so that the check under test is the one that fires).
let private rebuild (restamp: bool) (header: JsonObject) (data: byte[]) =
    if restamp then
        let meta = header["__metadata__"].AsObject()
        let entries = Collections.Generic.Dictionary<string, string>()
        for kv in meta do entries[kv.Key] <- kv.Value.GetValue<string>()
        meta["checksum"] <- JsonValue.Create(SafeTensorsWriter.Checksum(entries, [ data ]))
    let h = Encoding.UTF8.GetBytes(header.ToJsonString())
    assemble (uint64 h.Length) h data

/// Every way of breaking a valid checkpoint, as a generator of (kind, file bytes).
let private corruptions (valid: byte[]) : Gen<string * byte[]> =
    let n, text, data = split valid
    let header () = JsonNode.Parse(text).AsObject()
    let tensorNames = [ for kv in header () do if kv.Key <> "__metadata__" then kv.Key ]
    let boundaries =
        [ 0; 1; 7; 8; 9; 8 + n - 1; 8 + n; 8 + n + 1; valid.Length - 1 ]
        @ [ for kv in header () do
                if kv.Key <> "__metadata__" then
                    let o = kv.Value["data_offsets"].AsArray()
                    yield 8 + n + o[0].GetValue<int>()
                    yield 8 + n + o[1].GetValue<int>() - 1 ]
        |> List.filter (fun b -> b >= 0 && b < valid.Length)
    let withHeader (kind: string) (restamp: bool) (change: JsonObject -> unit) =
        let h = header ()
        change h
        kind, rebuild restamp h data
    let tensor (h: JsonObject) (name: string) = h[name].AsObject()
    Gen.oneof
        [ // Random bytes, some behind a plausible length prefix.
          gen {
              let! length = Gen.choose (0, 300)
              let! bytes = Gen.arrayOfLength length (Gen.choose (0, 255) |> Gen.map byte)
              let! prefixed = Gen.elements [ false; true ]
              if prefixed && length >= 8 then BinaryPrimitives.WriteUInt64LittleEndian(Span(bytes, 0, 8), uint64 (length - 8))
              return "random bytes", bytes
          }
          // Truncations at the length prefix, the header's end, each tensor's first and last byte, or anywhere.
          gen {
              let! at = Gen.oneof [ Gen.elements boundaries; Gen.choose (0, valid.Length - 1) ]
              return sprintf "truncated to %d bytes" at, valid[.. at - 1]
          }
          // Header lengths: huge, negative as signed, one off, past the end.
          gen {
              let! length =
                  Gen.elements
                      [ UInt64.MaxValue; 1UL <<< 63; (1UL <<< 63) + 8UL; 100_000_001UL; uint64 valid.Length; uint64 (valid.Length - 8 + 1)
                        uint64 (n + 1); uint64 (n - 1); uint64 (n + 8); 0UL; 1UL; 2UL ]
              return sprintf "header length %d" length, assemble length (Encoding.UTF8.GetBytes text) data
          }
          // Damaged JSON: a header byte replaced by a non-space character it was not.
          gen {
              let bytes = Encoding.UTF8.GetBytes text
              let! i = Gen.choose (0, bytes.Length - 1)
              let! c = Gen.elements ("{}[]\",:x09-." |> Seq.map byte |> Seq.filter (fun c -> c <> bytes[i]) |> List.ofSeq)
              let damaged = Array.copy bytes
              damaged[i] <- c
              return sprintf "header byte %d set to '%c'" i (char c), assemble (uint64 n) damaged data
          }
          // Bad offsets: out of range, reversed, overlapping, leaving a gap.
          gen {
              let! name = Gen.elements tensorNames
              let! a = Gen.choose (-5, data.Length + 5)
              let! b = Gen.choose (-5, data.Length + 5)
              return
                  withHeader (sprintf "%s data_offsets [%d, %d]" name a b) true (fun h ->
                      let t = tensor h name
                      let o = t["data_offsets"].AsArray()
                      let a', b' = (if o[0].GetValue<int>() = a && o[1].GetValue<int>() = b then a, b + 1 else a, b)
                      t["data_offsets"] <- JsonNode.Parse(sprintf "[%d, %d]" a' b'))
          }
          // Wrong dtypes: known ones of another size or the same size, unknown ones, not a string.
          gen {
              let! name = Gen.elements tensorNames
              let! dtype = Gen.elements [ "F16"; "I32"; "U8"; "F64"; "F8_E5M2"; "f32"; "XYZ"; "" ]
              let! restamp = Gen.elements [ false; true ]
              return
                  withHeader (sprintf "%s dtype %s" name dtype) restamp (fun h ->
                      let t = tensor h name
                      t["dtype"] <- JsonValue.Create(if t["dtype"].GetValue<string>() = dtype then "BOOL" else dtype))
          }
          // NaN, infinite and out-of-range hyperparameters, checksum recomputed.
          gen {
              let! group = Gen.elements [ 0; 1 ]
              let! hyper = Gen.elements [ "lr"; "beta1"; "beta2"; "eps"; "weight_decay"; "amsgrad" ]
              let! value = Gen.elements [ "NaN"; "Infinity"; "-Infinity"; "-1"; "1.5"; "maybe"; "" ]
              return
                  withHeader (sprintf "group %d %s=%s" group hyper value) true (fun h ->
                      let meta = h["__metadata__"].AsObject()
                      let hypers = JsonNode.Parse(meta[sprintf "group.%d.hypers" group].GetValue<string>()).AsObject()
                      hypers[hyper] <- JsonValue.Create value
                      meta[sprintf "group.%d.hypers" group] <- JsonValue.Create(hypers.ToJsonString()))
          }
          // Metadata changed or removed, with and without the checksum recomputed.
          gen {
              let! key = Gen.elements [ "format"; "format_version"; "optimizer"; "groups"; "steps"; "params_included"; "group.0.params"; "group.1.precision"; "checksum" ]
              let! value = Gen.elements [ None; Some ""; Some "2"; Some "-1"; Some "[]"; Some "{\"embed.weight\":-3}"; Some "AdamX" ]
              let! restamp = Gen.elements [ false; true ]
              return
                  withHeader (sprintf "metadata %s = %A" key value) (restamp && key <> "checksum") (fun h ->
                      let meta = h["__metadata__"].AsObject()
                      match value with
                      | None -> meta.Remove key |> ignore
                      | Some v when meta.ContainsKey key && meta[key].GetValue<string>() = v -> meta[key] <- JsonValue.Create(v + "0")
                      | Some v -> meta[key] <- JsonValue.Create v)
          }
          // Zero-length, reshaped and extra tensors (offsets kept consistent, checksum recomputed).
          gen {
              let! name = Gen.elements tensorNames
              let! kind = Gen.elements [ "zero"; "reshaped"; "extra" ]
              return
                  withHeader (sprintf "%s %s" kind name) true (fun h ->
                      let t = tensor h name
                      match kind with
                      | "zero" -> h["state.zero.exp_avg"] <- JsonNode.Parse(sprintf """{"dtype":"F32","shape":[0],"data_offsets":[%d,%d]}""" data.Length data.Length)
                      | "reshaped" ->
                          let shape = t["shape"].AsArray()
                          let total = Seq.fold (fun acc (d: JsonNode) -> acc * d.GetValue<int64>()) 1L shape
                          t["shape"] <- JsonNode.Parse(if shape.Count = 1 && total > 1L then "[1, " + string total + "]" else "[" + string total + ", 1, 1]")
                      | _ -> h["param.extra"] <- JsonNode.Parse(sprintf """{"dtype":"U8","shape":[0],"data_offsets":[%d,%d]}""" data.Length data.Length))
          }
          // Flipped data bits (the checksum must notice).
          gen {
              let! i = Gen.choose (0, data.Length - 1)
              let! bit = Gen.choose (0, 7)
              let flipped = Array.copy data
              flipped[i] <- flipped[i] ^^^ (1uy <<< bit)
              return sprintf "data byte %d bit %d flipped" i bit, assemble (uint64 n) (Encoding.UTF8.GetBytes text) flipped
          } ]

/// How many corrupted files the property loads.
[<Literal>]
let inputs = 600

/// An AdamW stepped twice whose checkpoint after the first step, loaded back once to show that it loads, is the valid file
/// the corruptions are made from (the second step makes the optimizer differ from it, so a partial load would show). xunit
/// makes one for the property and disposes it after; FsCheck.Xunit loads every corrupted file into it.
type CorruptLoads() =
    let cpu = new CpuBackend()
    let folder = new Temp.Folder()
    let ps = parameters cpu 1 ElementType.Float32 ElementType.Float32 shapes
    let o = new AdamW([ ParamGroup(ps[..1], States = [| Elementwise.StateFormat.Parse "fp8e4m3" |]); ParamGroup([ ps[2] ]).With("lr", 1e-4) ])
    do o.Step()
    let good = folder.File "good.safetensors"
    do o.Save good
    let valid = File.ReadAllBytes good
    do
        o.Load good
        Assert.Equal<int list>([ 1; 1; 1 ], [ for p in ps -> o.StepCount p ])
        o.Step()
    let before = snapshot o
    let path = folder.File "bad.safetensors"

    [<Property(MaxTest = inputs)>]
    member _.``every corrupted checkpoint is a clear error that leaves the optimizer and the file untouched`` () =
        Prop.forAll (Arb.fromGen (corruptions valid)) (fun (kind: string, bytes: byte[]) ->
            File.WriteAllBytes(path, bytes)
            let outcome =
                try
                    o.Load path
                    Error "loaded without an error"
                with
                | :? CheckpointFormatException as e -> Ok e.Message
                | :? CheckpointMismatchException as e -> Ok e.Message
                | e -> Error(sprintf "%s: %s" (e.GetType().Name) e.Message)
            let untouched = snapshot o = before
            let fileSame = File.ReadAllBytes path = bytes
            (match outcome with
             | Ok message -> message.Contains path && message.Length > path.Length + 10 && untouched && fileSame
             | Error _ -> false)
            |> Prop.label (sprintf "%s: %A (optimizer untouched: %b, file untouched: %b)" kind outcome untouched fileSame))

    interface IDisposable with
        member _.Dispose() =
            release o ps
            (folder :> IDisposable).Dispose()
            cpu.Dispose()
