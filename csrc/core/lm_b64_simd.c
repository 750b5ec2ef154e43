/* lm_b64_simd.c: x86-64 SSSE3 and AVX2 base64 kernels. Each function is
 * compiled for its instruction set with a target attribute, so this file
 * builds with the project's baseline flags and the code only runs after the
 * run-time CPU check (lm_b64_impl_available). Method: the pshufb/multiply
 * bit shuffling and nibble-indexed validation published by Wojciech Mula
 * and Daniel Lemire ("Faster Base64 Encoding and Decoding Using AVX2
 * Instructions", 2018); the code and the tables here are our own. */
#include "lm_b64_impl.h"
#include "lm_prefetch.h"

#if LM_B64_X86

#include <immintrin.h>
#include <stdint.h>

#define T_SSSE3 __attribute__((target("ssse3")))
#define T_AVX2 __attribute__((target("avx2")))

int lm_b64_cpu_ssse3(void)
{
    __builtin_cpu_init();
    return __builtin_cpu_supports("ssse3") ? 1 : 0;
}

int lm_b64_cpu_avx2(void)
{
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") ? 1 : 0;
}

/* ---- encoding ----
 * Per 32-bit lane the input is first arranged as bytes [b1 b0 b2 b1], so
 * the 16-bit halves are b0:b1 and b1:b2. The four sextets sit at bits
 * 15..10 and 9..4 of the first half and 11..6 and 5..0 of the second; one
 * mulhi moves the first and third to the low bits of bytes 0 and 2, one
 * mullo moves the second and fourth into bytes 1 and 3. */
#define ENC_MASK_HI 0x0FC0FC00
#define ENC_MUL_HI 0x04000040
#define ENC_MASK_LO 0x003F03F0
#define ENC_MUL_LO 0x01000010

/* Sextet -> ASCII by adding an offset chosen per range: 0..25 'A', 26..51
 * 'a' - 26, 52..61 '0' - 52, 62 '+' - 62, 63 '/' - 63. The range index is
 * sextet - 51 saturated (0 for 0..51, 1..12 above), with 13 for 0..25. */
#define ENC_OFFSETS                                                            \
    71, -4, -4, -4, -4, -4, -4, -4, -4, -4, -4, -19, -16, 65, 0, 0

T_SSSE3 static __m128i enc_ascii_128(__m128i v)
{
    const __m128i offsets = _mm_setr_epi8(ENC_OFFSETS);
    __m128i t0 = _mm_and_si128(v, _mm_set1_epi32(ENC_MASK_HI));
    __m128i t1 = _mm_mulhi_epu16(t0, _mm_set1_epi32(ENC_MUL_HI));
    __m128i t2 = _mm_and_si128(v, _mm_set1_epi32(ENC_MASK_LO));
    __m128i t3 = _mm_mullo_epi16(t2, _mm_set1_epi32(ENC_MUL_LO));
    __m128i idx = _mm_or_si128(t1, t3);
    __m128i r = _mm_subs_epu8(idx, _mm_set1_epi8(51));
    __m128i az = _mm_cmpgt_epi8(_mm_set1_epi8(26), idx);
    r = _mm_or_si128(r, _mm_and_si128(az, _mm_set1_epi8(13)));
    return _mm_add_epi8(idx, _mm_shuffle_epi8(offsets, r));
}

T_AVX2 static __m256i enc_ascii_256(__m256i v)
{
    const __m256i offsets = _mm256_setr_epi8(ENC_OFFSETS, ENC_OFFSETS);
    __m256i t0 = _mm256_and_si256(v, _mm256_set1_epi32(ENC_MASK_HI));
    __m256i t1 = _mm256_mulhi_epu16(t0, _mm256_set1_epi32(ENC_MUL_HI));
    __m256i t2 = _mm256_and_si256(v, _mm256_set1_epi32(ENC_MASK_LO));
    __m256i t3 = _mm256_mullo_epi16(t2, _mm256_set1_epi32(ENC_MUL_LO));
    __m256i idx = _mm256_or_si256(t1, t3);
    __m256i r = _mm256_subs_epu8(idx, _mm256_set1_epi8(51));
    __m256i az = _mm256_cmpgt_epi8(_mm256_set1_epi8(26), idx);
    r = _mm256_or_si256(r, _mm256_and_si256(az, _mm256_set1_epi8(13)));
    return _mm256_add_epi8(idx, _mm256_shuffle_epi8(offsets, r));
}

/* [b1 b0 b2 b1] arrangement of the 12 bytes at offset 0 (or 4) of a lane. */
#define ENC_SHUF0 1, 0, 2, 1, 4, 3, 5, 4, 7, 6, 8, 7, 10, 9, 11, 10
#define ENC_SHUF4 5, 4, 6, 5, 8, 7, 9, 8, 11, 10, 12, 11, 14, 13, 15, 14

/* 12 bytes -> 16 characters; reads src[0..16), uses bytes at offset 0 or 4. */
T_SSSE3 static void enc12(const unsigned char *src, char *dst, __m128i shuf)
{
    __m128i v = _mm_loadu_si128((const __m128i *)(const void *)src);
    v = _mm_shuffle_epi8(v, shuf);
    _mm_storeu_si128((__m128i *)(void *)dst, enc_ascii_128(v));
}

/* The last n - i bytes (fewer than 16) of a span of n bytes. Groups that
 * lie more than 12 bytes from the end go through the scalar code; the last
 * 12 bytes are then encoded from a load ending exactly at in + n, which may
 * rewrite characters already written, with the same values. */
T_SSSE3 static void enc_tail(const unsigned char *in, size_t n, size_t i,
                             char *out)
{
    while (n - i > 12) {
        lm_b64_enc_scalar(in + i, 3, out + i / 3 * 4);
        i += 3;
    }
    if (i == n)
        return;
    if (n < 16) {
        lm_b64_enc_scalar(in + i, n - i, out + i / 3 * 4);
        return;
    }
    enc12(in + n - 16, out + (n - 12) / 3 * 4, _mm_setr_epi8(ENC_SHUF4));
}

T_SSSE3 static inline void enc_span_ssse3(const unsigned char *in, size_t n, char *out)
{
    const __m128i shuf = _mm_setr_epi8(ENC_SHUF0);
    size_t i = 0;
    for (; n - i >= 16; i += 12)
        enc12(in + i, out + i / 3 * 4, shuf);
    enc_tail(in, n, i, out);
}

T_SSSE3 void lm_b64_enc_ssse3(const unsigned char *in, size_t n, char *out)
{
    enc_span_ssse3(in, n, out);
}

T_SSSE3 void lm_b64_enc_lines_ssse3(const unsigned char *in, size_t lines, size_t bpl,
                                    char *out)
{
    size_t cpl = bpl / 3 * 4;
    for (; lines; lines--, in += bpl, out += cpl + 2) {
        lm_prefetch(in, 0, lines * bpl);
        enc_span_ssse3(in, bpl, out);
        out[cpl] = '\r';
        out[cpl + 1] = '\n';
    }
}

/* 24 bytes -> 32 characters, reading exactly src[0..24): the low lane
 * takes src[0..16) (bytes 0..11 used), the high lane src[8..24) (bytes
 * 4..15 used). */
T_AVX2 static void enc24(const unsigned char *src, char *dst, __m256i shuf)
{
    __m128i lo = _mm_loadu_si128((const __m128i *)(const void *)src);
    __m128i hi = _mm_loadu_si128((const __m128i *)(const void *)(src + 8));
    __m256i v = _mm256_inserti128_si256(_mm256_castsi128_si256(lo), hi, 1);
    v = _mm256_shuffle_epi8(v, shuf);
    _mm256_storeu_si256((__m256i *)(void *)dst, enc_ascii_256(v));
}

T_AVX2 static inline void enc_span_avx2(const unsigned char *in, size_t n, char *out)
{
    const __m256i shuf = _mm256_setr_epi8(ENC_SHUF0, ENC_SHUF4);
    size_t i = 0;
    for (; n - i >= 24; i += 24)
        enc24(in + i, out + i / 3 * 4, shuf);
    for (; n - i >= 16; i += 12)
        enc12(in + i, out + i / 3 * 4, _mm_setr_epi8(ENC_SHUF0));
    enc_tail(in, n, i, out);
}

T_AVX2 void lm_b64_enc_avx2(const unsigned char *in, size_t n, char *out)
{
    enc_span_avx2(in, n, out);
}

T_AVX2 void lm_b64_enc_lines_avx2(const unsigned char *in, size_t lines, size_t bpl,
                                  char *out)
{
    size_t cpl = bpl / 3 * 4;
    for (; lines; lines--, in += bpl, out += cpl + 2) {
        lm_prefetch(in, 0, lines * bpl);
        enc_span_avx2(in, bpl, out);
        out[cpl] = '\r';
        out[cpl + 1] = '\n';
    }
}

/* ---- decoding ----
 * Validation: a character with high nibble h and low nibble l is in the
 * alphabet iff bit h of VALID_HI[l] is set (bytes >= 0x80 have h >= 8,
 * whose bit is 0). Translation adds an offset chosen by h, with '/' (the
 * only character of its row that is not '+') moved to index 1. Packing:
 * maddubs joins sextet pairs into 12-bit values, madd joins those into the
 * 24 bits of a lane, a shuffle takes the 3 bytes of each lane big-endian. */
#define DEC_VALID_HI                                                           \
    (char)0xA8, (char)0xF8, (char)0xF8, (char)0xF8, (char)0xF8, (char)0xF8,   \
        (char)0xF8, (char)0xF8, (char)0xF8, (char)0xF8, (char)0xF0, 0x54,     \
        0x50, 0x50, 0x50, 0x54
#define DEC_BIT_OF_HI 1, 2, 4, 8, 16, 32, 64, (char)0x80, 0, 0, 0, 0, 0, 0, 0, 0
#define DEC_OFFSETS 0, 16, 19, 4, -65, -65, -71, -71, 0, 0, 0, 0, 0, 0, 0, 0
#define DEC_PACK 2, 1, 0, 6, 5, 4, 10, 9, 8, 14, 13, 12, -1, -1, -1, -1
#define DEC_MADDUBS 0x01400140
#define DEC_MADD 0x00011000

/* 16 characters -> 12 bytes at dst (writes 16); returns the mask of the
 * characters outside the alphabet (the bytes of their quanta are garbage). */
T_SSSE3 static unsigned dec16(const unsigned char *src, unsigned char *dst)
{
    __m128i in = _mm_loadu_si128((const __m128i *)(const void *)src);
    __m128i hi = _mm_and_si128(_mm_srli_epi32(in, 4), _mm_set1_epi8(0x0F));
    __m128i lo = _mm_and_si128(in, _mm_set1_epi8(0x0F));
    __m128i ok = _mm_and_si128(_mm_shuffle_epi8(_mm_setr_epi8(DEC_VALID_HI), lo),
                               _mm_shuffle_epi8(_mm_setr_epi8(DEC_BIT_OF_HI), hi));
    __m128i bad = _mm_cmpeq_epi8(ok, _mm_setzero_si128());
    __m128i slash = _mm_cmpeq_epi8(in, _mm_set1_epi8(0x2F));
    __m128i off = _mm_shuffle_epi8(_mm_setr_epi8(DEC_OFFSETS), _mm_add_epi8(hi, slash));
    __m128i v = _mm_add_epi8(in, off);
    v = _mm_maddubs_epi16(v, _mm_set1_epi32(DEC_MADDUBS));
    v = _mm_madd_epi16(v, _mm_set1_epi32(DEC_MADD));
    v = _mm_shuffle_epi8(v, _mm_setr_epi8(DEC_PACK));
    _mm_storeu_si128((__m128i *)(void *)dst, v);
    return (unsigned)_mm_movemask_epi8(bad);
}

/* 32 characters -> 24 bytes at dst (writes 28); same contract as dec16. */
T_AVX2 static uint32_t dec32(const unsigned char *src, unsigned char *dst)
{
    __m256i in = _mm256_loadu_si256((const __m256i *)(const void *)src);
    __m256i hi = _mm256_and_si256(_mm256_srli_epi32(in, 4), _mm256_set1_epi8(0x0F));
    __m256i lo = _mm256_and_si256(in, _mm256_set1_epi8(0x0F));
    __m256i valid = _mm256_setr_epi8(DEC_VALID_HI, DEC_VALID_HI);
    __m256i bits = _mm256_setr_epi8(DEC_BIT_OF_HI, DEC_BIT_OF_HI);
    __m256i offs = _mm256_setr_epi8(DEC_OFFSETS, DEC_OFFSETS);
    __m256i ok = _mm256_and_si256(_mm256_shuffle_epi8(valid, lo),
                                  _mm256_shuffle_epi8(bits, hi));
    __m256i bad = _mm256_cmpeq_epi8(ok, _mm256_setzero_si256());
    __m256i slash = _mm256_cmpeq_epi8(in, _mm256_set1_epi8(0x2F));
    __m256i v = _mm256_add_epi8(in, _mm256_shuffle_epi8(offs, _mm256_add_epi8(hi, slash)));
    v = _mm256_maddubs_epi16(v, _mm256_set1_epi32(DEC_MADDUBS));
    v = _mm256_madd_epi16(v, _mm256_set1_epi32(DEC_MADD));
    v = _mm256_shuffle_epi8(v, _mm256_setr_epi8(DEC_PACK, DEC_PACK));
    _mm_storeu_si128((__m128i *)(void *)dst, _mm256_castsi256_si128(v));
    _mm_storeu_si128((__m128i *)(void *)(dst + 12), _mm256_extracti128_si256(v, 1));
    return (uint32_t)_mm256_movemask_epi8(bad);
}

/* After a block whose first bad character is at in[i + at]: consumes the
 * whole quanta before it, then, when skipping line breaks is allowed and
 * that character starts a quantum, the run of CR and LF there (the line
 * ends of RFC 2045 6.8 text; lenient decoding ignores them, so the state
 * machine would only step over them one by one). Returns the new position,
 * or 0 in *go_on when the vector loop must hand over to the caller. */
static size_t after_bad(const unsigned char *in, size_t n, size_t i, unsigned at,
                        int skip_breaks, size_t *o, int *go_on)
{
    size_t k = at & ~3u;
    i += k;
    *o += k / 4 * 3;
    *go_on = skip_breaks && k == at && (in[i] == '\r' || in[i] == '\n');
    while (*go_on && i < n && (in[i] == '\r' || in[i] == '\n'))
        i++;
    return i;
}

T_SSSE3 static size_t dec_sse_loop(const unsigned char *in, size_t n, size_t i,
                                   unsigned char *out, size_t *nout, int skip_breaks)
{
    size_t o = *nout;
    int go_on = 1;
    while (go_on && n - i >= 24) {
        unsigned bad;
        lm_prefetch(in, i, n);
        bad = dec16(in + i, out + o);
        if (bad) {
            i = after_bad(in, n, i, (unsigned)__builtin_ctz(bad), skip_breaks, &o, &go_on);
            continue;
        }
        i += 16;
        o += 12;
    }
    *nout = o;
    return i;
}

T_SSSE3 size_t lm_b64_dec_ssse3(const unsigned char *in, size_t n, unsigned char *out,
                                size_t *nout, int skip_breaks)
{
    *nout = 0;
    return dec_sse_loop(in, n, 0, out, nout, skip_breaks);
}

T_AVX2 size_t lm_b64_dec_avx2(const unsigned char *in, size_t n, unsigned char *out,
                              size_t *nout, int skip_breaks)
{
    size_t i = 0, o = 0;
    int go_on = 1;
    while (go_on && n - i >= 44) {
        uint32_t bad;
        lm_prefetch(in, i, n);
        bad = dec32(in + i, out + o);
        if (bad) {
            i = after_bad(in, n, i, (unsigned)__builtin_ctz(bad), skip_breaks, &o, &go_on);
            continue;
        }
        i += 32;
        o += 24;
    }
    *nout = o;
    if (!go_on)
        return i;
    return dec_sse_loop(in, n, i, out, nout, skip_breaks);
}

#else
/* Not x86-64: only the scalar kernels of lm_b64.c exist. */
typedef int lm_b64_simd_unused;
#endif
