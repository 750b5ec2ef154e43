/* lm_scan.h: private word-at-a-time byte tests shared by lm_eol.c, lm_dot.c
 * and lm_qp.c. Mail text is long runs of bytes a codec copies unchanged;
 * testing eight bytes at once (SWAR) finds the end of such a run several
 * times faster than a byte loop, in portable C99.
 *
 * Words are always read little-endian, whatever the CPU, so that byte k of
 * memory is bits 8k..8k+7 and "the next byte" is a shift left by 8. Every
 * mask has bit 7 of a byte set exactly when that byte passes the test
 * (exact per byte: no borrow crosses bytes). */
#ifndef LM_SCAN_H
#define LM_SCAN_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* x86-64 always has SSE2; -DLM_SCAN_NO_SIMD builds the portable word loops
 * alone, as on other CPUs. */
#if defined(__SSE2__) && !defined(LM_SCAN_NO_SIMD)
#define LM_SCAN_SSE2 1
#include <emmintrin.h>
#else
#define LM_SCAN_SSE2 0
#endif

/* x86-64 with GCC or clang: AVX2 paths too, compiled per function with a
 * target attribute (the build keeps its baseline flags) and taken only when
 * the CPU and the OS support AVX2 (lm_scan_avx2). -DLM_SCAN_NO_AVX2 leaves
 * them out. */
#if LM_SCAN_SSE2 && defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__)) &&  \
    !defined(LM_SCAN_NO_AVX2)
#define LM_SCAN_AVX2 1
#include <immintrin.h>
#define LM_SCAN_T_AVX2 __attribute__((target("avx2")))
/* 1 when this CPU and OS run AVX2 code (libgcc checks the XSAVE state too). */
static inline int lm_scan_avx2(void)
{
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") ? 1 : 0;
}
/* And AVX-512 with VBMI2 (byte compress), where lm_scan_avx512() says so. */
#define LM_SCAN_AVX512 1
#define LM_SCAN_T_AVX512 __attribute__((target("avx512f,avx512bw,avx512vbmi2,popcnt")))
static inline int lm_scan_avx512(void)
{
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vbmi2") ? 1 : 0;
}
#else
#define LM_SCAN_AVX2 0
#define LM_SCAN_AVX512 0
#endif

#define LM_SCAN_ONES UINT64_C(0x0101010101010101)
#define LM_SCAN_HIGHS UINT64_C(0x8080808080808080)
#define LM_SCAN_LOWS UINT64_C(0x7f7f7f7f7f7f7f7f)

static inline uint64_t lm_scan_load(const unsigned char *p)
{
#if defined(__BYTE_ORDER__) && defined(__ORDER_LITTLE_ENDIAN__) &&             \
    __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    uint64_t x;
    memcpy(&x, p, 8);
    return x;
#else
    uint64_t x = 0;
    int k;
    for (k = 7; k >= 0; k--)
        x = x << 8 | p[k];
    return x;
#endif
}

/* Bytes of x equal to c. */
static inline uint64_t lm_scan_eq(uint64_t x, unsigned c)
{
    uint64_t y = x ^ (LM_SCAN_ONES * c);
    return ~(((y & LM_SCAN_LOWS) + LM_SCAN_LOWS) | y | LM_SCAN_LOWS);
}

/* Bytes of x below c (c at most 0x80): the high-bit bytes never are. */
static inline uint64_t lm_scan_below(uint64_t x, unsigned c)
{
    return ~(((x & LM_SCAN_LOWS) + LM_SCAN_ONES * (0x80 - c)) | x) & LM_SCAN_HIGHS;
}

/* The index (0..7) of the first byte flagged in a non-zero mask. */
static inline unsigned lm_scan_first(uint64_t m)
{
#if defined(__GNUC__) || defined(__clang__)
    return (unsigned)__builtin_ctzll(m) >> 3;
#else
    unsigned k = 0;
    while (!(m & 0x80))
        m >>= 8, k++;
    return k;
#endif
}

/* The index (0..31) of the lowest set bit of a non-zero mask. */
static inline unsigned lm_scan_first32(uint32_t m)
{
#if defined(__GNUC__) || defined(__clang__)
    return (unsigned)__builtin_ctz(m);
#else
    unsigned k = 0;
    while (!(m & 1))
        m >>= 1, k++;
    return k;
#endif
}

/* The index (0..63) of the lowest set bit of a non-zero mask. */
static inline unsigned lm_scan_first64(uint64_t m)
{
#if defined(__GNUC__) || defined(__clang__)
    return (unsigned)__builtin_ctzll(m);
#else
    unsigned k = 0;
    while (!(m & 1))
        m >>= 1, k++;
    return k;
#endif
}

/* A clean run ends before p[bad]; but when p[bad] is flagged because the CR
 * just before it lacks its LF, the run ends before that CR. */
static inline size_t lm_scan_stop(const unsigned char *p, size_t bad)
{
    return bad > 0 && p[bad - 1] == '\r' ? bad - 1 : bad;
}

/* The portable loops of the codecs, from p[i] on, exported so tests can
 * check them alone (they are all a CPU without SSE2 runs). lm_eol_clean_swar
 * writes p[j] to o[j]; lm_qp_clean_swar writes p[j] to o[j - i]. */
size_t lm_eol_clean_swar(const unsigned char *p, size_t i, size_t n, int dots,
                         unsigned char *o);
/* lm_eol_run's vector paths, also exported for the tests: lm_eol_run takes
 * the AVX2 one when lm_scan_avx2() says it can run, else the SSE2 one. */
#if LM_SCAN_SSE2
size_t lm_eol_run_sse2(const void *in, size_t n, int dots, void *out, size_t *produced);
#endif
#if LM_SCAN_AVX2
size_t lm_eol_run_avx2(const void *in, size_t n, int dots, void *out, size_t *produced);
#endif
size_t lm_qp_simple_swar(const unsigned char *p, size_t i, size_t n);
size_t lm_qp_clean_swar(const unsigned char *p, size_t i, size_t n, unsigned char *o);
/* The quoted-printable decoder's vector runs (lm_qp.c), exported for the
 * tests like lm_eol_run_sse2/avx2: clean runs with "=XX" and soft breaks
 * decoded in place, up to where the byte-wise decoder must decide. */
#if LM_SCAN_SSE2
size_t lm_qp_dec_run_sse2(const unsigned char *p, size_t n, unsigned char *o, size_t *produced);
#endif
#if LM_SCAN_AVX2
size_t lm_qp_dec_run_avx2(const unsigned char *p, size_t n, unsigned char *o, size_t *produced);
#endif
#if LM_SCAN_AVX512
size_t lm_qp_dec_run_avx512(const unsigned char *p, size_t n, unsigned char *o,
                            size_t *produced);
#endif

#endif
