// mlp.cu: the forward and backward passes of a small multilayer perceptron (Training/Mlp.cs sequences them):
// a tiled matrix product with a bias, tanh or tanh-derivative epilogue, softmax cross-entropy per row, and
// column sums (bias gradients, the batch loss). Float32 throughout, row-major, one-dimensional launches.
//
// The CPU twin, src/S3gd.Gpu/Cpu/CpuMlp.cs, does the same float32 operations in the same order: every matmul sum runs
// over k ascending from 0 (a*b rounded, then added: compiled with --fmad=false) and every column sum uses the same
// 256-way split and tree, so the two agree bit for bit except where tanhf, expf and logf differ from .NET's MathF
// (a few ulps each).

#define TILE 16                 // output tile edge of matmul: TILE x TILE outputs per block
#define THREADS 256             // threads per block: TILE * TILE in matmul, one per row or partial sum elsewhere

// c[i, j] = epilogue(sum over k of a[i*a_row + k*a_inner] * b[k*b_inner + j*b_col]), c packed [m x n].
// Epilogue, in this order: + bias[j] (bias non-null), tanhf (apply_tanh != 0), * (1 - d*d) with d = tanh_out[i, j]
// (tanh_out non-null: the derivative of tanh through the activation it produced). Block x covers the output tile
// (x / tiles_n, x % tiles_n); thread t computes output (t / TILE, t % TILE) of it.
extern "C" __global__ void __launch_bounds__(THREADS) matmul(
    const float* __restrict__ a, int a_row, int a_inner,
    const float* __restrict__ b, int b_inner, int b_col,
    float* __restrict__ c, int m, int n, int k,
    const float* __restrict__ bias, int apply_tanh, const float* __restrict__ tanh_out)
{
    __shared__ float a_tile[TILE][TILE + 1];   // +1: no bank conflicts on the column reads
    __shared__ float b_tile[TILE][TILE + 1];
    const int tiles_n = (n + TILE - 1) / TILE;
    const int tx = (int)threadIdx.x % TILE, ty = (int)threadIdx.x / TILE;
    const int row = (int)blockIdx.x / tiles_n * TILE + ty;
    const int col = (int)blockIdx.x % tiles_n * TILE + tx;
    // Each thread loads A's (row, k0 + tx) and B's (k0 + ty, col) into the tiles.
    float acc = 0.0f;
    for (int k0 = 0; k0 < k; k0 += TILE)
    {
        const int ka = k0 + tx, kb = k0 + ty;
        a_tile[ty][tx] = row < m && ka < k ? a[(long long)row * a_row + (long long)ka * a_inner] : 0.0f;
        b_tile[ty][tx] = kb < k && col < n ? b[(long long)kb * b_inner + (long long)col * b_col] : 0.0f;
        __syncthreads();
        // Past k the tiles hold zeros: acc + 0*0 is acc, so the sum is exactly the k-term sum.
        for (int j = 0; j < TILE; j++) acc = acc + a_tile[ty][j] * b_tile[j][tx];
        __syncthreads();
    }
    if (row >= m || col >= n) return;
    float v = acc;
    if (bias) v = v + bias[col];
    if (apply_tanh) v = tanhf(v);
    if (tanh_out)
    {
        const float d = tanh_out[(long long)row * n + col];
        v = v * (1.0f - d * d);
    }
    c[(long long)row * n + col] = v;
}

// Softmax cross-entropy of each row of logits [rows x classes] against its label (a whole float32 in [0, classes);
// anything else gives NaN): stats[2r] = the row's loss, logsumexp - logit[label]; stats[2r+1] = 1 when the first
// largest logit is the label's, else 0. With dlogits non-null, dlogits[r, j] = (softmax_j - [j == label]) * scale.
extern "C" __global__ void __launch_bounds__(THREADS) softmax_xent(
    const float* __restrict__ logits, const float* __restrict__ labels, float* __restrict__ dlogits,
    float* __restrict__ stats, int rows, int classes, float scale)
{
    const int r = (int)blockIdx.x * THREADS + (int)threadIdx.x;
    if (r >= rows) return;
    const float* z = logits + (long long)r * classes;
    float mx = z[0];
    int arg = 0;
    for (int j = 1; j < classes; j++)
        if (z[j] > mx) { mx = z[j]; arg = j; }
    float sum = 0.0f;
    for (int j = 0; j < classes; j++) sum = sum + expf(z[j] - mx);
    const float lf = labels[r];
    const bool valid = lf >= 0.0f && lf < (float)classes && floorf(lf) == lf;
    const int label = valid ? (int)lf : 0;
    const float nan = __uint_as_float(0x7FC00000u);   // the float32 quiet NaN
    stats[2 * r] = valid ? logf(sum) + mx - z[label] : nan;
    stats[2 * r + 1] = valid && arg == label ? 1.0f : 0.0f;
    if (!dlogits) return;
    for (int j = 0; j < classes; j++)
    {
        const float p = expf(z[j] - mx) / sum;
        dlogits[(long long)r * classes + j] = valid ? (p - (j == label ? 1.0f : 0.0f)) * scale : nan;
    }
}

// out[j] = the sum of column j of x [rows x cols]; block j sums column j: thread t adds rows t, t + THREADS, ...
// in order, then the THREADS partial sums are added pairwise in a tree (t += t + s for s = THREADS/2, ..., 1).
extern "C" __global__ void __launch_bounds__(THREADS) column_sum(
    const float* __restrict__ x, float* __restrict__ out, int rows, int cols)
{
    __shared__ float partial[THREADS];
    const int j = (int)blockIdx.x, t = (int)threadIdx.x;
    float acc = 0.0f;
    for (int r = t; r < rows; r += THREADS) acc = acc + x[(long long)r * cols + j];
    partial[t] = acc;
    __syncthreads();
    for (int s = THREADS / 2; s > 0; s >>= 1)
    {
        if (t < s) partial[t] = partial[t] + partial[t + s];
        __syncthreads();
    }
    if (t == 0) out[j] = partial[0];
}
