/* tinytorch's WebAssembly SIMD128 kernels: float32 matrix products on numpy's own buffers.
 *
 * Built by build.py (beside this file) into tinytorch/wasm/kernels.wasm. The module
 * imports Pyodide's WebAssembly.Memory as env.memory, so every pointer here is the address of
 * a numpy array's data in Pyodide's heap: no copies in or out. It owns no memory of its own:
 * no data segments, no stack (build.py checks that the .wasm has no global and no data
 * section), so it can never write anywhere but into the output array it is given.
 *
 * All sizes and strides are counted in floats. Two products, batched over up to two leading
 * dims (b1, b2) with one stride per operand per dim (0 = broadcast):
 *
 *   gemm_nn:  C[m, n] = sum_k A[m*sam + k*sak] * B[k*ldb + n]      B's rows are contiguous
 *   gemm_nt:  C[m, n] = sum_k A[m*lda + k]     * B[n*ldb + k]      dot products of two rows
 *
 * C is always contiguous (row stride N) and overwritten. gemm_nn keeps a 4 x 8 block of C in
 * eight f32x4 registers while k runs (4 broadcast values of A times 2 vectors of B); gemm_nt
 * keeps 2 x 4 dot products of 4 lanes each and adds the lanes at the end.
 */
#include <wasm_simd128.h>

#define EXPORT(name) __attribute__((export_name(name)))

typedef v128_t vf;

static inline vf ld(const float *p) { return wasm_v128_load(p); }
static inline void st(float *p, vf v) { wasm_v128_store(p, v); }
static inline vf splat(float x) { return wasm_f32x4_splat(x); }
static inline vf madd(vf acc, vf a, vf b) { return wasm_f32x4_add(acc, wasm_f32x4_mul(a, b)); }

/* ------------------------------------------------------------------ C = A B (B rows contiguous) */

/* One block of C: R rows (1..4) x V vectors of 4 columns (1 or 2), kept in registers while k
 * runs. 4 x 2 is the fastest shape measured in V8 (about 2 multiply-adds per cycle on x86-64:
 * larger blocks run out of the 16 vector registers). R and V are constants at every call site,
 * so the loops unroll and the accumulators become registers. */
static inline __attribute__((always_inline)) void nn_block(float *c, int ldc, const float *a, const float *b, int K,
                                                           int sam, int sak, int ldb, const int R, const int V) {
  vf s[4][2];
  for (int i = 0; i < R; i++)
    for (int j = 0; j < V; j++) s[i][j] = splat(0);
  for (int k = 0; k < K; k++, a += sak, b += ldb) {
    vf y[2];
    for (int j = 0; j < V; j++) y[j] = ld(b + 4 * j);
    for (int i = 0; i < R; i++) {
      vf x = wasm_v128_load32_splat(a + i * sam);
      for (int j = 0; j < V; j++) s[i][j] = madd(s[i][j], x, y[j]);
    }
  }
  for (int i = 0; i < R; i++)
    for (int j = 0; j < V; j++) st(c + i * ldc + 4 * j, s[i][j]);
}

/* The last N % 4 columns of R rows, one number at a time. */
static void nn_columns(float *c, int ldc, const float *a, const float *b, int K, int sam, int sak, int ldb, int R,
                       int n0, int N) {
  for (int i = 0; i < R; i++)
    for (int n = n0; n < N; n++) {
      float t = 0;
      for (int k = 0; k < K; k++) t += a[i * sam + k * sak] * b[k * ldb + n];
      c[i * ldc + n] = t;
    }
}

/* A column strip of C, 4V wide, all M rows: the strip of B it reads (K x 4V floats) stays in
 * the L1 cache while A's rows stream past. Going row block by row block instead re-read all of
 * B from memory for every 4 rows: 4x slower on the weight-gradient shapes (K = B*T = 768). */
static void nn_strip(float *c, int N, const float *a, const float *b, int M, int K, int sam, int sak, int ldb,
                     const int V) {
  int m = 0;
  for (; m + 4 <= M; m += 4) nn_block(c + m * N, N, a + m * sam, b, K, sam, sak, ldb, 4, V);
  for (; m < M; m++) nn_block(c + m * N, N, a + m * sam, b, K, sam, sak, ldb, 1, V);
}

static void nn_2d(float *c, const float *a, const float *b, int M, int N, int K, int sam, int sak, int ldb) {
  int n = 0;
  for (; n + 8 <= N; n += 8) nn_strip(c + n, N, a, b + n, M, K, sam, sak, ldb, 2);
  for (; n + 4 <= N; n += 4) nn_strip(c + n, N, a, b + n, M, K, sam, sak, ldb, 1);
  nn_columns(c, N, a, b, K, sam, sak, ldb, M, n, N);
}

EXPORT("gemm_nn")
void gemm_nn(float *c, const float *a, const float *b, int M, int N, int K, int sam, int sak, int ldb,
             int nb1, int nb2, int sa1, int sa2, int sb1, int sb2) {
  for (int i = 0; i < nb1; i++)
    for (int j = 0; j < nb2; j++)
      nn_2d(c + (i * nb2 + j) * M * N, a + i * sa1 + j * sa2, b + i * sb1 + j * sb2, M, N, K, sam, sak, ldb);
}
