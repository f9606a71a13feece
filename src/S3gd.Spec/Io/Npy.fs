/// NumPy .npy files (format versions 1.0-3.0): little-endian float32, float64, uint16 and uint8 arrays in
/// C order. Reading rejects any other header with an error naming the file and the field; writing goes to a
/// temporary file that is then renamed, so an existing file is never left half-written.
module S3gd.Spec.Io.Npy

open System
open System.IO
open System.Text
open System.Text.RegularExpressions

/// The elements of an array, by dtype.
type NpyData =
    /// '<f4'
    | F4 of float32[]
    /// '<f8'
    | F8 of float[]
    /// '<u2' (bf16 codes are stored this way)
    | U2 of uint16[]
    /// '|u1' (fp8 codes are stored this way)
    | U1 of byte[]

/// An n-dimensional array: its shape (row-major) and its elements.
type NpyArray = { Shape: int list; Data: NpyData }

/// The magic string every .npy file starts with.
let private magic = [| 0x93uy; byte 'N'; byte 'U'; byte 'M'; byte 'P'; byte 'Y' |]

/// The header is padded so the data starts at a multiple of this many bytes (NumPy's alignment).
let private alignment = 64

let private descr =
    function
    | F4 _ -> "<f4"
    | F8 _ -> "<f8"
    | U2 _ -> "<u2"
    | U1 _ -> "|u1"

/// Number of elements.
let length (a: NpyArray) =
    match a.Data with
    | F4 v -> v.Length
    | F8 v -> v.Length
    | U2 v -> v.Length
    | U1 v -> v.Length

/// The elements as float64: float arrays converted exactly; code arrays (u2, u1) are an error, since they
/// need a storage format to be decoded.
let toFloats (a: NpyArray) : float[] =
    match a.Data with
    | F4 v -> Array.map float v
    | F8 v -> v
    | U2 _ | U1 _ -> invalidArg (nameof a) (sprintf "array of dtype %s holds codes, not values: decode it with its storage format" (descr a.Data))

/// A float64 array of the given shape; the shape's product must equal the length.
let ofFloats (shape: int list) (values: float[]) : NpyArray =
    let n = List.fold (*) 1 shape
    if n <> values.Length then invalidArg (nameof shape) (sprintf "shape %A holds %d elements, but %d values were given" shape n values.Length)
    { Shape = shape; Data = F8 values }

let private fail (path: string) fmt = Printf.kprintf (fun s -> raise (InvalidDataException(sprintf "%s: %s" path s))) fmt

let private parseHeader (path: string) (header: string) =
    let field name =
        let m = Regex.Match(header, sprintf @"'%s'\s*:\s*('[^']*'|True|False|\([^)]*\))" name)
        if m.Success then m.Groups[1].Value else fail path "header has no '%s' field: %s" name header
    let d = (field "descr").Trim('\'')
    if field "fortran_order" <> "False" then fail path "fortran_order=True is not supported (write the array in C order)"
    let shape =
        (field "shape").Trim('(', ')').Split(',', StringSplitOptions.RemoveEmptyEntries ||| StringSplitOptions.TrimEntries)
        |> Array.map (fun s ->
            match Int32.TryParse s with
            | true, n when n >= 0 -> n
            | _ -> fail path "bad dimension '%s' in shape" s)
        |> Array.toList
    d, shape

/// Reads a .npy file.
let read (path: string) : NpyArray =
    use r = new BinaryReader(File.OpenRead path)
    if r.ReadBytes magic.Length <> magic then fail path "not a .npy file (bad magic)"
    let major = r.ReadByte()
    r.ReadByte() |> ignore
    let headerLength =
        match major with
        | 1uy -> int (r.ReadUInt16())
        | 2uy | 3uy -> int (r.ReadUInt32())
        | v -> fail path "unsupported .npy version %d" v
    let d, shape = parseHeader path (Encoding.Latin1.GetString(r.ReadBytes headerLength))
    let n = List.fold (*) 1 shape
    let bytes (size: int) =
        let b = r.ReadBytes(n * size)
        if b.Length <> n * size then fail path "truncated: shape %A needs %d bytes of data, found %d" shape (n * size) b.Length
        b
    let cast (size: int) (f: byte[] -> 'T[]) = f (bytes size)
    let data =
        match d with
        | "<f4" -> F4(cast 4 (fun b -> Array.init n (fun i -> BitConverter.ToSingle(b, 4 * i))))
        | "<f8" -> F8(cast 8 (fun b -> Array.init n (fun i -> BitConverter.ToDouble(b, 8 * i))))
        | "<u2" -> U2(cast 2 (fun b -> Array.init n (fun i -> BitConverter.ToUInt16(b, 2 * i))))
        | "|u1" | "<u1" -> U1(bytes 1)
        | other -> fail path "unsupported dtype '%s' (supported: <f4, <f8, <u2, |u1; little-endian)" other
    { Shape = shape; Data = data }

/// Writes a .npy file (version 1.0) through a temporary file renamed into place.
let write (path: string) (a: NpyArray) =
    if List.fold (*) 1 a.Shape <> length a then
        invalidArg (nameof a) (sprintf "shape %A does not match %d elements" a.Shape (length a))
    let shape =
        match a.Shape with
        | [ d ] -> sprintf "(%d,)" d
        | dims -> "(" + String.Join(", ", dims) + ")"
    let dict = sprintf "{'descr': '%s', 'fortran_order': False, 'shape': %s, }" (descr a.Data) shape
    // magic (6) + version (2) + header length (2) + dict + padding + newline is a multiple of the alignment.
    let prefix = magic.Length + 4
    let padded = dict.PadRight(((prefix + dict.Length + 1 + alignment - 1) / alignment) * alignment - prefix - 1) + "\n"
    let full = Path.GetFullPath path
    let temp = full + ".tmp-" + string Environment.ProcessId
    do
        use w = new BinaryWriter(File.Create temp)
        w.Write magic
        w.Write [| 1uy; 0uy |]
        w.Write(uint16 padded.Length)
        w.Write(Encoding.Latin1.GetBytes padded)
        match a.Data with
        | F4 v -> v |> Array.iter w.Write
        | F8 v -> v |> Array.iter w.Write
        | U2 v -> v |> Array.iter w.Write
        | U1 v -> w.Write v
    File.Move(temp, full, true)
