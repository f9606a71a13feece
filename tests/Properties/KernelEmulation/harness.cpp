// Runs elementwise.cu (rewritten to kernel.cpp, PTX conversions emulated by shim.h) over a case folder that
// KernelEmulationTests writes: lengths.bin, scalars<step>.bin and in_<tensor>_<slot>.bin; writes out_<tensor>_<slot>.bin.
// Blocks run one after another, the threads of a block at once (std::thread), as many steps as asked.
#include "shim.h"
#include "kernel.cpp"
#include <fstream>
#include <string>
#include <thread>
#include <vector>

thread_local Dim threadIdx;
Dim blockIdx;
std::barrier<>* warp_barrier[8];
float warp_slots[256];

static std::vector<char> slurp(const std::string& path)
{
    std::ifstream in(path, std::ios::binary);
    return std::vector<char>((std::istreambuf_iterator<char>(in)), {});
}

int main(int argc, char** argv)
{
    if (argc != 3) return 2;
    const std::string dir = argv[1];
    const int steps = std::atoi(argv[2]);
    const auto lengths = slurp(dir + "/lengths.bin");
    const int tensors = (int)(lengths.size() / 8);
    const long long* n = (const long long*)lengths.data();
    std::vector<std::vector<char>> buffers(tensors * SLOTS);
    std::vector<unsigned long long> table(tensors * SLOTS, 0ull);
    for (int t = 0; t < tensors; t++)
        for (int k = 0; k < SLOTS; k++)
        {
            auto& b = buffers[t * SLOTS + k];
            b = slurp(dir + "/in_" + std::to_string(t) + "_" + std::to_string(k) + ".bin");
            // std::vector storage comes from operator new, 16-byte aligned: the kernel takes its vector paths.
            if (!b.empty()) table[t * SLOTS + k] = (unsigned long long)b.data();
        }
    std::vector<long long> first(tensors);
    std::vector<int> chunk_tensor;
    long long chunks = 0;
    for (int t = 0; t < tensors; t++)
    {
        first[t] = chunks;
        const long long c = (n[t] + CHUNK - 1) / CHUNK;
        for (long long j = 0; j < c; j++) chunk_tensor.push_back(t);
        chunks += c;
    }
    for (auto& b : warp_barrier) b = new std::barrier<>(32);
    const float found_inf = 0.0f;
    for (int s = 1; s <= steps; s++)
    {
        const auto bytes = slurp(dir + "/scalars" + std::to_string(s) + ".bin");
        if (bytes.size() != sizeof(StepScalars)) return 3;
        StepScalars sc;
        std::memcpy(&sc, bytes.data(), sizeof sc);
        for (long long b = 0; b < chunks; b++)
        {
            blockIdx.x = (unsigned)b;
            std::vector<std::thread> threads;
            for (unsigned i = 0; i < THREADS; i++)
                threads.emplace_back([&, i] {
                    threadIdx.x = i;
                    elementwise_step(table.data(), n, first.data(), chunk_tensor.data(), sc, &found_inf);
                });
            for (auto& th : threads) th.join();
        }
    }
    for (int t = 0; t < tensors; t++)
        for (int k = 0; k < SLOTS; k++)
        {
            const auto& b = buffers[t * SLOTS + k];
            if (b.empty()) continue;
            std::ofstream out(dir + "/out_" + std::to_string(t) + "_" + std::to_string(k) + ".bin", std::ios::binary);
            out.write(b.data(), (std::streamsize)b.size());
        }
    return 0;
}
