// Runs mlp.cu's kernels (compiled for the host with shim.h; no PTX to emulate) over a case folder that
// MlpEmulationTests writes: buf_<id>.bin (float32 buffers) and ops.txt, one launch a line:
//   matmul A AOFFSET AROW AINNER B BOFFSET BINNER BCOL C M N K BIAS TANH TANHOUT   (buffer ids; -1: none)
//   softmax LOGITS LABELS LABELOFFSET DLOGITS STATS ROWS CLASSES SCALEBITS          (SCALEBITS: the float's bits)
//   colsum X OUT ROWS COLS
// Blocks run one after another, the threads of a block at once (std::thread); __shared__ arrays are statics and
// __syncthreads a barrier of the block's threads. Writes out_<id>.bin for every buffer.
#include "shim.h"
#include <math.h>
#include <barrier>
#include <fstream>
#include <functional>
#include <map>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#define __shared__ static
static std::barrier<>* block_barrier;
inline void __syncthreads() { block_barrier->arrive_and_wait(); }

#include "mlp_kernel.cpp"

thread_local Dim threadIdx;
Dim blockIdx;
std::barrier<>* warp_barrier[8];
float warp_slots[256];

static std::vector<float> slurp(const std::string& path)
{
    std::ifstream in(path, std::ios::binary | std::ios::ate);
    std::vector<float> v((size_t)in.tellg() / sizeof(float));
    in.seekg(0);
    in.read((char*)v.data(), (std::streamsize)(v.size() * sizeof(float)));
    return v;
}

// One launch: blocks in turn, THREADS threads each.
static void launch(long long blocks, const std::function<void()>& kernel)
{
    std::barrier<> barrier(THREADS);
    block_barrier = &barrier;
    for (long long b = 0; b < blocks; b++)
    {
        blockIdx.x = (unsigned)b;
        std::vector<std::thread> threads;
        for (unsigned i = 0; i < THREADS; i++)
            threads.emplace_back([&, i] { threadIdx.x = i; kernel(); });
        for (auto& th : threads) th.join();
    }
}

int main(int argc, char** argv)
{
    if (argc != 2) return 2;
    const std::string dir = argv[1];
    std::map<int, std::vector<float>> buffers;
    auto buffer = [&](int id) -> float* {
        if (id < 0) return nullptr;
        auto it = buffers.find(id);
        if (it == buffers.end()) it = buffers.emplace(id, slurp(dir + "/buf_" + std::to_string(id) + ".bin")).first;
        return it->second.data();
    };
    std::ifstream ops(dir + "/ops.txt");
    std::string line;
    while (std::getline(ops, line))
    {
        std::istringstream in(line);
        std::string op;
        in >> op;
        if (op == "matmul")
        {
            int a, b, c, bias, tanh_out, a_row, a_inner, b_inner, b_col, m, n, k, apply_tanh;
            long long a_off, b_off;
            in >> a >> a_off >> a_row >> a_inner >> b >> b_off >> b_inner >> b_col >> c >> m >> n >> k >> bias >> apply_tanh >> tanh_out;
            const float *pa = buffer(a) + a_off, *pb = buffer(b) + b_off, *pbias = buffer(bias), *pt = buffer(tanh_out);
            float* pc = buffer(c);
            const long long blocks = (long long)((m + TILE - 1) / TILE) * ((n + TILE - 1) / TILE);
            launch(blocks, [&] { matmul(pa, a_row, a_inner, pb, b_inner, b_col, pc, m, n, k, pbias, apply_tanh, pt); });
        }
        else if (op == "softmax")
        {
            int logits, labels, dlogits, stats, rows, classes;
            long long label_off;
            unsigned scale_bits;
            in >> logits >> labels >> label_off >> dlogits >> stats >> rows >> classes >> scale_bits;
            const float *pz = buffer(logits), *py = buffer(labels) + label_off;
            float *pd = buffer(dlogits), *ps = buffer(stats);
            const float scale = __uint_as_float(scale_bits);
            launch((rows + THREADS - 1) / THREADS, [&] { softmax_xent(pz, py, pd, ps, rows, classes, scale); });
        }
        else if (op == "colsum")
        {
            int x, out, rows, cols;
            in >> x >> out >> rows >> cols;
            const float* px = buffer(x);
            float* po = buffer(out);
            launch(cols, [&] { column_sum(px, po, rows, cols); });
        }
        else if (!op.empty()) return 3;
    }
    for (auto& [id, v] : buffers)
    {
        std::ofstream out(dir + "/out_" + std::to_string(id) + ".bin", std::ios::binary);
        out.write((const char*)v.data(), (std::streamsize)(v.size() * sizeof(float)));
    }
    return 0;
}
