// The README's C# example of "Use it from your project": one AdamW step on the CPU backend. The new-project test
// (NewProjectTests.fs) builds it against the packed S3gd.Gpu in a console project of its own.
using S3gd.Gpu;
using S3gd.Gpu.Optimizers;

using var backend = Backends.Create(BackendKind.Cpu);
using var w = Parameter.Allocate(backend, "w", [4]);
using var opt = new AdamW([new ParamGroup([w])], lr: 0.1);
backend.Upload<float>(w.Param, [1f, 2f, 3f, 4f]);
backend.Upload<float>(w.Grad, [1f, -1f, 1f, -1f]);
opt.Step();
Console.WriteLine(string.Join(" ", backend.Download<float>(w.Param)));
