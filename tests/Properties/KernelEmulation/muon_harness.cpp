// Runs muon.cu's kernels (rewritten to kernel.cpp, PTX conversions emulated by shim.h) over one group that
// MuonKernelEmulationTests writes: meta.bin (count, n, blocks as int64), scalars.bin (to_grad, momentum, eps, decay,
// adjusted_lr, scale as float32), grads.bin, bufs.bin and params.bin (count x n float32). Mode `muon` runs
// muon_momentum, muon_normalise and muon_update (no Newton–Schulz between them: the update takes the normalised X);
// mode `projection` runs ns_load, muon_normalise and ns_store into the params. It writes bufs_out.bin,
// squares_out.bin, x_out.bin (bf16 codes) and params_out.bin. Blocks run one after another, a block's threads at once.
#include "shim.h"
#include <atomic>
#include <fstream>
#include <string>
#include <thread>
#include <vector>
#define __shared__ static
Dim gridDim;
std::barrier<>* block_barrier;
inline void __syncthreads() { block_barrier->arrive_and_wait(); }
// One thread per block adds its block's sum, and blocks run one after another: a plain add is atomic here.
inline float atomicAdd(float* address, float value) { const float old = *address; *address = old + value; return old; }
#include "kernel.cpp"

thread_local Dim threadIdx;
Dim blockIdx;
std::barrier<>* warp_barrier[8];
float warp_slots[256];

template <typename T> static std::vector<T> slurp(const std::string& path)
{
    std::ifstream in(path, std::ios::binary);
    std::vector<char> bytes((std::istreambuf_iterator<char>(in)), {});
    std::vector<T> values(bytes.size() / sizeof(T));
    std::memcpy(values.data(), bytes.data(), values.size() * sizeof(T));
    return values;
}

template <typename T> static void spill(const std::string& path, const T* data, size_t count)
{
    std::ofstream out(path, std::ios::binary);
    out.write((const char*)data, (std::streamsize)(count * sizeof(T)));
}

// Runs `body` as a grid of blocks x count blocks of THREADS threads.
template <typename F> static void launch(unsigned blocks, unsigned count, F body)
{
    gridDim.x = blocks;
    gridDim.y = count;
    for (unsigned y = 0; y < count; y++)
        for (unsigned x = 0; x < blocks; x++)
        {
            blockIdx.x = x;
            blockIdx.y = y;
            std::vector<std::thread> threads;
            for (unsigned i = 0; i < THREADS; i++)
                threads.emplace_back([&, i] {
                    threadIdx.x = i;
                    body();
                });
            for (auto& t : threads) t.join();
        }
}

int main(int argc, char** argv)
{
    if (argc != 3) return 2;
    const std::string dir = argv[1], mode = argv[2];
    const auto meta = slurp<long long>(dir + "/meta.bin");
    const auto scalars = slurp<float>(dir + "/scalars.bin");
    if (meta.size() != 3 || scalars.size() != 6) return 3;
    const long long count = meta[0], n = meta[1], blocks = meta[2];
    auto grads = slurp<float>(dir + "/grads.bin");
    auto bufs = slurp<float>(dir + "/bufs.bin");
    auto params = slurp<float>(dir + "/params.bin");
    std::vector<unsigned long long> grad_table(count), buf_table(count), param_table(count);
    for (long long t = 0; t < count; t++)
    {
        grad_table[t] = (unsigned long long)(grads.data() + t * n);
        buf_table[t] = (unsigned long long)(bufs.data() + t * n);
        param_table[t] = (unsigned long long)(params.data() + t * n);
    }
    std::vector<unsigned short> x(count * n);
    std::vector<float> squares(count, 0.0f);
    for (auto& b : warp_barrier) b = new std::barrier<>(32);
    block_barrier = new std::barrier<>(THREADS);
    const float to_grad = scalars[0], momentum = scalars[1], eps = scalars[2], decay = scalars[3], adjusted = scalars[4], scale = scalars[5];
    const bool muon = mode == "muon";
    if (muon)
        launch((unsigned)blocks, (unsigned)count, [&] { muon_momentum(grad_table.data(), buf_table.data(), x.data(), squares.data(), n, to_grad, momentum); });
    else
        launch((unsigned)blocks, (unsigned)count, [&] { ns_load(grad_table.data(), x.data(), squares.data(), n); });
    spill(dir + "/squares_out.bin", squares.data(), squares.size());
    launch((unsigned)blocks, (unsigned)count, [&] { muon_normalise(x.data(), squares.data(), n, eps); });
    if (muon)
        launch((unsigned)blocks, (unsigned)count, [&] { muon_update(param_table.data(), x.data(), n, decay, adjusted); });
    else
        launch((unsigned)blocks, (unsigned)count, [&] { ns_store(param_table.data(), x.data(), n, scale); });
    spill(dir + "/bufs_out.bin", bufs.data(), bufs.size());
    spill(dir + "/x_out.bin", x.data(), x.size());
    spill(dir + "/params_out.bin", params.data(), params.size());
    return 0;
}
