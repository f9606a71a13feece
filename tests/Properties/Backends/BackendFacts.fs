/// Facts that depend on which backends this machine has: CUDA ones are skipped, and shown as
/// skipped with the reason, where the CUDA backend is unavailable (xunit 2.9 has no dynamic skip).
module S3gd.Properties.Backends.BackendFacts

open Xunit
open S3gd.Gpu

/// Why the CUDA backend cannot run here, or None when it can.
let cudaUnavailable () =
    let struct (available, reason) = Backends.Availability BackendKind.Cuda
    if available then None else Some reason

/// A fact that runs only where the CUDA backend is available.
type CudaFactAttribute() as this =
    inherit FactAttribute()
    do cudaUnavailable () |> Option.iter (fun reason -> this.Skip <- "CUDA unavailable: " + reason)

/// A theory that runs only where the CUDA backend is available.
type CudaTheoryAttribute() as this =
    inherit TheoryAttribute()
    do cudaUnavailable () |> Option.iter (fun reason -> this.Skip <- "CUDA unavailable: " + reason)
