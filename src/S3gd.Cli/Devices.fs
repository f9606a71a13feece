/// `s3gd devices`: the backends, each GPU with its capabilities, or why CUDA is unavailable.
module S3gd.Cli.Devices

open Spectre.Console
open S3gd.Gpu
open S3gd.Gpu.Cpu
open S3gd.Gpu.Cuda

/// Bytes per GiB, 2^30.
let private gib = 1073741824.0

let private yesNo (b: bool) = if b then "[green]yes[/]" else "[red]no[/]"

/// Prints the backends table and, where the driver sees GPUs, the devices table; exits 0 (a bad S3GD_BACKEND stops it
/// first, with one line).
let run () : int =
    let selection = BackendChoice.openBackend None
    use _ = selection.Backend
    let cuda = CudaAvailability.Current
    let backends = Table().AddColumns("Backend", "Available", "Details")
    use cpu = new CpuBackend()
    backends.AddRow("cpu", yesNo true, Markup.Escape cpu.Device) |> ignore
    backends.AddRow("cuda", yesNo cuda.IsAvailable, Markup.Escape cuda.Reason) |> ignore
    backends.AddRow(
        "ilgpu-cpu", yesNo true,
        Markup.Escape(sprintf "the CUDA kernels' own code on ILGPU %s's CPU accelerator, managed operations (slow: for checking the kernels)" CudaAvailability.IlgpuVersion))
    |> ignore
    AnsiConsole.Write backends
    if cuda.Devices.Count > 0 then
        let gpus = Table().AddColumns("#", "Name", "Arch", "SMs", "Memory (GiB)", "bf16 (sm_80+)", "fp8 (sm_89+)")
        for d in cuda.Devices do
            gpus.AddRow(
                string d.Ordinal,
                Markup.Escape d.Name,
                d.Architecture,
                string d.MultiprocessorCount,
                sprintf "%.1f" (float d.TotalMemoryBytes / gib),
                yesNo d.SupportsBf16,
                yesNo d.SupportsFp8)
            |> ignore
        AnsiConsole.Write gpus
    AnsiConsole.MarkupLine(sprintf "Default backend: [bold]%O[/] (%s)" selection.Backend.Kind (Markup.Escape selection.Reason))
    0
