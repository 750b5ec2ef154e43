/* lm_b64.c: base64 encoder and decoder state machines (RFC 4648 4, RFC 2045
 * 6.8) and the portable scalar kernels. The SIMD kernels live in
 * lm_b64_simd.c; every path produces the same bytes. */
#include "lm_b64.h"
#include "lm_b64_impl.h"

#include <string.h>

/* ---- tables, built by the preprocessor so they are const and shared ---- */

/* The RFC 4648 table 1 character for sextet i (0..63). */
#define ENC_CHAR(i)                                                            \
    ((i) < 26 ? 'A' + (i) : (i) < 52 ? 'a' + (i) - 26                          \
                          : (i) < 62 ? '0' + (i) - 52 : (i) == 62 ? '+' : '/')

/* Two output characters for each 12-bit input group: one lookup per two
 * characters halves the table work of the scalar encoder. */
#define E2(x) {(char)ENC_CHAR((x) >> 6), (char)ENC_CHAR((x) & 63)}
#define E2_4(x) E2(x), E2((x) + 1), E2((x) + 2), E2((x) + 3)
#define E2_16(x) E2_4(x), E2_4((x) + 4), E2_4((x) + 8), E2_4((x) + 12)
#define E2_64(x) E2_16(x), E2_16((x) + 16), E2_16((x) + 32), E2_16((x) + 48)
#define E2_256(x) E2_64(x), E2_64((x) + 64), E2_64((x) + 128), E2_64((x) + 192)
#define E2_1024(x)                                                             \
    E2_256(x), E2_256((x) + 256), E2_256((x) + 512), E2_256((x) + 768)
static const char enc_pairs[4096][2] = {
    E2_1024(0), E2_1024(1024), E2_1024(2048), E2_1024(3072)};

/* Decoding classes: 0..63 a sextet, DEC_PAD '=', DEC_BAD anything else.
 * Both classes have a bit in 0xC0 so one test rejects a group of four. */
enum { DEC_PAD = 0x40, DEC_BAD = 0x80 };
#define DV(c)                                                                  \
    ((c) >= 'A' && (c) <= 'Z'   ? (c) - 'A'                                    \
     : (c) >= 'a' && (c) <= 'z' ? (c) - 'a' + 26                               \
     : (c) >= '0' && (c) <= '9' ? (c) - '0' + 52                               \
     : (c) == '+'               ? 62                                           \
     : (c) == '/'               ? 63                                           \
     : (c) == '='               ? DEC_PAD                                      \
                                : DEC_BAD)
#define DVC(c) (unsigned char)DV(c)
#define DV4(c) DVC(c), DVC((c) + 1), DVC((c) + 2), DVC((c) + 3)
#define DV16(c) DV4(c), DV4((c) + 4), DV4((c) + 8), DV4((c) + 12)
#define DV64(c) DV16(c), DV16((c) + 16), DV16((c) + 32), DV16((c) + 48)
static const unsigned char dec_table[256] = {DV64(0), DV64(64), DV64(128),
                                             DV64(192)};

/* ---- implementation choice ---- */

int lm_b64_impl_available(int impl)
{
    switch (impl) {
    case LM_B64_AUTO:
    case LM_B64_SCALAR:
        return 1;
#if LM_B64_X86
    case LM_B64_SSSE3:
        return lm_b64_cpu_ssse3();
    case LM_B64_AVX2:
        return lm_b64_cpu_avx2();
#endif
    default:
        return 0;
    }
}

static int impl_resolve(int impl)
{
    if (impl != LM_B64_AUTO)
        return impl;
    if (lm_b64_impl_available(LM_B64_AVX2))
        return LM_B64_AVX2;
    if (lm_b64_impl_available(LM_B64_SSSE3))
        return LM_B64_SSSE3;
    return LM_B64_SCALAR;
}

const char *lm_b64_impl_name(int impl)
{
    switch (impl_resolve(impl)) {
    case LM_B64_AVX2:
        return "avx2";
    case LM_B64_SSSE3:
        return "ssse3";
    default:
        return "scalar";
    }
}

/* ---- encoder ---- */

/* A span kernel encodes bytes with no line breaks; a lines kernel encodes
 * whole lines with their CRLF in one call, keeping the per-line cost of
 * RFC 2045 wrapping inside the vector code. */
typedef void (*enc_span_fn)(const unsigned char *, size_t, char *);
typedef void (*enc_lines_fn)(const unsigned char *, size_t, size_t, char *);

typedef struct enc_kernel {
    enc_span_fn span;
    enc_lines_fn lines;
} enc_kernel;

static enc_kernel enc_kernel_for(int impl)
{
    enc_kernel k = {lm_b64_enc_scalar, lm_b64_enc_lines_scalar};
#if LM_B64_X86
    if (impl == LM_B64_AVX2) {
        k.span = lm_b64_enc_avx2;
        k.lines = lm_b64_enc_lines_avx2;
    } else if (impl == LM_B64_SSSE3) {
        k.span = lm_b64_enc_ssse3;
        k.lines = lm_b64_enc_lines_ssse3;
    }
#else
    (void)impl;
#endif
    return k;
}

void lm_b64_enc_scalar(const unsigned char *in, size_t n, char *out)
{
    size_t i;
    for (i = 0; i + 3 <= n; i += 3, out += 4) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
        memcpy(out, enc_pairs[v >> 12], 2);
        memcpy(out + 2, enc_pairs[v & 0xFFF], 2);
    }
}

void lm_b64_enc_lines_scalar(const unsigned char *in, size_t lines, size_t bpl,
                             char *out)
{
    size_t cpl = bpl / 3 * 4;
    for (; lines; lines--, in += bpl, out += cpl + 2) {
        lm_b64_enc_scalar(in, bpl, out);
        out[cpl] = '\r';
        out[cpl + 1] = '\n';
    }
}

int lm_b64_enc_init(lm_b64_enc *e, size_t linelen, int impl)
{
    memset(e, 0, sizeof *e);
    if (linelen % 4 != 0 || linelen > LM_B64_MAX_LINELEN ||
        !lm_b64_impl_available(impl))
        return LM_EINVAL;
    e->linelen = linelen;
    e->impl = impl_resolve(impl);
    return LM_OK;
}

/* Encodes n bytes (a multiple of 3), breaking lines as soon as one is full
 * so a stream that ends on a line boundary needs nothing more from finish. */
static char *enc_lines(lm_b64_enc *e, enc_kernel k, const unsigned char *in,
                       size_t n, char *o)
{
    size_t bpl = e->linelen / 4 * 3;
    if (!e->linelen) {
        k.span(in, n, o);
        return o + n / 3 * 4;
    }
    while (n) {
        size_t room = (e->linelen - e->col) / 4 * 3;
        size_t b = n < room ? n : room;
        if (e->col == 0 && n >= bpl) {
            size_t lines = n / bpl;
            k.lines(in, lines, bpl, o);
            o += lines * (e->linelen + 2);
            in += lines * bpl;
            n -= lines * bpl;
            continue;
        }
        k.span(in, b, o);
        o += b / 3 * 4;
        e->col += b / 3 * 4;
        in += b;
        n -= b;
        if (e->col == e->linelen) {
            *o++ = '\r';
            *o++ = '\n';
            e->col = 0;
        }
    }
    return o;
}

int lm_b64_enc_step(lm_b64_enc *e, const void *in_, size_t n, char *out,
                    size_t *outlen)
{
    const unsigned char *in = in_;
    char *o = out;
    size_t full;
    *outlen = 0;
    if (n == 0) /* in may be NULL then */
        return LM_OK;
    if (e->npend) {
        while (e->npend < 3 && n) {
            e->pend[e->npend++] = *in++;
            n--;
        }
        if (e->npend < 3)
            return LM_OK;
        o = enc_lines(e, enc_kernel_for(LM_B64_SCALAR), e->pend, 3, o);
        e->npend = 0;
    }
    full = n / 3 * 3;
    o = enc_lines(e, enc_kernel_for(e->impl), in, full, o);
    memcpy(e->pend, in + full, n - full);
    e->npend = (unsigned)(n - full);
    *outlen = (size_t)(o - out);
    return LM_OK;
}

int lm_b64_enc_finish(lm_b64_enc *e, char *out, size_t *outlen)
{
    char *o = out;
    if (e->npend) {
        /* RFC 4648 3.5: the pad bits of the last character are zero. */
        uint32_t v = (uint32_t)e->pend[0] << 16;
        if (e->npend == 2)
            v |= (uint32_t)e->pend[1] << 8;
        o[0] = (char)ENC_CHAR(v >> 18);
        o[1] = (char)ENC_CHAR((v >> 12) & 63);
        o[2] = e->npend == 2 ? (char)ENC_CHAR((v >> 6) & 63) : '=';
        o[3] = '=';
        o += 4;
        e->col += 4;
    }
    if (e->linelen && e->col) {
        *o++ = '\r';
        *o++ = '\n';
    }
    e->col = 0;
    e->npend = 0;
    *outlen = (size_t)(o - out);
    return LM_OK;
}

/* ---- decoder ---- */

enum { ST_DATA, ST_PAD1, ST_END };

int lm_b64_dec_init(lm_b64_dec *d, int strict, int impl)
{
    memset(d, 0, sizeof *d);
    if (!lm_b64_impl_available(impl))
        return LM_EINVAL;
    d->strict = strict ? 1 : 0;
    d->impl = impl_resolve(impl);
    d->state = ST_DATA;
    return LM_OK;
}

static int dec_fail(lm_b64_dec *d, uint64_t off, int truncated)
{
    d->err = LM_EINVAL;
    d->err_off = off;
    d->truncated = truncated;
    return LM_EINVAL;
}

/* Writes the 1 or 2 bytes of a quantum of 2 or 3 sextets. */
static unsigned char *dec_partial(lm_b64_dec *d, unsigned char *o)
{
    if (d->nacc == 2) {
        *o++ = (unsigned char)(d->acc >> 4);
    } else if (d->nacc == 3) {
        *o++ = (unsigned char)(d->acc >> 10);
        *o++ = (unsigned char)(d->acc >> 2);
    }
    d->acc = 0;
    d->nacc = 0;
    return o;
}

/* '=' at offset off while in ST_DATA (RFC 4648 3.2 / RFC 2045 6.8). */
static int dec_pad(lm_b64_dec *d, uint64_t off, unsigned char **op)
{
    if (d->nacc < 2)
        return d->strict ? dec_fail(d, off, 0) : LM_OK;
    /* RFC 4648 3.5: strict refuses non-canonical encodings, naming the data
     * character that carries the non-zero bits (strict skips nothing, so it
     * sits just before this '='). */
    if (d->strict && (d->acc & (d->nacc == 2 ? 0xFu : 0x3u)))
        return dec_fail(d, off - 1, 0);
    d->state = d->strict && d->nacc == 2 ? ST_PAD1 : ST_END;
    *op = dec_partial(d, *op);
    return LM_OK;
}

/* One character the fast path did not take, at stream offset off. */
static int dec_char(lm_b64_dec *d, unsigned c, uint64_t off, unsigned char **op)
{
    unsigned v = dec_table[c];
    if (d->state == ST_PAD1) {
        if (c != '=')
            return dec_fail(d, off, 0);
        d->state = ST_END;
        return LM_OK;
    }
    if (d->state == ST_END)
        return d->strict ? dec_fail(d, off, 0) : LM_OK;
    if (v == DEC_PAD)
        return dec_pad(d, off, op);
    if (v == DEC_BAD)
        return d->strict ? dec_fail(d, off, 0) : LM_OK;
    d->acc = d->acc << 6 | v;
    if (++d->nacc == 4) {
        unsigned char *o = *op;
        o[0] = (unsigned char)(d->acc >> 16);
        o[1] = (unsigned char)(d->acc >> 8);
        o[2] = (unsigned char)d->acc;
        *op = o + 3;
        d->acc = 0;
        d->nacc = 0;
    }
    return LM_OK;
}

static size_t dec_vector(const lm_b64_dec *d, const unsigned char *p, size_t n,
                         unsigned char *o, size_t *nout)
{
#if LM_B64_X86
    if (d->impl == LM_B64_AVX2)
        return lm_b64_dec_avx2(p, n, o, nout, !d->strict);
    if (d->impl == LM_B64_SSSE3)
        return lm_b64_dec_ssse3(p, n, o, nout, !d->strict);
#else
    (void)d;
    (void)p;
    (void)n;
    (void)o;
#endif
    *nout = 0;
    return 0;
}

/* Whole quanta of valid characters at a quantum boundary: vector blocks,
 * then groups of four; returns where the first group with any other
 * character starts. */
static const unsigned char *dec_fast(const lm_b64_dec *d, const unsigned char *p,
                                     const unsigned char *end, unsigned char **op)
{
    unsigned char *o = *op;
    if (d->impl != LM_B64_SCALAR && end - p >= 24 && dec_table[*p] < 64) {
        size_t w;
        p += dec_vector(d, p, (size_t)(end - p), o, &w);
        o += w;
    }
    while (end - p >= 4) {
        uint32_t a = dec_table[p[0]], b = dec_table[p[1]];
        uint32_t c = dec_table[p[2]], e = dec_table[p[3]];
        uint32_t v;
        if ((a | b | c | e) & 0xC0)
            break;
        v = a << 18 | b << 12 | c << 6 | e;
        o[0] = (unsigned char)(v >> 16);
        o[1] = (unsigned char)(v >> 8);
        o[2] = (unsigned char)v;
        o += 3;
        p += 4;
    }
    *op = o;
    return p;
}

int lm_b64_dec_step(lm_b64_dec *d, const void *in_, size_t n, void *out,
                    size_t *outlen)
{
    const unsigned char *in = in_, *p = in, *end;
    unsigned char *o = out;
    *outlen = 0;
    if (d->err || n == 0) /* in may be NULL when n is 0 */
        return d->err;
    end = in + n;
    while (p < end) {
        if (d->nacc == 0 && d->state == ST_DATA) {
            p = dec_fast(d, p, end, &o);
            if (p == end)
                break;
        }
        if (dec_char(d, *p, d->pos + (uint64_t)(p - in), &o) != LM_OK)
            break;
        p++;
    }
    d->pos += (uint64_t)(p - in);
    *outlen = (size_t)(o - (unsigned char *)out);
    return d->err;
}

static int dec_end(lm_b64_dec *d, unsigned char **op)
{
    if (d->err)
        return d->err;
    if (d->state == ST_PAD1 || d->nacc == 1 || (d->strict && d->nacc))
        return dec_fail(d, d->pos, 1);
    *op = dec_partial(d, *op);
    return LM_OK;
}

int lm_b64_dec_finish(lm_b64_dec *d, void *out, size_t *outlen)
{
    unsigned char *o = out;
    int rc = dec_end(d, &o);
    uint64_t off = d->err_off;
    int truncated = d->truncated;
    d->pos = 0;
    d->acc = 0;
    d->nacc = 0;
    d->state = ST_DATA;
    d->err = LM_OK;
    d->err_off = off;
    d->truncated = truncated;
    *outlen = rc == LM_OK ? (size_t)(o - (unsigned char *)out) : 0;
    return rc;
}

uint64_t lm_b64_dec_error(const lm_b64_dec *d, int *truncated)
{
    if (truncated)
        *truncated = d->truncated;
    return d->err_off;
}

/* ---- one-shot helpers ---- */

size_t lm_b64_encoded_len(size_t n, size_t linelen)
{
    size_t chars = (n / 3 + (n % 3 != 0)) * 4;
    return linelen ? chars + 2 * (chars / linelen + (chars % linelen != 0)) : chars;
}

int lm_b64_encode(const void *in, size_t n, size_t linelen, char *out,
                  size_t *outlen)
{
    lm_b64_enc e;
    size_t a, b;
    int rc = lm_b64_enc_init(&e, linelen, LM_B64_AUTO);
    if (rc != LM_OK)
        return rc;
    lm_b64_enc_step(&e, in, n, out, &a);
    lm_b64_enc_finish(&e, out + a, &b);
    *outlen = a + b;
    return LM_OK;
}

int lm_b64_decode(const void *in, size_t n, int strict, void *out,
                  size_t *outlen, uint64_t *err_off)
{
    lm_b64_dec d;
    size_t a = 0, b = 0;
    int rc;
    lm_b64_dec_init(&d, strict, LM_B64_AUTO);
    rc = lm_b64_dec_step(&d, in, n, out, &a);
    if (rc == LM_OK)
        rc = lm_b64_dec_finish(&d, (unsigned char *)out + a, &b);
    *outlen = rc == LM_OK ? a + b : 0;
    if (rc != LM_OK && err_off)
        *err_off = d.err_off;
    return rc;
}
