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

#define BLOCK 32

static inline float load_f32(const void *p, int64_t i) { return ((const float *)p)[i]; }
static inline float load_bf16(const void *p, int64_t i) {
    uint32_t u = ((uint32_t)((const uint16_t *)p)[i]) << 16;
    float f;
    memcpy(&f, &u, 4);
    return f;
}
static inline void store_f32(void *p, int64_t i, float x) { ((float *)p)[i] = x; }
static inline void store_bf16(void *p, int64_t i, float x) {
    uint32_t u;
    memcpy(&u, &x, 4);
    u += 0x7FFF + ((u >> 16) & 1);  // round to nearest even, as torch does
    ((uint16_t *)p)[i] = (uint16_t)(u >> 16);
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
            int64_t end = keys;                                                                 \
            while (end > 0 && !m[end - 1]) end--;                                               \
            int64_t begin = 0;                                                                  \
            while (begin < end && !m[begin]) begin++;                                           \
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

DEFINE_KERNEL(decode_attention_f32, load_f32, store_f32, load_f32, float)
DEFINE_KERNEL(decode_attention_bf16, load_bf16, store_bf16, load_bf16, uint16_t)
DEFINE_KERNEL(decode_attention_f32_bf16_cache, load_f32, store_f32, load_bf16, uint16_t)
