/* tinytorch's WebAssembly SIMD128 kernels: float32 matrix products on numpy's own buffers.
 *
 * Built by build.py (beside this file) into tinytorch/wasm/kernels.wasm. The module
 * imports Pyodide's WebAssembly.Memory as env.memory, so every pointer here is the address of
 * a numpy array's data in Pyodide's heap: no copies in or out. It owns no memory of its own:
 * no data segments, no stack (build.py checks that the .wasm has no global and no data
 * section), so it can never write anywhere but into the output array it is given.
 *
 * All sizes and strides are counted in floats.
 *
 *   gemm_nn  C[m, n] = sum_k A[m*sam + k*sak] * B[k*ldb + n], batched over up to two leading
 *            dims (one stride per operand per dim, 0 = broadcast); B's rows contiguous, C
 *            contiguous and overwritten. A 4 x 8 block of C lives in eight f32x4 registers
 *            while k runs (4 broadcast numbers of A times 2 vectors of B).
 *   attention_forward / attention_backward  causal multi-head attention's core for qkv (B, T, 3C),
 *            head by head, reading q, k, v and dy where they lie; each product skips the half the
 *            causal mask makes zero (nn_causal).
 *   gelu_forward / gelu_backward, softmax_causal / softmax_backward, layernorm_forward /
 *   layernorm_backward, adam_step, column_sums: one op's whole forward or backward in one pass,
 *   the formulas of the numpy code they replace (named beside each).
 *
 * Only WebAssembly SIMD128 (no relaxed SIMD: Safari has none), so every engine with SIMD runs it.
 */
#include <wasm_simd128.h>

#define EXPORT(name) __attribute__((export_name(name)))

typedef v128_t vf;

/* R and V below are constants: full unrolling turns the block's accumulators into registers
 * (an array indexed at run time would live on the C stack, which this module must not use). */
#define UNROLL _Pragma("clang loop unroll(full)")

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
                                                           int sam, int sak, int ldb, const int R, const int V,
                                                           int add) {
  vf s[4][2];
  UNROLL for (int i = 0; i < R; i++)
    UNROLL for (int j = 0; j < V; j++) s[i][j] = splat(0);
  for (int k = 0; k < K; k++, a += sak, b += ldb) {
    vf y[2];
    UNROLL for (int j = 0; j < V; j++) y[j] = ld(b + 4 * j);
    UNROLL for (int i = 0; i < R; i++) {
      vf x = wasm_v128_load32_splat(a + i * sam);
      UNROLL for (int j = 0; j < V; j++) s[i][j] = madd(s[i][j], x, y[j]);
    }
  }
  if (add)
    UNROLL for (int i = 0; i < R; i++)
      UNROLL for (int j = 0; j < V; j++) st(c + i * ldc + 4 * j, wasm_f32x4_add(ld(c + i * ldc + 4 * j), s[i][j]));
  else
    UNROLL for (int i = 0; i < R; i++)
      UNROLL for (int j = 0; j < V; j++) st(c + i * ldc + 4 * j, s[i][j]);
}

/* The last N % 4 columns of R rows, one number at a time. */
static void nn_columns(float *c, int ldc, const float *a, const float *b, int K, int sam, int sak, int ldb, int R,
                       int n0, int N, int add) {
  for (int i = 0; i < R; i++)
    for (int n = n0; n < N; n++) {
      float t = add ? c[i * ldc + n] : 0;
      for (int k = 0; k < K; k++) t += a[i * sam + k * sak] * b[k * ldb + n];
      c[i * ldc + n] = t;
    }
}

/* A column strip of C, 4V wide, all M rows: the strip of B it reads (KB x 4V floats) stays in
 * the L1 cache while A's rows stream past. Going row block by row block instead re-read all of
 * B from memory for every 4 rows: 4x slower on the weight-gradient shapes (K = B*T = 768). */
static inline __attribute__((always_inline)) void nn_strip(float *c, int N, const float *a, const float *b, int M,
                                                           int K, int sam, int sak, int ldb, const int V, int add) {
  int m = 0;
  for (; m + 4 <= M; m += 4) nn_block(c + m * N, N, a + m * sam, b, K, sam, sak, ldb, 4, V, add);
  for (; m < M; m++) nn_block(c + m * N, N, a + m * sam, b, K, sam, sak, ldb, 1, V, add);
}

/* k runs in chunks of KB, adding each chunk's product into C, and M in blocks of MB rows: the
 * block of A (MB x KB, 32 kB) that every strip reads again then stays in the L1/L2 cache. Without
 * the row blocks (A's whole chunk, up to 768 x 256, streamed once per strip) the step's products
 * measured 1.06x slower in V8 (weight gradients sum over K = B*T = 768 rows; MB 32-64 and KB
 * 128-256 were all alike). */
#define KB 256
#define MB 32

static void nn_2d(float *c, const float *a, const float *b, int M, int N, int K, int sam, int sak, int ldb) {
  for (int k0 = 0; k0 < K; k0 += KB) {
    int kn = K - k0 < KB ? K - k0 : KB, add = k0 > 0;
    for (int m0 = 0; m0 < M; m0 += MB) {
      int mn = M - m0 < MB ? M - m0 : MB;
      float *cm = c + m0 * N;
      const float *ak = a + m0 * sam + k0 * sak, *bk = b + k0 * ldb;
      int n = 0;
      for (; n + 8 <= N; n += 8) nn_strip(cm + n, N, ak, bk + n, mn, kn, sam, sak, ldb, 2, add);
      for (; n + 4 <= N; n += 4) nn_strip(cm + n, N, ak, bk + n, mn, kn, sam, sak, ldb, 1, add);
      nn_columns(cm, N, ak, bk, kn, sam, sak, ldb, mn, n, N, add);
    }
  }
}

EXPORT("gemm_nn")
void gemm_nn(float *c, const float *a, const float *b, int M, int N, int K, int sam, int sak, int ldb,
             int nb1, int nb2, int sa1, int sa2, int sb1, int sb2) {
  for (int i = 0; i < nb1; i++)
    for (int j = 0; j < nb2; j++)
      nn_2d(c + (i * nb2 + j) * M * N, a + i * sa1 + j * sa2, b + i * sb1 + j * sb2, M, N, K, sam, sak, ldb);
}

/* ------------------------------------------------------------------ elementwise: exp */

/* e^x for 4 lanes, to about 2 float32 ulp: e^x = 2^n e^r with n = round(x / ln 2), |r| <= ln(2)/2,
 * e^r from Cephes' degree-6 polynomial, 2^n built in the exponent bits. x is clamped to
 * [-87.3, 88.3]: e^-87.3 is still a normal float, e^88.3 still finite. */
static inline vf vexp(vf x) {
  x = wasm_f32x4_pmax(wasm_f32x4_pmin(x, splat(88.3f)), splat(-87.3f));
  vf n = wasm_f32x4_nearest(wasm_f32x4_mul(x, splat(1.44269504088896341f)));
  vf r = wasm_f32x4_sub(x, wasm_f32x4_mul(n, splat(0.693359375f)));
  r = wasm_f32x4_sub(r, wasm_f32x4_mul(n, splat(-2.12194440e-4f)));
  vf p = splat(1.9875691500e-4f);
  p = madd(splat(1.3981999507e-3f), p, r);
  p = madd(splat(8.3334519073e-3f), p, r);
  p = madd(splat(4.1665795894e-2f), p, r);
  p = madd(splat(1.6666665459e-1f), p, r);
  p = madd(splat(5.0000001201e-1f), p, r);
  p = madd(wasm_f32x4_add(r, splat(1.0f)), p, wasm_f32x4_mul(r, r));
  v128_t e = wasm_i32x4_shl(wasm_i32x4_add(wasm_i32x4_trunc_sat_f32x4(n), wasm_i32x4_splat(127)), 23);
  return wasm_f32x4_mul(p, e);
}

static inline float hsum(vf v) {
  return (wasm_f32x4_extract_lane(v, 0) + wasm_f32x4_extract_lane(v, 1)) +
         (wasm_f32x4_extract_lane(v, 2) + wasm_f32x4_extract_lane(v, 3));
}

static inline float sexp(float x) { return wasm_f32x4_extract_lane(vexp(splat(x)), 0); }

/* ------------------------------------------------------------------ GELU (tanh form, as sigmoid) */

#define GELU_C 0.7978845608028654f /* sqrt(2 / pi) */

/* s = 1 / (1 + e^(-2 sqrt(2/pi) x (1 + 0.044715 x^2))),  y = x s  (tinytorch.nn.functional.gelu) */
static inline vf gelu_s(vf x) {
  vf cubic = madd(splat(1.0f), splat(0.044715f), wasm_f32x4_mul(x, x));
  vf u = wasm_f32x4_mul(wasm_f32x4_mul(x, splat(-2.0f * GELU_C)), cubic);
  return wasm_f32x4_div(splat(1.0f), wasm_f32x4_add(splat(1.0f), vexp(u)));
}

EXPORT("gelu_forward")
void gelu_forward(const float *x, float *y, float *s, int n) {
  int i = 0;
  for (; i + 4 <= n; i += 4) {
    vf v = ld(x + i), sv = gelu_s(v);
    st(s + i, sv);
    st(y + i, wasm_f32x4_mul(v, sv));
  }
  for (; i < n; i++) {
    float sv = wasm_f32x4_extract_lane(gelu_s(splat(x[i])), 0);
    s[i] = sv;
    y[i] = x[i] * sv;
  }
}

/* dx = g (s + x s (1 - s) 2 sqrt(2/pi) (1 + 3 0.044715 x^2)) */
static inline vf gelu_local(vf x, vf s) {
  vf inner = madd(splat(2.0f * GELU_C), splat(3 * 0.044715f * 2.0f * GELU_C), wasm_f32x4_mul(x, x));
  vf t = wasm_f32x4_mul(wasm_f32x4_mul(x, s), wasm_f32x4_sub(splat(1.0f), s));
  return madd(s, t, inner);
}

EXPORT("gelu_backward")
void gelu_backward(const float *x, const float *s, const float *g, float *dx, int n) {
  int i = 0;
  for (; i + 4 <= n; i += 4) st(dx + i, wasm_f32x4_mul(ld(g + i), gelu_local(ld(x + i), ld(s + i))));
  for (; i < n; i++) dx[i] = g[i] * wasm_f32x4_extract_lane(gelu_local(splat(x[i]), splat(s[i])), 0);
}

/* ------------------------------------------------------------------ causal softmax (attention) */

/* In place on mats (T x T) score matrices: row i becomes softmax(scale * row[0..i]) followed by
 * zeros (keys after the query are hidden). As tinytorch.nn.attention.causal_attention. */
EXPORT("softmax_causal")
void softmax_causal(float *att, int mats, int T, float scale) {
  for (int r = 0; r < mats * T; r++) {
    float *row = att + r * T;
    int n = r % T + 1, n4 = n & ~3;
    vf vm = splat(row[0]);
    for (int j = 0; j < n4; j += 4) vm = wasm_f32x4_pmax(vm, ld(row + j));
    float mx = wasm_f32x4_extract_lane(vm, 0);
    for (int l = 1; l < 4; l++) {
      float e = l == 1   ? wasm_f32x4_extract_lane(vm, 1)
                : l == 2 ? wasm_f32x4_extract_lane(vm, 2)
                         : wasm_f32x4_extract_lane(vm, 3);
      mx = e > mx ? e : mx;
    }
    for (int j = n4; j < n; j++) mx = row[j] > mx ? row[j] : mx;
    vf shift = splat(scale * mx), vscale = splat(scale), vs = splat(0);
    for (int j = 0; j < n4; j += 4) {
      vf e = vexp(wasm_f32x4_sub(wasm_f32x4_mul(ld(row + j), vscale), shift));
      st(row + j, e);
      vs = wasm_f32x4_add(vs, e);
    }
    float sum = (wasm_f32x4_extract_lane(vs, 0) + wasm_f32x4_extract_lane(vs, 1)) +
                (wasm_f32x4_extract_lane(vs, 2) + wasm_f32x4_extract_lane(vs, 3));
    for (int j = n4; j < n; j++) {
      row[j] = sexp(row[j] * scale - scale * mx);
      sum += row[j];
    }
    vf inv = splat(1.0f / sum);
    for (int j = 0; j < n4; j += 4) st(row + j, wasm_f32x4_mul(ld(row + j), inv));
    for (int j = n4; j < n; j++) row[j] *= 1.0f / sum;
    for (int j = n; j < T; j++) row[j] = 0.0f;
  }
}

/* In place: dP (rows x T) becomes dS = scale * P * (dP - sum_j dP P), the softmax backward. */
EXPORT("softmax_backward")
void softmax_backward(float *dp, const float *p, int rows, int T, float scale) {
  int T4 = T & ~3;
  for (int r = 0; r < rows; r++) {
    float *d = dp + r * T;
    const float *q = p + r * T;
    vf vs = splat(0);
    for (int j = 0; j < T4; j += 4) vs = madd(vs, ld(d + j), ld(q + j));
    float s = (wasm_f32x4_extract_lane(vs, 0) + wasm_f32x4_extract_lane(vs, 1)) +
              (wasm_f32x4_extract_lane(vs, 2) + wasm_f32x4_extract_lane(vs, 3));
    for (int j = T4; j < T; j++) s += d[j] * q[j];
    vf sv = splat(s), sc = splat(scale);
    for (int j = 0; j < T4; j += 4)
      st(d + j, wasm_f32x4_mul(wasm_f32x4_mul(ld(q + j), wasm_f32x4_sub(ld(d + j), sv)), sc));
    for (int j = T4; j < T; j++) d[j] = q[j] * (d[j] - s) * scale;
  }
}

/* ------------------------------------------------------------------ causal attention, head by head */

/* Attention's products in causal form. A query never looks at a later key, so P = softmax(S) and
 * its gradient dS are zero above the diagonal, and half of every product is known before it is
 * computed. nn_causal computes C (M x N, rows ldc apart) = A B as nn_block does, for each block
 * of rows m..m+R-1 in one of these modes:
 *   BELOW   only the column strips that reach the lower triangle (n <= m + R - 1): S = q k^T and
 *           dP = dy v^T, whose entries right of the diagonal are never read
 *   K_UPTO  k < m + R: A lower triangular (P v, dS k); A's zeros right of the diagonal cover the rest
 *   K_FROM  k >= m: A the transpose of a lower-triangular matrix (P^T dy, dS^T q) */
enum { BELOW = 1, K_UPTO = 2, K_FROM = 3 };

/* For rows m..m+R-1 under `mode`: whether column n is skipped, and the k range [k_from, k_upto). */
static inline int causal_skips(int mode, int m, int R, int n) { return mode == BELOW && n > m + R - 1; }
static inline int k_from(int mode, int m) { return mode == K_FROM ? m : 0; }
static inline int k_upto(int mode, int m, int R, int K) { return mode == K_UPTO && m + R < K ? m + R : K; }

static inline __attribute__((always_inline)) void causal_block(float *c, int ldc, const float *a, int sam, int sak,
                                                               const float *b, int ldb, int m, int n, int K, int mode,
                                                               const int R, const int V) {
  if (causal_skips(mode, m, R, n)) return;
  int k0 = k_from(mode, m), k1 = k_upto(mode, m, R, K);
  if (k1 < k0) k1 = k0;
  nn_block(c + m * ldc + n, ldc, a + m * sam + k0 * sak, b + k0 * ldb + n, k1 - k0, sam, sak, ldb, R, V, 0);
}

static inline __attribute__((always_inline)) void causal_strip(float *c, int ldc, const float *a, int sam, int sak,
                                                               const float *b, int ldb, int M, int K, int mode, int n,
                                                               const int V) {
  int m = 0;
  for (; m + 4 <= M; m += 4) causal_block(c, ldc, a, sam, sak, b, ldb, m, n, K, mode, 4, V);
  for (; m < M; m++) causal_block(c, ldc, a, sam, sak, b, ldb, m, n, K, mode, 1, V);
}

static void nn_causal(float *c, int ldc, const float *a, int sam, int sak, const float *b, int ldb, int M, int N,
                      int K, int mode) {
  int n = 0;
  for (; n + 8 <= N; n += 8) causal_strip(c, ldc, a, sam, sak, b, ldb, M, K, mode, n, 2);
  for (; n + 4 <= N; n += 4) causal_strip(c, ldc, a, sam, sak, b, ldb, M, K, mode, n, 1);
  for (; n < N; n++)  /* the last N % 4 columns, one number at a time */
    for (int i = 0; i < M; i++) {
      if (causal_skips(mode, i, 1, n)) continue;
      int k0 = k_from(mode, i), k1 = k_upto(mode, i, 1, K);
      float t = 0;
      for (int k = k0; k < k1; k++) t += a[i * sam + k * sak] * b[k * ldb + n];
      c[i * ldc + n] = t;
    }
}

/* out (d x T, contiguous) = x^T for x (T x d, rows `stride` apart): the B operand of S = q k^T and dP = dy v^T */
static void transpose(float *out, const float *x, int T, int d, int stride) {
  for (int t = 0; t < T; t++)
    for (int j = 0; j < d; j++) out[j * T + t] = x[t * stride + j];
}

/* qkv (B, T, 3C) as tinytorch.nn.attention.causal_attention takes it (q, k, v side by side, head
 * h in columns h*d..h*d+d-1 of each): y (B, T, C) gets every head's P v in its columns, att
 * (B, H, T, T) the weights P (zeros right of the diagonal). kt: d*T floats of scratch. */
EXPORT("attention_forward")
void attention_forward(const float *qkv, float *y, float *att, float *kt, int B, int T, int H, int d, float scale) {
  int C = H * d, ldq = 3 * C;  /* qkv's row length */
  for (int b = 0; b < B; b++)
    for (int h = 0; h < H; h++) {
      const float *q = qkv + b * T * ldq + h * d, *k = q + C, *v = q + 2 * C;
      float *p = att + (b * H + h) * T * T;
      transpose(kt, k, T, d, ldq);
      nn_causal(p, T, q, ldq, 1, kt, T, T, T, d, BELOW);
      softmax_causal(p, 1, T, scale);
      nn_causal(y + b * T * C + h * d, C, p, T, 1, v, ldq, T, d, T, K_UPTO);
    }
}

/* Row by row on the lower triangle only (dP right of the diagonal was never computed):
 * dS = scale * P * (dP - sum_j dP P), then zeros right of the diagonal. */
static void softmax_backward_causal(float *dp, const float *p, int T, float scale) {
  for (int i = 0; i < T; i++) {
    float *d = dp + i * T;
    const float *q = p + i * T;
    int n = i + 1, n4 = n & ~3;
    vf vs = splat(0);
    for (int j = 0; j < n4; j += 4) vs = madd(vs, ld(d + j), ld(q + j));
    float s = hsum(vs);
    for (int j = n4; j < n; j++) s += d[j] * q[j];
    vf sv = splat(s), sc = splat(scale);
    for (int j = 0; j < n4; j += 4)
      st(d + j, wasm_f32x4_mul(wasm_f32x4_mul(ld(q + j), wasm_f32x4_sub(ld(d + j), sv)), sc));
    for (int j = n4; j < n; j++) d[j] = q[j] * (d[j] - s) * scale;
    for (int j = n; j < T; j++) d[j] = 0.0f;
  }
}

/* The backward of attention_forward for dy (B, T, C): dqkv (B, T, 3C) gets dq, dk, dv in qkv's
 * layout (every number written). With dS from softmax_backward_causal (scale included):
 *   dP = dy v^T,  dv = P^T dy,  dq = dS k,  dk = dS^T q.   vt: d*T floats, dp: T*T floats of scratch. */
EXPORT("attention_backward")
void attention_backward(const float *qkv, const float *att, const float *dy, float *dqkv, float *vt, float *dp, int B,
                        int T, int H, int d, float scale) {
  int C = H * d, ldq = 3 * C;  /* qkv's row length */
  for (int b = 0; b < B; b++)
    for (int h = 0; h < H; h++) {
      const float *q = qkv + b * T * ldq + h * d, *k = q + C, *v = q + 2 * C;
      const float *p = att + (b * H + h) * T * T, *g = dy + b * T * C + h * d;
      float *dq = dqkv + b * T * ldq + h * d, *dk = dq + C, *dv = dq + 2 * C;
      transpose(vt, v, T, d, ldq);
      nn_causal(dp, T, g, C, 1, vt, T, T, T, d, BELOW);
      nn_causal(dv, ldq, p, 1, T, g, C, T, d, T, K_FROM);
      softmax_backward_causal(dp, p, T, scale);
      nn_causal(dq, ldq, dp, T, 1, k, ldq, T, d, T, K_UPTO);
      nn_causal(dk, ldq, dp, 1, T, q, ldq, T, d, T, K_FROM);
    }
}

/* ------------------------------------------------------------------ AdamW */

/* One Adam(W) step on n numbers, as tinytorch.optim.Adam._update:
 *   p *= decay (AdamW: 1 - lr wd);  g += l2 p (Adam's coupled decay);
 *   m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g^2;  p -= step m / (sqrt(v / bc2) + eps)
 * with step = lr / (1 - b1^t) and bc2 = 1 - b2^t. */
EXPORT("adam_step")
void adam_step(float *p, const float *g, float *m, float *v, int n, float step, float b1, float b2, float bc2,
               float eps, float decay, float l2) {
  vf vb1 = splat(b1), vb2 = splat(b2), c1 = splat(1.0f - b1), c2 = splat(1.0f - b2), vbc2 = splat(bc2);
  vf vstep = splat(step), veps = splat(eps), vdecay = splat(decay), vl2 = splat(l2);
  int i = 0;
  for (; i + 4 <= n; i += 4) {
    vf pv = wasm_f32x4_mul(ld(p + i), vdecay);
    vf gv = madd(ld(g + i), vl2, pv);
    vf mv = madd(wasm_f32x4_mul(ld(m + i), vb1), c1, gv);
    vf vv = madd(wasm_f32x4_mul(ld(v + i), vb2), c2, wasm_f32x4_mul(gv, gv));
    st(m + i, mv);
    st(v + i, vv);
    vf denom = wasm_f32x4_add(wasm_f32x4_sqrt(wasm_f32x4_div(vv, vbc2)), veps);
    st(p + i, wasm_f32x4_sub(pv, wasm_f32x4_div(wasm_f32x4_mul(vstep, mv), denom)));
  }
  for (; i < n; i++) {
    float pv = p[i] * decay, gv = g[i] + l2 * pv;
    m[i] = b1 * m[i] + (1.0f - b1) * gv;
    v[i] = b2 * v[i] + (1.0f - b2) * (gv * gv);
    float denom = wasm_f32x4_extract_lane(wasm_f32x4_sqrt(splat(v[i] / bc2)), 0) + eps;
    p[i] = pv - step * m[i] / denom;
  }
}

/* ------------------------------------------------------------------ LayerNorm */

/* rows x C: xhat = (x - mean) rstd with rstd = 1 / sqrt(var + eps), y = xhat w + b. */
EXPORT("layernorm_forward")
void layernorm_forward(const float *x, const float *w, const float *b, float *y, float *xhat, float *rstd, int rows,
                       int C, float eps) {
  int C4 = C & ~3;
  for (int r = 0; r < rows; r++) {
    const float *xr = x + r * C;
    float *hr = xhat + r * C, *yr = y + r * C;
    vf acc = splat(0);
    for (int j = 0; j < C4; j += 4) acc = wasm_f32x4_add(acc, ld(xr + j));
    float mean = hsum(acc);
    for (int j = C4; j < C; j++) mean += xr[j];
    mean /= (float)C;
    vf vmean = splat(mean);
    acc = splat(0);
    for (int j = 0; j < C4; j += 4) {
      vf d = wasm_f32x4_sub(ld(xr + j), vmean);
      st(hr + j, d);
      acc = madd(acc, d, d);
    }
    float var = hsum(acc);
    for (int j = C4; j < C; j++) {
      hr[j] = xr[j] - mean;
      var += hr[j] * hr[j];
    }
    float rs = 1.0f / wasm_f32x4_extract_lane(wasm_f32x4_sqrt(splat(var / (float)C + eps)), 0);
    rstd[r] = rs;
    vf vr = splat(rs);
    for (int j = 0; j < C4; j += 4) {
      vf h = wasm_f32x4_mul(ld(hr + j), vr);
      st(hr + j, h);
      st(yr + j, madd(ld(b + j), h, ld(w + j)));
    }
    for (int j = C4; j < C; j++) {
      hr[j] *= rs;
      yr[j] = hr[j] * w[j] + b[j];
    }
  }
}

/* Backward of layernorm_forward for g = dy (rows x C); dw and db are added to (zero them first):
 *   gw = g w;  dx = (gw - mean(gw) - xhat mean(gw xhat)) rstd;  dw += g xhat;  db += g */
EXPORT("layernorm_backward")
void layernorm_backward(const float *g, const float *w, const float *xhat, const float *rstd, float *dx, float *dw,
                        float *db, int rows, int C) {
  int C4 = C & ~3;
  for (int r = 0; r < rows; r++) {
    const float *gr = g + r * C, *hr = xhat + r * C;
    float *dr = dx + r * C;
    vf s1 = splat(0), s2 = splat(0);
    for (int j = 0; j < C4; j += 4) {
      vf gv = ld(gr + j), hv = ld(hr + j), gw = wasm_f32x4_mul(gv, ld(w + j));
      st(dr + j, gw);
      s1 = wasm_f32x4_add(s1, gw);
      s2 = madd(s2, gw, hv);
      st(dw + j, madd(ld(dw + j), gv, hv));
      st(db + j, wasm_f32x4_add(ld(db + j), gv));
    }
    float m1 = hsum(s1), m2 = hsum(s2);
    for (int j = C4; j < C; j++) {
      float gw = gr[j] * w[j];
      dr[j] = gw;
      m1 += gw;
      m2 += gw * hr[j];
      dw[j] += gr[j] * hr[j];
      db[j] += gr[j];
    }
    m1 /= (float)C;
    m2 /= (float)C;
    vf vm1 = splat(m1), vm2 = splat(m2), vr = splat(rstd[r]);
    for (int j = 0; j < C4; j += 4)
      st(dr + j, wasm_f32x4_mul(wasm_f32x4_sub(wasm_f32x4_sub(ld(dr + j), vm1), wasm_f32x4_mul(ld(hr + j), vm2)), vr));
    for (int j = C4; j < C; j++) dr[j] = (dr[j] - m1 - hr[j] * m2) * rstd[r];
  }
}

/* ------------------------------------------------------------------ column sums (bias gradients) */

/* out[j] = sum over rows of x[r, j] (x rows x C, contiguous) */
EXPORT("column_sums")
void column_sums(const float *x, float *out, int rows, int C) {
  int C4 = C & ~3;
  for (int j = 0; j < C; j++) out[j] = 0.0f;
  for (int r = 0; r < rows; r++) {
    const float *xr = x + r * C;
    for (int j = 0; j < C4; j += 4) st(out + j, wasm_f32x4_add(ld(out + j), ld(xr + j)));
    for (int j = C4; j < C; j++) out[j] += xr[j];
  }
}
