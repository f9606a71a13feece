/// The on-disk kernel cache: round trip, corrupt and truncated entries are misses, keys cover every part.
module S3gd.Properties.Backends.KernelCacheTests

open System
open System.IO
open Xunit
open S3gd.Gpu.Cuda

let private withCache (body: CudaKernelCache -> unit) =
    let dir = Path.Combine(Path.GetTempPath(), "s3gd-cache-test-" + Guid.NewGuid().ToString("N"))
    try body (CudaKernelCache dir)
    finally if Directory.Exists dir then Directory.Delete(dir, true)

[<Fact>]
let ``an entry reads back as written and leaves no temporary file`` () =
    withCache (fun cache ->
        let key = CudaKernelCache.Key("source", "sm_90")
        Assert.Null(cache.TryRead key)
        Assert.True(cache.Write(key, [| 1uy; 2uy; 3uy |]))
        Assert.Equal<byte[]>([| 1uy; 2uy; 3uy |], cache.TryRead key)
        Assert.Equal<string[]>([| cache.PathOf key |], Directory.GetFiles cache.Directory))

[<Fact>]
let ``a corrupt or truncated entry is a miss`` () =
    withCache (fun cache ->
        let key = CudaKernelCache.Key "k"
        cache.Write(key, Array.init 100 byte) |> ignore
        let bytes = File.ReadAllBytes(cache.PathOf key)
        bytes[50] <- bytes[50] ^^^ 1uy
        File.WriteAllBytes(cache.PathOf key, bytes)
        Assert.Null(cache.TryRead key)
        File.WriteAllBytes(cache.PathOf key, bytes[..10])
        Assert.Null(cache.TryRead key))

[<Fact>]
let ``the key changes with every part and with how the parts are split`` () =
    let keys =
        [ CudaKernelCache.Key("src", "opts", "sm_90", "13.0", "1")
          CudaKernelCache.Key("src", "opts", "sm_89", "13.0", "1")
          CudaKernelCache.Key("src", "opts", "sm_90", "12.8", "1")
          CudaKernelCache.Key("src", "opts", "sm_90", "13.0", "2")
          CudaKernelCache.Key("src!", "opts", "sm_90", "13.0", "1")
          CudaKernelCache.Key("sr", "copts", "sm_90", "13.0", "1") ]
    Assert.Equal(keys.Length, List.distinct keys |> List.length)
