/* lm_mime_body.c: see lm_mime_body.h. The base64 check runs 32 bytes at
 * a time with AVX2 or 16 with SSSE3 when the CPU has them (the same run-time
 * check as the base64 codec), 16 with SSE2 otherwise on x86-64, a byte loop
 * elsewhere. The SIMD versions classify each byte by its two nibbles: a
 * byte is allowed when the class bits of its high nibble and of its low
 * nibble meet (the nibble-table idea of Mula and Lemire's base64 work). */
#include "lm_mime_body.h"

#include <string.h>

#include "lm_b64_impl.h"
#include "lm_scan.h"

#if LM_B64_X86
#include <immintrin.h>

/* Class bits by high nibble: 0x0 TAB LF CR, 0x2 SP + /, 0x3 digits =,
 * 0x4/0x6 letters A-O a-o, 0x5/0x7 letters P-Z p-z; by low nibble: which
 * of those rows allow it. Bytes 0x80 and up have no class. */
#define HI_CLASSES 1, 0, 2, 4, 8, 16, 8, 16, 0, 0, 0, 0, 0, 0, 0, 0
#define LO_CLASSES 22, 28, 28, 28, 28, 28, 28, 28, 28, 29, 25, 10, 8, 13, 8, 10

__attribute__((target("avx2"))) static size_t garbage_avx2(const unsigned char *p, size_t n)
{
    const __m256i hi_t = _mm256_setr_epi8(HI_CLASSES, HI_CLASSES);
    const __m256i lo_t = _mm256_setr_epi8(LO_CLASSES, LO_CLASSES);
    const __m256i nib = _mm256_set1_epi8(0x0F), zero = _mm256_setzero_si256();
    size_t i = 0;
    for (; i + 32 <= n; i += 32) {
        __m256i v = _mm256_loadu_si256((const __m256i *)(const void *)(p + i));
        __m256i hi = _mm256_and_si256(_mm256_srli_epi16(v, 4), nib);
        __m256i c = _mm256_and_si256(_mm256_shuffle_epi8(hi_t, hi),
                                     _mm256_shuffle_epi8(lo_t, _mm256_and_si256(v, nib)));
        if (_mm256_movemask_epi8(_mm256_cmpeq_epi8(c, zero)))
            break;
    }
    return i;
}

__attribute__((target("ssse3"))) static size_t garbage_ssse3(const unsigned char *p, size_t n)
{
    const __m128i hi_t = _mm_setr_epi8(HI_CLASSES), lo_t = _mm_setr_epi8(LO_CLASSES);
    const __m128i nib = _mm_set1_epi8(0x0F), zero = _mm_setzero_si128();
    size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        __m128i v = _mm_loadu_si128((const __m128i *)(const void *)(p + i));
        __m128i hi = _mm_and_si128(_mm_srli_epi16(v, 4), nib);
        __m128i c = _mm_and_si128(_mm_shuffle_epi8(hi_t, hi),
                                  _mm_shuffle_epi8(lo_t, _mm_and_si128(v, nib)));
        if (_mm_movemask_epi8(_mm_cmpeq_epi8(c, zero)))
            break;
    }
    return i;
}
#endif

static int b64_ok(unsigned char c)
{
    unsigned char l = (unsigned char)(c | 0x20);
    return (l >= 'a' && l <= 'z') || (c >= '0' && c <= '9') || c == '+' || c == '/' ||
           c == '=' || c == '\r' || c == '\n' || c == ' ' || c == '\t';
}

size_t lm_mime_b64_garbage(const void *data, size_t n)
{
    const unsigned char *p = data;
    size_t i = 0;
#if LM_B64_X86
    if (lm_b64_cpu_avx2())
        i = garbage_avx2(p, n);
    else if (lm_b64_cpu_ssse3())
        i = garbage_ssse3(p, n);
#endif
#if LM_SCAN_SSE2
    const __m128i x20 = _mm_set1_epi8(0x20);
    const __m128i a1 = _mm_set1_epi8('a' - 1), z1 = _mm_set1_epi8('z' + 1);
    const __m128i d0 = _mm_set1_epi8('0' - 1), d9 = _mm_set1_epi8('9' + 1);
    const __m128i plus = _mm_set1_epi8('+'), slash = _mm_set1_epi8('/');
    const __m128i eq = _mm_set1_epi8('='), cr = _mm_set1_epi8('\r');
    const __m128i lf = _mm_set1_epi8('\n'), sp = _mm_set1_epi8(' ');
    const __m128i tab = _mm_set1_epi8('\t');
    for (; i + 16 <= n; i += 16) {
        /* signed compares: bytes >= 0x80 are negative and fall outside
         * every range, as they should */
        __m128i v = _mm_loadu_si128((const __m128i *)(const void *)(p + i));
        __m128i l = _mm_or_si128(v, x20);
        __m128i ok = _mm_and_si128(_mm_cmpgt_epi8(l, a1), _mm_cmplt_epi8(l, z1));
        ok = _mm_or_si128(ok, _mm_and_si128(_mm_cmpgt_epi8(v, d0), _mm_cmplt_epi8(v, d9)));
        ok = _mm_or_si128(ok, _mm_or_si128(_mm_cmpeq_epi8(v, plus), _mm_cmpeq_epi8(v, slash)));
        ok = _mm_or_si128(ok, _mm_or_si128(_mm_cmpeq_epi8(v, eq), _mm_cmpeq_epi8(v, cr)));
        ok = _mm_or_si128(ok, _mm_or_si128(_mm_cmpeq_epi8(v, lf), _mm_cmpeq_epi8(v, sp)));
        ok = _mm_or_si128(ok, _mm_cmpeq_epi8(v, tab));
        if (_mm_movemask_epi8(ok) != 0xFFFF)
            break;
    }
#endif
    for (; i < n; i++)
        if (!b64_ok(p[i]))
            return i;
    return n;
}

static int is_hex(unsigned char c)
{
    return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'F') || (c >= 'a' && c <= 'f');
}

int lm_mime_qp_clean(const void *data, size_t n)
{
    const unsigned char *p = data, *e = p + n, *q = p;
    while ((q = memchr(q, '=', (size_t)(e - q))) != NULL) {
        size_t i = 1;
        if (q + 2 < e && is_hex(q[1]) && is_hex(q[2])) {
            q += 3;
            continue;
        }
        while (q + i < e && (q[i] == ' ' || q[i] == '\t'))
            i++;
        if (!(q + i == e || q[i] == '\n' || (q[i] == '\r' && q + i + 1 < e && q[i + 1] == '\n')))
            return 0;
        q += i;
    }
    return 1;
}
