/* lm_eol.c: CRLF normalisation (see lm_eol.h). Mail text is mostly CRLF
 * lines already, or LF lines: the work is checking, many bytes at a time,
 * that every CR and LF is part of a CRLF pair, copying the clean runs
 * whole and fixing bare LFs without leaving the loop. */
#include "lm_eol.h"

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
/* The bytes of the 32 at p equal to c, one bit each. */
static uint32_t eq32(__m128i x0, __m128i x1, __m128i c)
{
    return (uint32_t)_mm_movemask_epi8(_mm_cmpeq_epi8(x0, c)) |
           (uint32_t)_mm_movemask_epi8(_mm_cmpeq_epi8(x1, c)) << 16;
}

static void store32(unsigned char *o, const unsigned char *p)
{
    _mm_storeu_si128((__m128i *)(void *)o, _mm_loadu_si128((const __m128i *)(const void *)p));
    _mm_storeu_si128((__m128i *)(void *)(o + 16),
                     _mm_loadu_si128((const __m128i *)(const void *)(p + 16)));
}

/* 32 bytes at a time while 64 remain. Each block is stored before it is
 * checked; a bare LF in it (Unix text: one per line) is fixed on the spot
 * by writing a CR at its place and storing the rest of the block again one
 * byte further on. A bare CR, or with dots a '.' after an LF, ends the
 * run. o[i + d] is where p[i] goes. */
static size_t run_sse2(const unsigned char *p, size_t n, int dots, unsigned char *o,
                       size_t *produced)
{
    const __m128i vcr = _mm_set1_epi8('\r'), vlf = _mm_set1_epi8('\n');
    const __m128i vdot = _mm_set1_epi8('.');
    uint32_t cr_carry = 0, lf_carry = 0;
    size_t i = 0, d = 0;
    for (; i + 64 <= n; i += 32) {
        __m128i x0 = _mm_loadu_si128((const __m128i *)(const void *)(p + i));
        __m128i x1 = _mm_loadu_si128((const __m128i *)(const void *)(p + i + 16));
        uint32_t cr = eq32(x0, x1, vcr), lf = eq32(x0, x1, vlf);
        uint32_t stop = cr & ~(lf >> 1 | (uint32_t)(p[i + 32] == '\n') << 31);
        uint32_t bare = lf & ~(cr << 1 | cr_carry);
        if (dots)
            stop |= eq32(x0, x1, vdot) & (lf << 1 | lf_carry);
        if (i == 0)
            stop |= bare & 1; /* an LF at p[0]: the caller's */
        if (stop)
            bare &= (stop & -stop) - 1; /* only those before the stop */
        _mm_storeu_si128((__m128i *)(void *)(o + i + d), x0);
        _mm_storeu_si128((__m128i *)(void *)(o + i + d + 16), x1);
        for (; bare; bare &= bare - 1) {
            size_t k = i + lm_scan_first32(bare);
            o[k + d] = '\r';
            d++;
            store32(o + k + d, p + k);
        }
        if (stop) {
            i += lm_scan_first32(stop);
            *produced = i + d;
            return i;
        }
        cr_carry = cr >> 31;
        lf_carry = lf >> 31;
    }
    i = lm_eol_clean_swar(p, i, n, dots, o + d);
    *produced = i + d;
    return i;
}
#endif

size_t lm_eol_run(const void *in, size_t n, int dots, void *out, size_t *produced)
{
#if LM_SCAN_SSE2
    return run_sse2(in, n, dots, out, produced);
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
