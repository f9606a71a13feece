// Runs structured.cu (rewritten to kernel.cpp, PTX conversions emulated by the elementwise shim.h) over a case folder
// that StructuredEmulationTests writes: meta.bin (tensors, segments, groups, split segments, split groups as int64), tensors.bin (per tensor: length,
// block length, decays), layout.bin (segment then group words, as the CUDA plan's table), scalars<step>.bin,
// grad<step>_<tensor>.bin (each step's gradient) and in_<tensor>_<slot>.bin (param, grad, m, v, compensation, an fp8
// moment's block words and slots); writes
// out_<tensor>_<slot>.bin and telemetry.bin.
// Blocks run one after another, the threads of a block at once (std::thread), as many steps as asked.
#include "shim.h"
#include <atomic>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

// What structured.cu uses beyond elementwise.cu: the warp's shuffle-down and broadcast, votes, the max reduction and
// 32-bit atomics.
inline float __shfl_down_sync(unsigned, float v, int offset)
{
    const unsigned t = threadIdx.x, w = t / 32;
    warp_slots[t] = v;
    warp_barrier[w]->arrive_and_wait();
    const float r = (t & 31u) + (unsigned)offset < 32u ? warp_slots[t + (unsigned)offset] : v;
    warp_barrier[w]->arrive_and_wait();
    return r;
}
inline float __shfl_sync(unsigned, float v, int src)
{
    const unsigned t = threadIdx.x, w = t / 32;
    warp_slots[t] = v;
    warp_barrier[w]->arrive_and_wait();
    const float r = warp_slots[(t & ~31u) | (unsigned)src];
    warp_barrier[w]->arrive_and_wait();
    return r;
}
// __ballot_sync and __reduce_max_sync (sm_80's redux.sync.max.u32) over the whole warp, through the same slots.
inline unsigned __ballot_sync(unsigned, bool predicate)
{
    const unsigned t = threadIdx.x, w = t / 32;
    warp_slots[t] = predicate ? 1.0f : 0.0f;
    warp_barrier[w]->arrive_and_wait();
    unsigned votes = 0u;
    for (unsigned l = 0; l < 32u; l++)
        if (warp_slots[(t & ~31u) | l] != 0.0f) votes |= 1u << l;
    warp_barrier[w]->arrive_and_wait();
    return votes;
}
inline unsigned __reduce_max_sync(unsigned, unsigned v)
{
    const unsigned t = threadIdx.x, w = t / 32;
    std::memcpy(&warp_slots[t], &v, sizeof v);
    warp_barrier[w]->arrive_and_wait();
    unsigned r = 0u;
    for (unsigned l = 0; l < 32u; l++)
    {
        unsigned x;
        std::memcpy(&x, &warp_slots[(t & ~31u) | l], sizeof x);
        r = x > r ? x : r;
    }
    warp_barrier[w]->arrive_and_wait();
    return r;
}
inline unsigned atomicAdd(unsigned* p, unsigned v) { return std::atomic_ref<unsigned>(*p).fetch_add(v); }
inline unsigned atomicMax(unsigned* p, unsigned v)
{
    std::atomic_ref<unsigned> a(*p);
    unsigned old = a.load();
    while (old < v && !a.compare_exchange_weak(old, v)) {}
    return old;
}

#include "kernel.cpp"

thread_local Dim threadIdx;
Dim blockIdx;
std::barrier<>* warp_barrier[8];
float warp_slots[256];

static std::vector<char> slurp(const std::string& path)
{
    std::ifstream in(path, std::ios::binary);
    return std::vector<char>((std::istreambuf_iterator<char>(in)), {});
}

static void spill(const std::string& path, const void* data, size_t bytes)
{
    std::ofstream out(path, std::ios::binary);
    out.write((const char*)data, (std::streamsize)bytes);
}

// One launch: blocks in turn, each with THREADS threads at once.
template <typename F> static void launch(unsigned blocks, F kernel)
{
    for (unsigned b = 0; b < blocks; b++)
    {
        blockIdx.x = b;
        std::vector<std::thread> threads;
        for (unsigned t = 0; t < THREADS; t++) threads.emplace_back([&, t] { threadIdx.x = t; kernel(); });
        for (auto& th : threads) th.join();
    }
}

int main(int argc, char** argv)
{
    if (argc != 3) return 2;
    const std::string dir = argv[1];
    const int steps = std::atoi(argv[2]);
    const auto meta = slurp(dir + "/meta.bin");
    const long long* counts = (const long long*)meta.data();
    const int tensors = (int)counts[0], segments = (int)counts[1], groups = (int)counts[2];
    const int split_segments = (int)counts[3], split_groups = (int)counts[4];
    const auto info = slurp(dir + "/tensors.bin");
    const long long* fields = (const long long*)info.data();
    const int slots = 7;  // param, grad, m, v, compensation, fp8 m's block words, fp8 m's slots
    const int row_word[slots] = {0, 1, 2, 3, 4, 8, 9};  // each slot's word in the tensor's row (ROW)
    std::vector<std::vector<char>> buffers(tensors * slots);
    std::vector<unsigned long long> table(tensors * ROW, 0ull);
    for (int t = 0; t < tensors; t++)
    {
        for (int k = 0; k < slots; k++)
        {
            auto& b = buffers[t * slots + k];
            b = slurp(dir + "/in_" + std::to_string(t) + "_" + std::to_string(k) + ".bin");
            if (!b.empty()) table[t * ROW + row_word[k]] = (unsigned long long)b.data();
        }
        for (int f = 0; f < 3; f++) table[t * ROW + 5 + f] = (unsigned long long)fields[t * 3 + f];
    }
    const auto layout = slurp(dir + "/layout.bin");
    const long long* segment_words = (const long long*)layout.data();
    const long long* group_words = segment_words + (long long)segments * SEG_WORDS;
    std::vector<float> partials(segments > 0 ? segments : 1), group_out(2 * (groups > 0 ? groups : 1));
    std::vector<unsigned> telemetry(TELEMETRY_WORDS * tensors, 0u);
    for (int w = 0; w < 8; w++) warp_barrier[w] = new std::barrier<>(32);
    for (int step = 1; step <= steps; step++)
    {
        const auto bytes = slurp(dir + "/scalars" + std::to_string(step) + ".bin");
        StructuredScalars sc;
        std::memcpy(&sc, bytes.data(), sizeof sc);
        for (int t = 0; t < tensors; t++)
        {
            const auto g = slurp(dir + "/grad" + std::to_string(step) + "_" + std::to_string(t) + ".bin");
            std::memcpy(buffers[t * slots + 1].data(), g.data(), g.size());
        }
        if (segments == 0) continue;
        // As CudaStructuredPlan: split groups in three passes, then whole groups in one.
        const unsigned split_blocks = (split_segments + WARPS - 1) / WARPS, group_blocks = (split_groups + WARPS - 1) / WARPS;
        launch(split_blocks, [&] { structured_reduce(table.data(), segment_words, split_segments, sc, partials.data()); });
        launch(group_blocks, [&] { structured_finalize(table.data(), group_words, split_groups, partials.data(), sc, group_out.data()); });
        launch(split_blocks, [&] { structured_update(table.data(), segment_words, split_segments, group_out.data(), sc, telemetry.data()); });
        const int whole = segments - split_segments;
        const long long* whole_words = segment_words + (long long)split_segments * SEG_WORDS;
        launch((whole + WARPS - 1) / WARPS, [&] { structured_whole(table.data(), whole_words, whole, sc, telemetry.data()); });
    }
    for (int t = 0; t < tensors; t++)
        for (int k = 0; k < slots; k++)
        {
            const auto& b = buffers[t * slots + k];
            if (!b.empty()) spill(dir + "/out_" + std::to_string(t) + "_" + std::to_string(k) + ".bin", b.data(), b.size());
        }
    spill(dir + "/telemetry.bin", telemetry.data(), telemetry.size() * sizeof(unsigned));
    return 0;
}
