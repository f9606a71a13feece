/// Every specialisation of the Muon, OAdamW and MLP kernels (MuonKernels, GemmKernel, MlpKernels) compiles to PTX for
/// sm_90 with ILGPU's PTX backend (no GPU needed): the module targets sm_90, declares no extern function and calls only
/// functions it defines (no libdevice: exp, log and tanh are KernelMath's), and the entry takes the address space and
/// the launch's argument struct, as CudaBackend checks when it loads a kernel.
module S3gd.Properties.Muon.MuonPtxTests

open System
open System.Reflection
open System.Runtime.InteropServices
open System.Text.RegularExpressions
open Xunit
open S3gd.Gpu.Cuda
open S3gd.Gpu.Kernels
open S3gd.Gpu.Maths

/// H100's compute capability and CUDA 13's driver (13.0), as the device reports them.
let private compiler () = new CudaKernelCompiler(9, 0, 13000)

/// Bytes of the address space parameter: an ILGPU array view's pointer and length.
let private viewBytes = 16

/// The structs that fill a kernel's type parameter: CUDA's operations and float32 maths for the accelerator's (the
/// plans use float32 maths only), every struct of S3gd.Gpu implementing the constraint otherwise.
let private choices (parameter: Type) : Type list =
    match parameter.GetGenericParameterConstraints() |> Array.filter (fun c -> c.IsInterface) with
    | [| c |] when c = typeof<IKernelOps> -> [ typeof<CudaOps> ]
    | [| c |] when c = typeof<IMaths<float32>> -> [ typeof<CudaMaths> ]
    | [| c |] -> typeof<MuonKernels>.Assembly.GetTypes() |> Array.filter (fun t -> t.IsValueType && c.IsAssignableFrom t) |> List.ofArray
    | constraints -> failwithf "%s: constraints %A" parameter.Name constraints

/// Every combination of one choice per list.
let rec private product (lists: Type list list) : Type list list =
    match lists with
    | [] -> [ [] ]
    | choices :: rest -> [ for c in choices do for r in product rest -> c :: r ]

/// Every closed kernel: each public static method (ArrayView<byte> memory, TArgs args) of the kernel classes with every
/// combination of its type parameters' choices.
let kernels : MethodInfo list =
    [ for t in [ typeof<MuonKernels>; typeof<GemmKernel>; typeof<MlpKernels> ] do
          for m in t.GetMethods(BindingFlags.Public ||| BindingFlags.Static ||| BindingFlags.DeclaredOnly) do
              let parameters = m.GetParameters()
              if parameters.Length = 2 && parameters[0].ParameterType.Name = "ArrayView`1" then
                  if m.IsGenericMethodDefinition then
                      for arguments in product [ for p in m.GetGenericArguments() -> choices p ] -> m.MakeGenericMethod(Array.ofList arguments)
                  else yield m ]

/// Functions a PTX module declares or defines, and those it calls.
let private defined = Regex(@"\.func\s+(?:\([^)]*\)\s*)?(\w+)", RegexOptions.Compiled)
let private called = Regex(@"\bcall(?:\.uni)?\s+(?:\([^)]*\),\s*)?(\w+)", RegexOptions.Compiled)

[<Fact>]
let ``every specialisation is enumerated: 2 momentum, 4 normalise, update, 2 load, 2 store, zero, 8 GEMMs, 8 matmuls, 2 softmax, column sum`` () =
    // The normalisation, the projection's load and store and the GEMM for each work type, bf16 and float32 (INsWork).
    Assert.Equal(31, kernels.Length)

[<Fact>]
let ``every Muon, OAdamW and MLP kernel compiles to PTX for sm_90 without extern calls`` () =
    use compiler = compiler ()
    let problems =
        [ for kernel in kernels do
              let ptx = compiler.Compile kernel
              let name = kernel.ToString()
              if not (Regex.IsMatch(ptx.Ptx, @"^\.target\s+sm_90\s*$", RegexOptions.Multiline)) then yield sprintf "%s: no .target sm_90" name
              if ptx.Ptx.Contains ".extern" then yield sprintf "%s declares an extern function" name
              let functions = [ for m in defined.Matches ptx.Ptx -> m.Groups[1].Value ] |> Set.ofList
              for m in called.Matches ptx.Ptx do
                  if not (functions.Contains m.Groups[1].Value) then yield sprintf "%s calls %s, which it does not define" name m.Groups[1].Value
              let argsBytes = Marshal.SizeOf(kernel.GetParameters().[1].ParameterType)
              if List.ofSeq ptx.ParameterBytes <> [ viewBytes; argsBytes ] then
                  yield sprintf "%s takes parameters of %A bytes, the launch passes [%d; %d]" name (List.ofSeq ptx.ParameterBytes) viewBytes argsBytes ]
    Assert.True(problems.IsEmpty, String.Join("\n", problems))
