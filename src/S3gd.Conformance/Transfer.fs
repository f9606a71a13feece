/// Moving float32 values and storage codes between host arrays and backend buffers.
module S3gd.Conformance.Transfer

open System
open S3gd.Gpu

/// A new buffer holding <paramref name="values"/> as float32.
let uploadFloats (backend: Backend) (values: float32[]) : DeviceBuffer =
    let buffer = backend.Allocate(ElementType.Float32, int64 values.Length)
    backend.Upload<float32>(buffer, ReadOnlySpan values)
    buffer

/// A new buffer of <paramref name="element"/> holding <paramref name="codes"/> (each must fit the element width).
let uploadCodes (backend: Backend) (element: ElementType) (codes: uint32[]) : DeviceBuffer =
    let buffer = backend.Allocate(element, int64 codes.Length)
    match element.SizeOf() with
    | 4 -> backend.Upload<uint32>(buffer, ReadOnlySpan codes)
    | 2 -> backend.Upload<uint16>(buffer, ReadOnlySpan(Array.map uint16 codes))
    | _ -> backend.Upload<byte>(buffer, ReadOnlySpan(Array.map byte codes))
    buffer

/// The buffer's elements as codes, widened to uint32.
let downloadCodes (backend: Backend) (buffer: DeviceBuffer) : uint32[] =
    match buffer.ElementType.SizeOf() with
    | 4 -> backend.Download<uint32> buffer
    | 2 -> backend.Download<uint16> buffer |> Array.map uint32
    | _ -> backend.Download<byte> buffer |> Array.map uint32
