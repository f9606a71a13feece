/// .npy reading and writing: round trips for every dtype and clear errors for headers it does not support.
module S3gd.Properties.Io.NpyTests

open System
open System.IO
open Xunit
open FsCheck
open FsCheck.Xunit
open S3gd.Spec.Io

let private tempFile () = Path.Combine(Path.GetTempPath(), sprintf "s3gd-npy-%s.npy" (Guid.NewGuid().ToString "N"))

let private roundTrip (a: Npy.NpyArray) =
    let path = tempFile ()
    try
        Npy.write path a
        Npy.read path
    finally
        File.Delete path

[<Property(MaxTest = 50)>]
let ``every dtype round-trips with its shape`` (rows: PositiveInt) (cols: PositiveInt) (seed: int) =
    let r, c = rows.Get % 17, cols.Get % 13 + 1
    let n = r * c
    let rng = Random seed
    let cases =
        [ Npy.F8(Array.init n (fun _ -> rng.NextDouble() - 0.5))
          Npy.F4(Array.init n (fun _ -> float32 (rng.NextDouble())))
          Npy.U2(Array.init n (fun _ -> uint16 (rng.Next 65536)))
          Npy.U1(Array.init n (fun _ -> byte (rng.Next 256))) ]
    cases |> List.forall (fun d -> roundTrip { Shape = [ r; c ]; Data = d } = { Shape = [ r; c ]; Data = d })

[<Fact>]
let ``a one-dimensional array keeps its shape and NumPy's header layout`` () =
    let path = tempFile ()
    try
        Npy.write path (Npy.ofFloats [ 3 ] [| 1.0; 2.0; 3.0 |])
        let bytes = File.ReadAllBytes path
        // NumPy pads the header so the data (3 float64) starts on a 64-byte boundary, after a '\n'.
        let dataStart = bytes.Length - 3 * 8
        Assert.Equal(0, dataStart % 64)
        Assert.Equal(byte '\n', bytes[dataStart - 1])
        Assert.Equal({ Npy.Shape = [ 3 ]; Npy.Data = Npy.F8 [| 1.0; 2.0; 3.0 |] }, Npy.read path)
    finally
        File.Delete path

[<Fact>]
let ``unsupported headers are errors naming the file and the field`` () =
    let withHeader (dict: string) =
        let path = tempFile ()
        let padded = dict.PadRight(64 - 10 - 1) + "\n"
        File.WriteAllBytes(path, Array.concat [ [| 0x93uy |]; "NUMPY"B; [| 1uy; 0uy; byte padded.Length; 0uy |]; Text.Encoding.Latin1.GetBytes padded; Array.zeroCreate 16 ])
        path
    let expectError (dict: string) (fragment: string) =
        let path = withHeader dict
        try
            let e = Assert.Throws<InvalidDataException>(fun () -> Npy.read path |> ignore)
            Assert.Contains(path, e.Message)
            Assert.Contains(fragment, e.Message)
        finally
            File.Delete path
    expectError "{'descr': '>f8', 'fortran_order': False, 'shape': (2,), }" "'>f8'"
    expectError "{'descr': '<i8', 'fortran_order': False, 'shape': (2,), }" "'<i8'"
    expectError "{'descr': '<f8', 'fortran_order': True, 'shape': (2,), }" "fortran_order"
    expectError "{'descr': '<f8', 'fortran_order': False, 'shape': (5,), }" "truncated"
