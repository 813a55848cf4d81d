// One decoding step of attention: each row's single query against that row's cached keys,
// reading only the keys its mask lets it see (from its first visible one, where a sliding
// window starts, to its last), never the padding up to the batch's longest row. Keys and
// values are read once per key-value head, for all the query heads that share it. Online
// softmax over blocks of keys. A softcap above 0 bounds each score as Gemma 2 does,
// tanh(score / softcap) * softcap, before the softmax. Queries and output are in the
// model's dtype; keys and values in the cache's, which may be narrower (bfloat16 beside a
// float32 model: half the bytes to read, and the step is bound by reading them).
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "kernel_math.h"

#define BLOCK 32

static inline float load_f32(const void *p, int64_t i) { return ((const float *)p)[i]; }
static inline float load_bf16(const void *p, int64_t i) {
    return bf16_to_f32(((const uint16_t *)p)[i]);
}
static inline void store_f32(void *p, int64_t i, float x) { ((float *)p)[i] = x; }
static inline void store_bf16(void *p, int64_t i, float x) {
    ((uint16_t *)p)[i] = f32_to_bf16(x);
}

// The keys a row's mask lets it see lie in [begin, end): from its first visible key (where a
// sliding window starts) to its last.
static inline void visible_range(const uint8_t *m, int64_t keys, int64_t *begin, int64_t *end) {
    int64_t e = keys;
    while (e > 0 && !m[e - 1]) e--;
    int64_t b = 0;
    while (b < e && !m[b]) b++;
    *begin = b;
    *end = e;
}

#define DEFINE_KERNEL(NAME, LOAD, STORE, LOAD_KV, ELEM)                                         \
    void NAME(const void *q, const void *k, const void *v, void *out, const uint8_t *mask,      \
              int64_t rows, int64_t heads, int64_t kv_heads, int64_t keys, int64_t dim,         \
              int64_t k_row, int64_t k_head, int64_t k_pos, int64_t v_row, int64_t v_head,      \
              int64_t v_pos, int64_t mask_row, float scale, float softcap, int threads) {       \
        int64_t group = heads / kv_heads;                                                       \
        _Pragma("omp parallel for num_threads(threads) schedule(dynamic)")                      \
        for (int64_t task = 0; task < rows * kv_heads; task++) {                                \
            int64_t r = task / kv_heads, kh = task % kv_heads;                                  \
            const uint8_t *m = mask + r * mask_row;                                             \
            int64_t begin, end;                                                                 \
            visible_range(m, keys, &begin, &end);                                               \
            const ELEM *kb = (const ELEM *)k + r * k_row + kh * k_head;                         \
            const ELEM *vb = (const ELEM *)v + r * v_row + kh * v_head;                         \
            float qf[group][dim], acc[group][dim], mx[group], sum[group], s[group][BLOCK];      \
            for (int64_t g = 0; g < group; g++) {                                               \
                const int64_t h = kh * group + g;                                               \
                for (int64_t d = 0; d < dim; d++)                                               \
                    qf[g][d] = LOAD(q, (r * heads + h) * dim + d) * scale;                      \
                for (int64_t d = 0; d < dim; d++) acc[g][d] = 0.0f;                             \
                mx[g] = -INFINITY;                                                              \
                sum[g] = 0.0f;                                                                  \
            }                                                                                   \
            for (int64_t t0 = begin; t0 < end; t0 += BLOCK) {                                   \
                int64_t n = end - t0 < BLOCK ? end - t0 : BLOCK;                                \
                for (int64_t g = 0; g < group; g++) {                                           \
                    float bmax = -INFINITY;                                                     \
                    for (int64_t j = 0; j < n; j++) {                                           \
                        float dot = -INFINITY;                                                  \
                        if (m[t0 + j]) {                                                        \
                            const ELEM *kt = kb + (t0 + j) * k_pos;                             \
                            dot = 0.0f;                                                         \
                            _Pragma("omp simd reduction(+ : dot)")                              \
                            for (int64_t d = 0; d < dim; d++) dot += qf[g][d] * LOAD_KV(kt, d); \
                            if (softcap > 0.0f) dot = tanhf(dot / softcap) * softcap;           \
                        }                                                                       \
                        s[g][j] = dot;                                                          \
                        if (dot > bmax) bmax = dot;                                             \
                    }                                                                           \
                    if (bmax == -INFINITY) continue;                                            \
                    float nmax = bmax > mx[g] ? bmax : mx[g];                                   \
                    float fix = expf(mx[g] - nmax);                                             \
                    sum[g] *= fix;                                                              \
                    for (int64_t d = 0; d < dim; d++) acc[g][d] *= fix;                         \
                    mx[g] = nmax;                                                               \
                    for (int64_t j = 0; j < n; j++) {                                           \
                        if (s[g][j] == -INFINITY) continue;                                     \
                        float p = expf(s[g][j] - nmax);                                         \
                        sum[g] += p;                                                            \
                        const ELEM *vt = vb + (t0 + j) * v_pos;                                 \
                        _Pragma("omp simd")                                                     \
                        for (int64_t d = 0; d < dim; d++) acc[g][d] += p * LOAD_KV(vt, d);      \
                    }                                                                           \
                }                                                                               \
            }                                                                                   \
            for (int64_t g = 0; g < group; g++) {                                               \
                const int64_t h = kh * group + g;                                               \
                float inv = sum[g] > 0.0f ? 1.0f / sum[g] : 0.0f;                               \
                for (int64_t d = 0; d < dim; d++)                                               \
                    STORE(out, (r * heads + h) * dim + d, acc[g][d] * inv);                     \
            }                                                                                   \
        }                                                                                       \
    }

// Without AVX-512 these are the kernels; with it, the fallback for odd head sizes.
#ifdef __AVX512F__
#define PORTABLE(name) portable_##name
#else
#define PORTABLE(name) decode_attention_##name
#endif
DEFINE_KERNEL(PORTABLE(f32), load_f32, store_f32, load_f32, float)
DEFINE_KERNEL(PORTABLE(bf16), load_bf16, store_bf16, load_bf16, uint16_t)
DEFINE_KERNEL(PORTABLE(f32_bf16_cache), load_f32, store_f32, load_bf16, uint16_t)

#ifdef __AVX512F__
#include <immintrin.h>

// The same arithmetic with AVX-512 vectors, for head sizes that are a multiple of 16: one
// key's dot product in head_dim / 16 fused multiply-adds, the block's 16 scores in one
// vector, their exponentials in one polynomial (Cephes' expf, within 2 ulp of libm's),
// and each value row added in head_dim / 16 more. The scalar loop above spent most of its
// time in libm's expf and in per-element bfloat16 widening.
#define VBLOCK 16
#define MAX_DIM 512

static inline __m512 vload_f32(const void *p) { return _mm512_loadu_ps(p); }
static inline __m512 vload_bf16(const void *p) {
    __m512i wide = _mm512_cvtepu16_epi32(_mm256_loadu_si256((const __m256i *)p));
    return _mm512_castsi512_ps(_mm512_slli_epi32(wide, 16));
}

// One (row, key-value head) task over keys begin..end. `chunks` (head_dim / 16) is a
// constant at the call sites for head sizes 64 and 128, so a query, a dot product and the
// running output stay in registers; per block of VBLOCK keys the output is loaded and
// stored once, and the next block's keys and values are prefetched.
#define DEFINE_TASK(NAME, ELEM, VLOAD_KV)                                                       \
    static inline __attribute__((always_inline)) void NAME(                                    \
        const ELEM *kb, const ELEM *vb, int64_t k_pos, int64_t v_pos, const uint8_t *m,        \
        int64_t begin, int64_t end, const float *qf, float *acc, float *mx, float *sum,        \
        int64_t group, int64_t dim, const int64_t chunks, float softcap) {                     \
        for (int64_t t0 = begin; t0 < end; t0 += VBLOCK) {                                     \
            int64_t n = end - t0 < VBLOCK ? end - t0 : VBLOCK;                                 \
            for (int64_t j = 0; j < VBLOCK && t0 + VBLOCK + j < end; j++) {                    \
                const char *kn = (const char *)(kb + (t0 + VBLOCK + j) * k_pos);               \
                const char *vn = (const char *)(vb + (t0 + VBLOCK + j) * v_pos);               \
                for (int64_t b = 0; b < dim * (int64_t)sizeof(ELEM); b += 64) {                \
                    _mm_prefetch(kn + b, _MM_HINT_T0);                                         \
                    _mm_prefetch(vn + b, _MM_HINT_T0);                                         \
                }                                                                              \
            }                                                                                  \
            for (int64_t g = 0; g < group; g++) {                                              \
                const float *qg = qf + g * dim;                                                \
                float *ag = acc + g * dim;                                                     \
                float s[VBLOCK] __attribute__((aligned(64)));                                  \
                for (int64_t j = 0; j < VBLOCK; j++) {                                         \
                    if (j >= n || !m[t0 + j]) {                                                \
                        s[j] = -INFINITY;                                                      \
                        continue;                                                              \
                    }                                                                          \
                    const ELEM *kt = kb + (t0 + j) * k_pos;                                    \
                    __m512 even = _mm512_setzero_ps(), odd = _mm512_setzero_ps();              \
                    for (int64_t c = 0; c + 1 < chunks; c += 2) {                              \
                        even = _mm512_fmadd_ps(_mm512_load_ps(qg + 16 * c),                    \
                                               VLOAD_KV(kt + 16 * c), even);                   \
                        odd = _mm512_fmadd_ps(_mm512_load_ps(qg + 16 * c + 16),                \
                                              VLOAD_KV(kt + 16 * c + 16), odd);                \
                    }                                                                          \
                    if (chunks & 1)                                                            \
                        even = _mm512_fmadd_ps(_mm512_load_ps(qg + 16 * (chunks - 1)),         \
                                               VLOAD_KV(kt + 16 * (chunks - 1)), even);        \
                    float d = _mm512_reduce_add_ps(_mm512_add_ps(even, odd));                  \
                    s[j] = softcap > 0.0f ? tanhf(d / softcap) * softcap : d;                  \
                }                                                                              \
                __m512 sv = _mm512_load_ps(s);                                                 \
                float bmax = _mm512_reduce_max_ps(sv);                                         \
                if (bmax == -INFINITY) continue;                                               \
                float nmax = bmax > mx[g] ? bmax : mx[g];                                      \
                float fix = mx[g] == nmax ? 1.0f : expf(mx[g] - nmax);                         \
                mx[g] = nmax;                                                                  \
                __mmask16 seen =                                                               \
                    _mm512_cmp_ps_mask(sv, _mm512_set1_ps(-INFINITY), _CMP_NEQ_OQ);            \
                __m512 pv =                                                                    \
                    _mm512_maskz_mov_ps(seen, exp16(_mm512_sub_ps(sv, _mm512_set1_ps(nmax)))); \
                sum[g] = sum[g] * fix + _mm512_reduce_add_ps(pv);                              \
                float p[VBLOCK] __attribute__((aligned(64)));                                  \
                _mm512_store_ps(p, pv);                                                        \
                __m512 f = _mm512_set1_ps(fix);                                                \
                for (int64_t c = 0; c < chunks; c++) {                                         \
                    __m512 a = _mm512_mul_ps(_mm512_load_ps(ag + 16 * c), f);                  \
                    for (int64_t j = 0; j < n; j++) {                                          \
                        if (!((seen >> j) & 1)) continue;                                      \
                        a = _mm512_fmadd_ps(_mm512_set1_ps(p[j]),                              \
                                            VLOAD_KV(vb + (t0 + j) * v_pos + 16 * c), a);      \
                    }                                                                          \
                    _mm512_store_ps(ag + 16 * c, a);                                           \
                }                                                                              \
            }                                                                                  \
        }                                                                                      \
    }

DEFINE_TASK(task_f32, float, vload_f32)
DEFINE_TASK(task_bf16, uint16_t, vload_bf16)

// A bfloat16 cache, head sizes a multiple of 32: the same arithmetic with half the widening
// work. 32 cached values load as one vector whose even elements become float32 by a shift
// and whose odd ones by a mask, so the query and the running output are kept split into
// their even and odd elements (split once per task, joined once at its end). The 16 dot
// products of a block stay vectors until one transposing sum gives the block's 16 scores,
// and each value row adds into registers, every 16-element part an independent chain.
// Against the loop above (which widens 16 values in two instructions and sums each key's
// products across its vector on its own), 64 rows of a small model's cache: 14.1 -> 12.8 ms
// a step (16.4 -> 18.2 GB/s on 2 cores, where one core alone reads at most about 10).
static inline __m512 even_f32(__m512i raw) {
    return _mm512_castsi512_ps(_mm512_slli_epi32(raw, 16));
}
static inline __m512 odd_f32(__m512i raw) {
    return _mm512_castsi512_ps(_mm512_and_si512(raw, _mm512_set1_epi32((int)0xFFFF0000)));
}

// Lane j of the result: the sum of v[j]'s 16 lanes.
static inline __m512 sum16(const __m512 *v) {
    __m512 a[8], b[4];
    for (int i = 0; i < 8; i++)
        a[i] = _mm512_add_ps(_mm512_unpacklo_ps(v[2 * i], v[2 * i + 1]),
                             _mm512_unpackhi_ps(v[2 * i], v[2 * i + 1]));
    for (int i = 0; i < 4; i++) {
        __m512d x = _mm512_castps_pd(a[2 * i]), y = _mm512_castps_pd(a[2 * i + 1]);
        b[i] = _mm512_add_ps(_mm512_castpd_ps(_mm512_unpacklo_pd(x, y)),
                             _mm512_castpd_ps(_mm512_unpackhi_pd(x, y)));
    }
    __m512 c01 = _mm512_add_ps(_mm512_shuffle_f32x4(b[0], b[1], 0x88),
                               _mm512_shuffle_f32x4(b[0], b[1], 0xDD));
    __m512 c23 = _mm512_add_ps(_mm512_shuffle_f32x4(b[2], b[3], 0x88),
                               _mm512_shuffle_f32x4(b[2], b[3], 0xDD));
    return _mm512_add_ps(_mm512_shuffle_f32x4(c01, c23, 0x88), _mm512_shuffle_f32x4(c01, c23, 0xDD));
}

// Which of keys t0..t0+n-1 the mask lets the row see, one bit each.
static inline __mmask16 seen_bits(const uint8_t *m, int64_t t0, int64_t n) {
    if (n == VBLOCK) return _mm_test_epi8_mask(_mm_loadu_si128((const __m128i *)(m + t0)),
                                               _mm_set1_epi8((char)0xFF));
    __mmask16 bits = 0;
    for (int64_t j = 0; j < n; j++) bits |= (__mmask16)((m[t0 + j] != 0) << j);
    return bits;
}

#define MAX_PAIRS (MAX_DIM / 32)
// The block after next is prefetched: one block ahead read 17.4 GB/s on 2 cores, two 18.2,
// and further, or into L2 only, less.
#define PF_AHEAD 2
static inline __attribute__((always_inline)) void task_bf16_pairs(
    const uint16_t *kb, const uint16_t *vb, int64_t k_pos, int64_t v_pos, const uint8_t *m,
    int64_t begin, int64_t end, const float *qf, float *acc, float *mx, float *sum,
    int64_t group, int64_t dim, const int64_t pairs, float softcap) {
    // acc holds each head's output split: [even elements of part 0, odd of part 0, ...]
    __m512 qs[group][2 * MAX_PAIRS];
    for (int64_t g = 0; g < group; g++)
        for (int64_t c = 0; c < pairs; c++)
            for (int parity = 0; parity < 2; parity++) {
                float part[16] __attribute__((aligned(64)));
                for (int i = 0; i < 16; i++) part[i] = qf[g * dim + 32 * c + 2 * i + parity];
                qs[g][2 * c + parity] = _mm512_load_ps(part);
            }
    for (int64_t t0 = begin; t0 < end; t0 += VBLOCK) {
        int64_t n = end - t0 < VBLOCK ? end - t0 : VBLOCK;
        for (int64_t j = 0; j < VBLOCK && t0 + PF_AHEAD * VBLOCK + j < end; j++) {
            const char *kn = (const char *)(kb + (t0 + PF_AHEAD * VBLOCK + j) * k_pos);
            const char *vn = (const char *)(vb + (t0 + PF_AHEAD * VBLOCK + j) * v_pos);
            for (int64_t b = 0; b < dim * 2; b += 64) {
                _mm_prefetch(kn + b, _MM_HINT_T0);
                _mm_prefetch(vn + b, _MM_HINT_T0);
            }
        }
        __mmask16 seen = seen_bits(m, t0, n);
        if (!seen) continue;
        for (int64_t g = 0; g < group; g++) {
            __m512 dots[VBLOCK];
            for (int64_t j = 0; j < VBLOCK; j++) {
                // past the block's end, the last key again (its score is masked out)
                const uint16_t *kt = kb + (j < n ? t0 + j : t0 + n - 1) * k_pos;
                __m512 even = _mm512_setzero_ps(), odd = _mm512_setzero_ps();
                for (int64_t c = 0; c < pairs; c++) {
                    __m512i raw = _mm512_loadu_si512(kt + 32 * c);
                    even = _mm512_fmadd_ps(qs[g][2 * c], even_f32(raw), even);
                    odd = _mm512_fmadd_ps(qs[g][2 * c + 1], odd_f32(raw), odd);
                }
                dots[j] = _mm512_add_ps(even, odd);
            }
            __m512 sv = sum16(dots);
            if (softcap > 0.0f) {
                float s[VBLOCK] __attribute__((aligned(64)));
                _mm512_store_ps(s, sv);
                for (int j = 0; j < VBLOCK; j++) s[j] = tanhf(s[j] / softcap) * softcap;
                sv = _mm512_load_ps(s);
            }
            sv = _mm512_mask_blend_ps(seen, _mm512_set1_ps(-INFINITY), sv);
            float bmax = _mm512_reduce_max_ps(sv);
            float nmax = bmax > mx[g] ? bmax : mx[g];
            float fix = mx[g] == nmax ? 1.0f : expf(mx[g] - nmax);
            mx[g] = nmax;
            __m512 pv = _mm512_maskz_mov_ps(seen, exp16(_mm512_sub_ps(sv, _mm512_set1_ps(nmax))));
            sum[g] = sum[g] * fix + _mm512_reduce_add_ps(pv);
            float p[VBLOCK] __attribute__((aligned(64)));
            _mm512_store_ps(p, pv);
            float *ag = acc + g * dim;
            __m512 a[2 * MAX_PAIRS];
            __m512 f = _mm512_set1_ps(fix);
            for (int64_t c = 0; c < 2 * pairs; c++) a[c] = _mm512_mul_ps(_mm512_load_ps(ag + 16 * c), f);
            for (int64_t j = 0; j < n; j++) {
                if (!((seen >> j) & 1)) continue;
                __m512 pj = _mm512_set1_ps(p[j]);
                const uint16_t *vt = vb + (t0 + j) * v_pos;
                for (int64_t c = 0; c < pairs; c++) {
                    __m512i raw = _mm512_loadu_si512(vt + 32 * c);
                    a[2 * c] = _mm512_fmadd_ps(pj, even_f32(raw), a[2 * c]);
                    a[2 * c + 1] = _mm512_fmadd_ps(pj, odd_f32(raw), a[2 * c + 1]);
                }
            }
            for (int64_t c = 0; c < 2 * pairs; c++) _mm512_store_ps(ag + 16 * c, a[c]);
        }
    }
    // joined back into element order
    for (int64_t g = 0; g < group; g++) {
        float *ag = acc + g * dim;
        float joined[MAX_DIM];
        for (int64_t c = 0; c < pairs; c++)
            for (int i = 0; i < 16; i++) {
                joined[32 * c + 2 * i] = ag[32 * c + i];
                joined[32 * c + 2 * i + 1] = ag[32 * c + 16 + i];
            }
        memcpy(ag, joined, sizeof(float) * dim);
    }
}

#define DEFINE_VECTOR_KERNEL(NAME, PORTABLE, TASK, LOAD, STORE, ELEM, PAIRED)                           \
    void NAME(const void *q, const void *k, const void *v, void *out, const uint8_t *mask,      \
              int64_t rows, int64_t heads, int64_t kv_heads, int64_t keys, int64_t dim,         \
              int64_t k_row, int64_t k_head, int64_t k_pos, int64_t v_row, int64_t v_head,      \
              int64_t v_pos, int64_t mask_row, float scale, float softcap, int threads) {       \
        if (dim % 16 != 0 || dim > MAX_DIM) {                                                   \
            PORTABLE(q, k, v, out, mask, rows, heads, kv_heads, keys, dim, k_row, k_head,       \
                     k_pos, v_row, v_head, v_pos, mask_row, scale, softcap, threads);           \
            return;                                                                             \
        }                                                                                       \
        int64_t group = heads / kv_heads, chunks = dim / 16;                                    \
        _Pragma("omp parallel for num_threads(threads) schedule(dynamic)")                      \
        for (int64_t task = 0; task < rows * kv_heads; task++) {                                \
            int64_t r = task / kv_heads, kh = task % kv_heads;                                  \
            const uint8_t *m = mask + r * mask_row;                                             \
            int64_t begin, end;                                                                 \
            visible_range(m, keys, &begin, &end);                                               \
            const ELEM *kb = (const ELEM *)k + r * k_row + kh * k_head;                         \
            const ELEM *vb = (const ELEM *)v + r * v_row + kh * v_head;                         \
            float qf[group * dim] __attribute__((aligned(64)));                                 \
            float acc[group * dim] __attribute__((aligned(64)));                                \
            float mx[group], sum[group];                                                        \
            for (int64_t g = 0; g < group; g++) {                                               \
                const int64_t h = kh * group + g;                                               \
                for (int64_t d = 0; d < dim; d++)                                               \
                    qf[g * dim + d] = LOAD(q, (r * heads + h) * dim + d) * scale;               \
                mx[g] = -INFINITY;                                                              \
                sum[g] = 0.0f;                                                                  \
            }                                                                                   \
            memset(acc, 0, sizeof(float) * group * dim);                                        \
            if (PAIRED && dim % 32 == 0 && dim / 32 == 2)                                       \
                task_bf16_pairs((const uint16_t *)(const void *)kb, (const uint16_t *)(const void *)vb, k_pos, v_pos, m, begin, end, qf, acc, mx, sum, group,   \
                                dim, 2, softcap);                                               \
            else if (PAIRED && dim % 32 == 0 && dim / 32 == 4)                                  \
                task_bf16_pairs((const uint16_t *)(const void *)kb, (const uint16_t *)(const void *)vb, k_pos, v_pos, m, begin, end, qf, acc, mx, sum, group,   \
                                dim, 4, softcap);                                               \
            else if (PAIRED && dim % 32 == 0)                                                   \
                task_bf16_pairs((const uint16_t *)(const void *)kb, (const uint16_t *)(const void *)vb, k_pos, v_pos, m, begin, end, qf, acc, mx, sum, group,   \
                                dim, dim / 32, softcap);                                        \
            else if (chunks == 4)                                                               \
                TASK(kb, vb, k_pos, v_pos, m, begin, end, qf, acc, mx, sum, group, dim, 4,      \
                     softcap);                                                                  \
            else if (chunks == 8)                                                               \
                TASK(kb, vb, k_pos, v_pos, m, begin, end, qf, acc, mx, sum, group, dim, 8,      \
                     softcap);                                                                  \
            else                                                                                \
                TASK(kb, vb, k_pos, v_pos, m, begin, end, qf, acc, mx, sum, group, dim, chunks, \
                     softcap);                                                                  \
            for (int64_t g = 0; g < group; g++) {                                               \
                const int64_t h = kh * group + g;                                               \
                float inv = sum[g] > 0.0f ? 1.0f / sum[g] : 0.0f;                               \
                for (int64_t d = 0; d < dim; d++)                                               \
                    STORE(out, (r * heads + h) * dim + d, acc[g * dim + d] * inv);              \
            }                                                                                   \
        }                                                                                       \
    }

DEFINE_VECTOR_KERNEL(decode_attention_f32, portable_f32, task_f32, load_f32, store_f32, float, 0)
DEFINE_VECTOR_KERNEL(decode_attention_bf16, portable_bf16, task_bf16, load_bf16, store_bf16,
                     uint16_t, 1)
DEFINE_VECTOR_KERNEL(decode_attention_f32_bf16_cache, portable_f32_bf16_cache, task_bf16,
                     load_f32, store_f32, uint16_t, 1)
#endif
