// The pointwise work of a decoding step between its matrix products, one call each where
// torch takes a dozen small operations: the residual add with the RMS norm after it, the
// rotary embedding with the cache write, and SiLU(gate) * up. Each rounds where torch's
// operations round, in the same order: in bfloat16 every intermediate torch stores as a
// bfloat16 tensor is rounded to bfloat16 here too (round to nearest even, as torch), so
// the results are torch's up to the summation order of the norm's mean and the last bits
// of e^x. It is built with -ffp-contract=off: a product and a sum that torch rounds
// separately must not become one fused multiply-add.
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "kernel_math.h"

static inline float bf16_load(const uint16_t *p, int64_t i) { return bf16_to_f32(p[i]); }
static inline void bf16_store(uint16_t *p, int64_t i, float x) { p[i] = f32_to_bf16(x); }
static inline float bf16_round(float x) { return bf16_to_f32(f32_to_bf16(x)); }
static inline float f32_load(const float *p, int64_t i) { return p[i]; }
static inline void f32_store(float *p, int64_t i, float x) { p[i] = x; }
static inline float f32_round(float x) { return x; }

// Work below this many elements stays on one thread: waking the others costs more.
#define PARALLEL_FROM 65536

// x: [rows, dim], contiguous. With h (else NULL): x = x + h first, in place (the residual
// stream). Then out = rms_norm(x) * w, as the model's norm computes it: the normalized
// row rounded to x's dtype before the weight (Llama's order, weight_first == 0), or in
// float32 times a float32 weight (Gemma's 1 + w, weight_first == 1). w is float32 holding
// the model's weight values exactly.
#define DEFINE_RMS_NORM(NAME, ELEM, LOAD, STORE, ROUND)                                        \
    void NAME(ELEM *x, const ELEM *h, ELEM *out, const float *w, int64_t rows, int64_t dim,    \
              float eps, int gemma, int threads) {                                             \
        _Pragma("omp parallel for num_threads(threads) if (rows * dim >= PARALLEL_FROM)")      \
        for (int64_t r = 0; r < rows; r++) {                                                   \
            ELEM *xr = x + r * dim;                                                            \
            ELEM *o = out + r * dim;                                                           \
            if (h) {                                                                           \
                const ELEM *hr = h + r * dim;                                                  \
                _Pragma("omp simd")                                                            \
                for (int64_t d = 0; d < dim; d++) STORE(xr, d, LOAD(xr, d) + LOAD(hr, d));     \
            }                                                                                  \
            float ss = 0.0f;                                                                   \
            _Pragma("omp simd reduction(+ : ss)")                                              \
            for (int64_t d = 0; d < dim; d++) {                                                \
                float v = LOAD(xr, d);                                                         \
                ss += v * v;                                                                   \
            }                                                                                  \
            float scale = 1.0f / sqrtf(ss / (float)dim + eps);                                 \
            if (gemma) {                                                                       \
                _Pragma("omp simd")                                                            \
                for (int64_t d = 0; d < dim; d++) STORE(o, d, LOAD(xr, d) * scale * w[d]);     \
            } else {                                                                           \
                _Pragma("omp simd")                                                            \
                for (int64_t d = 0; d < dim; d++) STORE(o, d, w[d] * ROUND(LOAD(xr, d) * scale)); \
            }                                                                                  \
        }                                                                                      \
    }

DEFINE_RMS_NORM(rms_norm_f32, float, f32_load, f32_store, f32_round)
DEFINE_RMS_NORM(rms_norm_bf16, uint16_t, bf16_load, bf16_store, bf16_round)

// Token t's queries q[t] ([heads, dim], rows t * q_tok apart), keys and values ([kv_heads,
// dim], k_tok and v_tok apart): the queries rotated into q_out ([tokens, heads, dim],
// contiguous), the keys rotated and the values copied into the cache ([slots, kv_heads,
// max_len, dim] per layer) at (slots[t], positions[t]). cos and sin: float32 [max_len,
// dim] holding the model-dtype table's values. Rotation as torch's
// t * cos + cat(-t[half:], t[:half]) * sin: each product and the sum rounded to ELEM, then
// to the cache's dtype.
#define ROTATE_INTO(DST, DSTORE, SRC, LOAD, ROUND, C, S, DIM)                                \
    do {                                                                                       \
        int64_t half_ = (DIM) / 2;                                                             \
        _Pragma("omp simd")                                                                    \
        for (int64_t d = 0; d < half_; d++)                                                    \
            DSTORE(DST, d, ROUND(ROUND(LOAD(SRC, d) * C[d]) + ROUND(-LOAD(SRC, d + half_) * S[d]))); \
        _Pragma("omp simd")                                                                    \
        for (int64_t d = half_; d < (DIM); d++)                                                \
            DSTORE(DST, d, ROUND(ROUND(LOAD(SRC, d) * C[d]) + ROUND(LOAD(SRC, d - half_) * S[d]))); \
    } while (0)

#define DEFINE_ROTARY(NAME, ELEM, LOAD, STORE, ROUND, CELEM, CSTORE)                           \
    void NAME(const ELEM *q, int64_t q_tok, const ELEM *k, int64_t k_tok, const ELEM *v,       \
              int64_t v_tok, ELEM *q_out, CELEM *keys, CELEM *values, const float *cos,       \
              const float *sin, const int64_t *positions, const int64_t *slots, int64_t tokens, \
              int64_t heads, int64_t kv_heads, int64_t dim, int64_t max_len, int threads) {    \
        _Pragma("omp parallel for num_threads(threads) if (tokens * heads * dim >= PARALLEL_FROM)") \
        for (int64_t t = 0; t < tokens; t++) {                                                 \
            const float *c = cos + positions[t] * dim, *s = sin + positions[t] * dim;          \
            for (int64_t hh = 0; hh < heads; hh++) {                                           \
                const ELEM *src = q + t * q_tok + hh * dim;                                    \
                ELEM *dst = q_out + (t * heads + hh) * dim;                                    \
                ROTATE_INTO(dst, STORE, src, LOAD, ROUND, c, s, dim);                          \
            }                                                                                  \
            for (int64_t hh = 0; hh < kv_heads; hh++) {                                        \
                int64_t at = ((slots[t] * kv_heads + hh) * max_len + positions[t]) * dim;      \
                const ELEM *src = k + t * k_tok + hh * dim;                                    \
                CELEM *dst = keys + at;                                                        \
                ROTATE_INTO(dst, CSTORE, src, LOAD, ROUND, c, s, dim);                         \
                const ELEM *vs = v + t * v_tok + hh * dim;                                     \
                CELEM *vd = values + at;                                                       \
                _Pragma("omp simd")                                                            \
                for (int64_t d = 0; d < dim; d++) CSTORE(vd, d, LOAD(vs, d));                  \
            }                                                                                  \
        }                                                                                      \
    }

DEFINE_ROTARY(rotary_f32, float, f32_load, f32_store, f32_round, float, f32_store)
DEFINE_ROTARY(rotary_f32_bf16_cache, float, f32_load, f32_store, f32_round, uint16_t, bf16_store)
DEFINE_ROTARY(rotary_bf16, uint16_t, bf16_load, bf16_store, bf16_round, uint16_t, bf16_store)

// gate_up: [rows, 2 * inter], the gate's outputs then the up projection's. out: [rows,
// inter] = silu(gate) * up, silu rounded to ELEM before the product, as torch's two
// operations do. With AVX-512 sixteen at a time (kernel_math.h's exp16).
#if defined(__AVX512F__) && defined(__AVX512BW__) && defined(__AVX512VL__)
#include <immintrin.h>
static inline __m512 vload_f32(const float *p, __mmask16 m) { return _mm512_maskz_loadu_ps(m, p); }
static inline void vstore_f32(float *p, __m512 v, __mmask16 m) { _mm512_mask_storeu_ps(p, m, v); }
static inline __m512 vround_f32(__m512 v) { return v; }
static inline __m512 vload_bf16(const uint16_t *p, __mmask16 m) {
    __m512i wide = _mm512_cvtepu16_epi32(_mm256_maskz_loadu_epi16(m, p));
    return _mm512_castsi512_ps(_mm512_slli_epi32(wide, 16));
}
static inline __m512i vbf16_bits(__m512 v) {  // round to nearest even, in the high half
    __m512i u = _mm512_castps_si512(v);
    __m512i odd = _mm512_and_si512(_mm512_srli_epi32(u, 16), _mm512_set1_epi32(1));
    return _mm512_add_epi32(u, _mm512_add_epi32(odd, _mm512_set1_epi32(0x7FFF)));
}
static inline void vstore_bf16(uint16_t *p, __m512 v, __mmask16 m) {
    _mm256_mask_storeu_epi16(p, m, _mm512_cvtepi32_epi16(_mm512_srli_epi32(vbf16_bits(v), 16)));
}
static inline __m512 vround_bf16(__m512 v) {
    return _mm512_castsi512_ps(_mm512_and_si512(vbf16_bits(v), _mm512_set1_epi32((int)0xFFFF0000)));
}
#define SILU_ROW(ELEM, VLOAD, VSTORE, VROUND)                                                  \
    for (int64_t d = 0; d < inter; d += 16) {                                                  \
        __mmask16 m = inter - d >= 16 ? 0xFFFF : (__mmask16)((1u << (inter - d)) - 1);         \
        __m512 x = VLOAD(g + d, m);                                                            \
        __m512 silu = _mm512_div_ps(x, _mm512_add_ps(_mm512_set1_ps(1.0f), exp16(_mm512_sub_ps(_mm512_setzero_ps(), x)))); \
        VSTORE(o + d, _mm512_mul_ps(VROUND(silu), VLOAD(u + d, m)), m);                        \
    }
#define SILU_ROW_F32 SILU_ROW(float, vload_f32, vstore_f32, vround_f32)
#define SILU_ROW_BF16 SILU_ROW(uint16_t, vload_bf16, vstore_bf16, vround_bf16)
#else
#define SILU_ROW_SCALAR(LOAD, STORE, ROUND)                                                    \
    for (int64_t d = 0; d < inter; d++) {                                                      \
        float x = LOAD(g, d);                                                                  \
        STORE(o, d, ROUND(x / (1.0f + expf(-x))) * LOAD(u, d));                                \
    }
#define SILU_ROW_F32 SILU_ROW_SCALAR(f32_load, f32_store, f32_round)
#define SILU_ROW_BF16 SILU_ROW_SCALAR(bf16_load, bf16_store, bf16_round)
#endif

#define DEFINE_SILU_MUL(NAME, ELEM, ROW)                                                       \
    void NAME(const ELEM *gate_up, ELEM *out, int64_t rows, int64_t inter, int threads) {      \
        _Pragma("omp parallel for num_threads(threads) if (rows * inter >= PARALLEL_FROM)")    \
        for (int64_t r = 0; r < rows; r++) {                                                   \
            const ELEM *g = gate_up + r * 2 * inter, *u = g + inter;                           \
            ELEM *o = out + r * inter;                                                         \
            ROW                                                                                \
        }                                                                                      \
    }

DEFINE_SILU_MUL(silu_mul_f32, float, SILU_ROW_F32)
DEFINE_SILU_MUL(silu_mul_bf16, uint16_t, SILU_ROW_BF16)
