/* lm_eol.c: CRLF normalisation (see lm_eol.h). Mail text is mostly CRLF
 * lines already, or LF lines: the work is checking, many bytes at a time,
 * that every CR and LF is part of a CRLF pair, copying the clean runs
 * whole and fixing bare LFs without leaving the loop. */
#include "lm_eol.h"
#include "lm_prefetch.h"

#include "lm_scan.h"

/* Whether p[k] ends a clean run (see lm_eol_run), for the bytes no whole
 * word covers. */
static int bad_byte(const unsigned char *p, size_t k, size_t n, int dots)
{
    switch (p[k]) {
    case '\r':
        return k + 1 >= n || p[k + 1] != '\n';
    case '\n':
        return k == 0 || p[k - 1] != '\r';
    case '.':
        return dots && k > 0 && p[k - 1] == '\n';
    default:
        return 0;
    }
}

/* The portable loop: the clean run from p[i] on (p[i - 1], if any, was
 * checked and copied), eight bytes at a time; returns where it ends. Each
 * word is copied before it is checked, so clean text is read once; bytes
 * copied beyond the run stay within o[0..n) and the caller overwrites
 * them. The masks carry the last byte of the previous word: an LF must
 * have a CR just before it, and after a CR the next byte must be that LF
 * (a failure then shows at the byte after the CR, so the run ends before
 * the CR). */
size_t lm_eol_clean_swar(const unsigned char *p, size_t i, size_t n, int dots,
                         unsigned char *o)
{
    uint64_t cr_carry = i > 0 && p[i - 1] == '\r' ? 0x80 : 0;
    uint64_t lf_carry = i > 0 && p[i - 1] == '\n' ? 0x80 : 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t x = lm_scan_load(p + i);
        uint64_t cr = lm_scan_eq(x, '\r'), lf = lm_scan_eq(x, '\n');
        uint64_t bad = lf ^ (cr << 8 | cr_carry);
        if (dots)
            bad |= lm_scan_eq(x, '.') & (lf << 8 | lf_carry);
        memcpy(o + i, p + i, 8); /* beyond the run it is scratch */
        if (bad)
            return lm_scan_stop(p, i + lm_scan_first(bad));
        cr_carry = cr >> 56;
        lf_carry = lf >> 56;
    }
    if (cr_carry)
        i--; /* its LF is not in this word: the byte rule looks again */
    for (; i < n && !bad_byte(p, i, n, dots); i++)
        o[i] = p[i];
    return i;
}

#if LM_SCAN_SSE2
/* The block loop of the vector paths, written once: scan32 loads the 32
 * bytes at p, stores them at o and returns their CR, LF and '.' masks (bit
 * k for byte k; '.' only when dots); copy32 copies 32 bytes. Each path
 * passes its own pair, which the compiler inlines into it, so both paths
 * run the same logic with their own instructions.
 *
 * 32 bytes at a time while 64 remain. Each block is stored before it is
 * checked. Unix text has a bare LF every line, so about every other block
 * holds one: rather than branching on that (a branch no CPU can predict),
 * every block writes a CR at the place of its first bare LF, or just past
 * its end when it has none, and stores the bytes from there again one byte
 * further on; the output position moves on by one when there was such an
 * LF. Past the output all that is scratch, which the next block
 * overwrites. A block with two bare LFs, a bare CR, or with dots a '.'
 * after an LF goes the careful way: it fixes each bare LF before the first
 * such stop, and a stop ends the run. o[i + d] is where p[i] goes. */
typedef struct eol_masks {
    uint32_t cr, lf, dot;
} eol_masks;

typedef eol_masks (*scan32_fn)(const unsigned char *p, unsigned char *o, int dots);
typedef void (*copy32_fn)(unsigned char *o, const unsigned char *p);

static inline __attribute__((always_inline)) size_t
run_blocks(const unsigned char *p, size_t n, int dots, unsigned char *o, size_t *produced,
           scan32_fn scan32, copy32_fn copy32)
{
    uint32_t cr_carry = 0, lf_carry = 0;
    size_t i = 0, d = 0;
    if (n && p[0] == '\n') {
        *produced = 0;
        return 0; /* an LF at p[0]: the caller's */
    }
    for (; i + 64 <= n; i += 32) {
        eol_masks m;
        /* o + d holds at least n bytes: d <= i, and o holds 2n */
        lm_prefetch_rw(p, o + d, i, n);
        m = scan32(p + i, o + i + d, dots);
        uint32_t stop = m.cr & ~(m.lf >> 1 | (uint32_t)(p[i + 32] == '\n') << 31);
        uint32_t bare = m.lf & ~(m.cr << 1 | cr_carry);
        if (dots)
            stop |= m.dot & (m.lf << 1 | lf_carry);
        if (!(stop | (bare & (bare - 1)))) {
            size_t k = (size_t)lm_scan_first64(bare | UINT64_C(1) << 32);
            o[i + d + k] = '\r';
            copy32(o + i + d + k + 1, p + i + k);
            d += bare != 0;
        } else {
            if (stop)
                bare &= (stop & -stop) - 1; /* only those before the stop */
            for (; bare; bare &= bare - 1) {
                size_t k = i + lm_scan_first32(bare);
                o[k + d] = '\r';
                d++;
                copy32(o + k + d, p + k);
            }
            if (stop) {
                i += lm_scan_first32(stop);
                *produced = i + d;
                return i;
            }
        }
        cr_carry = m.cr >> 31;
        lf_carry = m.lf >> 31;
    }
    i = lm_eol_clean_swar(p, i, n, dots, o + d);
    *produced = i + d;
    return i;
}

static inline uint32_t eq16(__m128i x, char c)
{
    return (uint32_t)_mm_movemask_epi8(_mm_cmpeq_epi8(x, _mm_set1_epi8(c)));
}

static inline eol_masks scan32_sse2(const unsigned char *p, unsigned char *o, int dots)
{
    __m128i x0 = _mm_loadu_si128((const __m128i *)(const void *)p);
    __m128i x1 = _mm_loadu_si128((const __m128i *)(const void *)(p + 16));
    eol_masks m;
    _mm_storeu_si128((__m128i *)(void *)o, x0);
    _mm_storeu_si128((__m128i *)(void *)(o + 16), x1);
    m.cr = eq16(x0, '\r') | eq16(x1, '\r') << 16;
    m.lf = eq16(x0, '\n') | eq16(x1, '\n') << 16;
    m.dot = dots ? eq16(x0, '.') | eq16(x1, '.') << 16 : 0;
    return m;
}

static inline void copy32_sse2(unsigned char *o, const unsigned char *p)
{
    __m128i a = _mm_loadu_si128((const __m128i *)(const void *)p);
    __m128i b = _mm_loadu_si128((const __m128i *)(const void *)(p + 16));
    _mm_storeu_si128((__m128i *)(void *)o, a);
    _mm_storeu_si128((__m128i *)(void *)(o + 16), b);
}

size_t lm_eol_run_sse2(const void *in, size_t n, int dots, void *out, size_t *produced)
{
    /* two copies, so that `dots` is a constant in each */
    if (dots)
        return run_blocks(in, n, 1, out, produced, scan32_sse2, copy32_sse2);
    return run_blocks(in, n, 0, out, produced, scan32_sse2, copy32_sse2);
}
#endif

#if LM_SCAN_AVX2
static inline LM_SCAN_T_AVX2 uint32_t eq32(__m256i x, char c)
{
    return (uint32_t)_mm256_movemask_epi8(_mm256_cmpeq_epi8(x, _mm256_set1_epi8(c)));
}

static inline LM_SCAN_T_AVX2 eol_masks scan32_avx2(const unsigned char *p, unsigned char *o,
                                                    int dots)
{
    __m256i x = _mm256_loadu_si256((const __m256i *)(const void *)p);
    eol_masks m;
    _mm256_storeu_si256((__m256i *)(void *)o, x);
    m.cr = eq32(x, '\r');
    m.lf = eq32(x, '\n');
    m.dot = dots ? eq32(x, '.') : 0;
    return m;
}

static inline LM_SCAN_T_AVX2 void copy32_avx2(unsigned char *o, const unsigned char *p)
{
    _mm256_storeu_si256((__m256i *)(void *)o,
                        _mm256_loadu_si256((const __m256i *)(const void *)p));
}

LM_SCAN_T_AVX2 size_t lm_eol_run_avx2(const void *in, size_t n, int dots, void *out,
                                      size_t *produced)
{
    if (dots)
        return run_blocks(in, n, 1, out, produced, scan32_avx2, copy32_avx2);
    return run_blocks(in, n, 0, out, produced, scan32_avx2, copy32_avx2);
}
#endif

size_t lm_eol_run(const void *in, size_t n, int dots, void *out, size_t *produced)
{
#if LM_SCAN_AVX2
    if (lm_scan_avx2())
        return lm_eol_run_avx2(in, n, dots, out, produced);
#endif
#if LM_SCAN_SSE2
    return lm_eol_run_sse2(in, n, dots, out, produced);
#else
    *produced = lm_eol_clean_swar(in, 0, n, dots, out);
    return *produced;
#endif
}

int lm_eol_init(lm_eol *e)
{
    e->cr = 0;
    return LM_OK;
}

int lm_eol_step(lm_eol *e, const void *in, size_t n, void *out, size_t *outlen)
{
    const unsigned char *p = in;
    unsigned char *o = out;
    size_t i = 0;
    if (n) {
        if (e->cr && p[0] == '\n')
            i = 1; /* the LF of a CRLF whose CR ended the previous chunk */
        e->cr = 0;
    }
    while (i < n) {
        size_t made, run = lm_eol_run(p + i, n - i, 0, o, &made);
        o += made;
        i += run;
        if (i == n)
            break;
        /* a bare CR or LF, or a CR at the end of the chunk */
        *o++ = '\r';
        *o++ = '\n';
        if (p[i++] == '\r') {
            if (i == n)
                e->cr = 1;
            else if (p[i] == '\n')
                i++;
        }
    }
    *outlen = (size_t)(o - (unsigned char *)out);
    return LM_OK;
}

int lm_eol_finish(lm_eol *e, size_t *outlen)
{
    e->cr = 0;
    *outlen = 0;
    return LM_OK;
}

int lm_eol_normalize(const void *in, size_t n, void *out, size_t *outlen)
{
    lm_eol e;
    lm_eol_init(&e);
    return lm_eol_step(&e, in, n, out, outlen);
}
