/* lm_qp.c: quoted-printable encoder and decoder (RFC 2045 6.7); the output
 * format and the decoding rules are documented in lm_qp.h.
 *
 * Both codecs have a general byte-at-a-time state machine and a fast loop
 * for the common case that looks ahead inside the current chunk. The fast
 * loop only handles cases whose output cannot depend on bytes beyond the
 * chunk, and gives exactly what the state machine would, so the output does
 * not depend on how the input is split. */
#include "lm_qp.h"
#include "lm_prefetch.h"

#include <string.h>

#include "lm_scan.h"

/* RFC 2045 6.7 rule 5: at most 76 characters per encoded line. A token that
 * is followed by more data on its line must leave room for a soft break. */
#define LINE_MAX_LAST 76u
#define LINE_MAX_MID 75u

static const char HEX[] = "0123456789ABCDEF";

/* ---- encoder ---- */

enum { K_LIT, K_WS, K_ESC, K_CR, K_LF };

/* The rules as a table per mode, built by the preprocessor: one lookup
 * classifies each byte the loops meet. */
#define CLS_ROW(b) ((b) == ' ' || (b) == '\t' ? K_WS : (b) == '\r' ? K_CR :       \
                    (b) == '\n' ? K_LF : ((b) >= 33 && (b) <= 126 && (b) != '=') ? \
                    K_LIT : K_ESC)
#define C4(b) CLS_ROW(b), CLS_ROW((b) + 1), CLS_ROW((b) + 2), CLS_ROW((b) + 3)
#define C16(b) C4(b), C4((b) + 4), C4((b) + 8), C4((b) + 12)
#define C64(b) C16(b), C16((b) + 16), C16((b) + 32), C16((b) + 48)
static const unsigned char text_cls[256] = {C64(0), C64(64), C64(128), C64(192)};
#undef CLS_ROW
/* Binary mode: CR and LF are data like any other control character. */
#define CLS_ROW(b) ((b) == ' ' || (b) == '\t' ? K_WS :                          \
                    ((b) >= 33 && (b) <= 126 && (b) != '=') ? K_LIT : K_ESC)
static const unsigned char binary_cls[256] = {C64(0), C64(64), C64(128), C64(192)};
#undef CLS_ROW
#undef C4
#undef C16
#undef C64

int lm_qp_enc_init(lm_qp_enc *e, int flags)
{
    if (flags & ~LM_QP_BINARY)
        return LM_EINVAL;
    e->cls = (flags & LM_QP_BINARY) ? binary_cls : text_cls;
    e->col = 0;
    e->pend = -1;
    e->cr = 0;
    return LM_OK;
}

static char *put_hex(char *o, unsigned c)
{
    o[0] = '=';
    o[1] = HEX[c >> 4];
    o[2] = HEX[c & 15];
    return o + 3;
}

static char *put_crlf(char *o)
{
    o[0] = '\r';
    o[1] = '\n';
    return o + 2;
}

/* Writes the held byte. last: it ends its encoded line (a hard break or the
 * end of the data follows), so white space must be escaped (rule 3) and the
 * token may use column 76, as no soft break has to follow it. */
static char *flush_pend(lm_qp_enc *e, char *o, int last)
{
    unsigned c, k, len;
    if (e->pend < 0)
        return o;
    c = (unsigned)e->pend;
    k = e->cls[c];
    e->pend = -1;
    len = (k == K_LIT || (k == K_WS && !last)) ? 1 : 3;
    if (e->col + len > (last ? LINE_MAX_LAST : LINE_MAX_MID)) {
        *o++ = '=';
        o = put_crlf(o);
        e->col = 0;
    }
    e->col += len;
    if (len == 1)
        *o++ = (char)c;
    else
        o = put_hex(o, c);
    return o;
}

static char *hard_break(lm_qp_enc *e, char *o)
{
    o = flush_pend(e, o, 1);
    e->col = 0;
    return put_crlf(o);
}

/* The general state machine: one input byte, no look-ahead. Every byte is
 * held until the next one shows whether it ends its line. */
static char *enc_byte(lm_qp_enc *e, char *o, unsigned c)
{
    unsigned k = e->cls[c];
    if (e->cr) {
        e->cr = 0;
        if (k == K_LF)
            return hard_break(e, o);
        o = flush_pend(e, o, 0);
        e->pend = '\r'; /* a bare CR is data: =0D */
    }
    if (k == K_CR) {
        e->cr = 1; /* the held byte waits too: CRLF would end its line */
        return o;
    }
    if (k == K_LF)
        return hard_break(e, o);
    o = flush_pend(e, o, 0);
    e->pend = (int)c;
    return o;
}

/* The length of the run of bytes from '!' to '~' and SPACE, '=' excepted,
 * at the start of p[0..n): the bytes an encoder may copy as they are. */
size_t lm_qp_simple_swar(const unsigned char *p, size_t i, size_t n)
{
    for (; i + 8 <= n; i += 8) {
        uint64_t x = lm_scan_load(p + i);
        uint64_t bad = (x & LM_SCAN_HIGHS) | lm_scan_below(x, 0x20) |
                       lm_scan_eq(x, 0x7f) | lm_scan_eq(x, '=');
        if (bad)
            return i + lm_scan_first(bad);
    }
    while (i < n && p[i] >= 0x20 && p[i] < 0x7f && p[i] != '=')
        i++;
    return i;
}

#if !LM_SCAN_SSE2
/* Runs within one line are short: fixed-size copies beat memcpy's set-up. */
static char *copy_short(char *o, const unsigned char *p, size_t n)
{
    for (; n >= 8; n -= 8, o += 8, p += 8)
        memcpy(o, p, 8);
    while (n--)
        *o++ = (char)*p++;
    return o;
}
#endif

/* Copies into o the run of such bytes at the start of p[0..n), at most lim
 * of them, and returns its length. It may write up to 16 bytes past the
 * run (scratch, within the encoder's bound: the input left is at least as
 * long, and each input byte has three output bytes of room). */
static size_t simple_copy(const unsigned char *p, size_t n, size_t lim, char *o)
{
    size_t j = 0;
#if LM_SCAN_SSE2
    const __m128i ctl = _mm_set1_epi8(0x1f), del = _mm_set1_epi8(0x7f);
    const __m128i eq = _mm_set1_epi8('=');
    for (; j + 16 <= n && j < lim; j += 16) {
        __m128i x = _mm_loadu_si128((const __m128i *)(const void *)(p + j));
        /* signed compare: the 8-bit bytes are negative, so not above 0x1f */
        __m128i ok = _mm_andnot_si128(_mm_or_si128(_mm_cmpeq_epi8(x, del), _mm_cmpeq_epi8(x, eq)),
                                      _mm_cmpgt_epi8(x, ctl));
        uint32_t bad = ~(uint32_t)_mm_movemask_epi8(ok) & 0xffffu;
        _mm_storeu_si128((__m128i *)(void *)(o + j), x);
        if (bad) {
            j += lm_scan_first32(bad);
            return j < lim ? j : lim;
        }
    }
    if (j >= lim)
        return lim;
    n = n < lim ? n : lim;
    for (; j < n && p[j] >= 0x20 && p[j] < 0x7f && p[j] != '='; j++)
        o[j] = (char)p[j];
    return j;
#else
    j = lm_qp_simple_swar(p, 0, n < lim ? n : lim);
    copy_short(o, p, j);
    return j;
#endif
}

/* The fast loop: while nothing is held, handles in[i] whenever in[i + 1]
 * is enough to decide it exactly as enc_byte would. Returns the index of
 * the first byte it did not handle. */
static size_t enc_fast(lm_qp_enc *e, const unsigned char *in, size_t i, size_t n,
                       char **op)
{
    const unsigned char *cls = e->cls;
    char *o = *op;
    unsigned col = e->col;
    while (i + 1 < n) {
        unsigned c = in[i], k = cls[c];
        if (k == K_LIT || k == K_WS) {
            unsigned next = cls[in[i + 1]];
            size_t run;
            if (next == K_CR || next == K_LF)
                break; /* maybe last on its line */
            if (col >= LINE_MAX_MID) {
                *o++ = '='; /* c is not last: a soft break before it */
                o = put_crlf(o);
                col = 0;
            }
            /* each byte of a simple run but the last is followed by a
             * simple byte, so it is not last on its line: copied as it is
             * (c itself is not last either: a TAB, or a run of one) */
            run = simple_copy(in + i, n - i, LINE_MAX_MID - col + 1, o);
            if (run > 1) {
                run--;
            } else {
                run = 1;
                *o = (char)c;
            }
            o += run;
            col += (unsigned)run;
            i += run;
        } else if (k == K_ESC) {
            if (col + 3 > LINE_MAX_MID)
                break;
            o = put_hex(o, c);
            col += 3;
            i++;
        } else if (k == K_LF || in[i + 1] == '\n') {
            o = put_crlf(o);
            col = 0;
            i += k == K_LF ? 1 : 2;
        } else {
            break; /* a bare CR */
        }
    }
    e->col = col;
    *op = o;
    return i;
}

int lm_qp_enc_step(lm_qp_enc *e, const void *in, size_t n, char *out,
                   size_t *outlen)
{
    const unsigned char *p = in;
    char *o = out;
    size_t i = 0;
    while (i < n) {
        if (e->pend >= 0 && !e->cr && e->cls[p[i]] != K_CR)
            o = flush_pend(e, o, e->cls[p[i]] == K_LF);
        if (e->pend < 0 && !e->cr)
            i = enc_fast(e, p, i, n, &o);
        if (i < n)
            o = enc_byte(e, o, p[i++]);
    }
    *outlen = (size_t)(o - out);
    return LM_OK;
}

int lm_qp_enc_finish(lm_qp_enc *e, char *out, size_t *outlen)
{
    char *o = out;
    if (e->cr) {
        o = flush_pend(e, o, 0);
        e->pend = '\r';
    }
    o = flush_pend(e, o, 1);
    *outlen = (size_t)(o - out);
    e->col = 0;
    e->cr = 0;
    return LM_OK;
}

int lm_qp_encode(const void *in, size_t n, int flags, char *out, size_t *outlen)
{
    lm_qp_enc e;
    size_t a, b;
    int rc = lm_qp_enc_init(&e, flags);
    if (rc != LM_OK)
        return rc;
    lm_qp_enc_step(&e, in, n, out, &a);
    lm_qp_enc_finish(&e, out + a, &b);
    *outlen = a + b;
    return LM_OK;
}

/* ---- decoder ---- */

enum { S_TEXT, S_CR, S_EQ, S_EQ_HEX, S_EQ_WS, S_EQ_CR };
enum { D_PLAIN, D_WS, D_EQ, D_CR, D_LF };

#define DCLS_ROW(b) ((b) == ' ' || (b) == '\t' ? D_WS : (b) == '=' ? D_EQ :      \
                     (b) == '\r' ? D_CR : (b) == '\n' ? D_LF : D_PLAIN)
#define HEX_ROW(b) ((b) >= '0' && (b) <= '9' ? (b) - '0' :                     \
                    (b) >= 'A' && (b) <= 'F' ? (b) - 'A' + 10 :                 \
                    (b) >= 'a' && (b) <= 'f' ? (b) - 'a' + 10 : 16)
#define C4(R, b) R(b), R((b) + 1), R((b) + 2), R((b) + 3)
#define C16(R, b) C4(R, b), C4(R, (b) + 4), C4(R, (b) + 8), C4(R, (b) + 12)
#define C64(R, b) C16(R, b), C16(R, (b) + 16), C16(R, (b) + 32), C16(R, (b) + 48)
#define C256(R) C64(R, 0), C64(R, 64), C64(R, 128), C64(R, 192)
static const unsigned char dec_cls[256] = {C256(DCLS_ROW)};
/* 16: not a hex digit (RFC 2045 asks for upper case; lower case is
 * accepted, as the robustness note of 6.7 allows). */
static const unsigned char hexval[256] = {C256(HEX_ROW)};
#undef DCLS_ROW
#undef HEX_ROW
#undef C4
#undef C16
#undef C64
#undef C256

int lm_qp_dec_init(lm_qp_dec *d, int flags)
{
    if (flags != 0)
        return LM_EINVAL;
    d->state = S_TEXT;
    d->hex = 0;
    d->keep = 0;
    d->nws = 0;
    return LM_OK;
}

/* Writes the held white space: it turned out not to end its line. */
static unsigned char *put_ws(lm_qp_dec *d, unsigned char *o)
{
    unsigned i;
    for (i = 0; i < d->nws; i++)
        *o++ = (d->tabs[i >> 3] >> (i & 7)) & 1 ? '\t' : ' ';
    d->nws = 0;
    return o;
}

/* Holds one more white-space character; a run longer than LM_QP_WS_MAX
 * cannot be trailing space of a legal line, so it becomes data whole. */
static unsigned char *hold_ws(lm_qp_dec *d, unsigned char *o, unsigned c)
{
    unsigned i = d->nws;
    if (d->keep) {
        *o++ = (unsigned char)c;
        return o;
    }
    if (i == LM_QP_WS_MAX) {
        if (d->state == S_EQ_WS)
            *o++ = '=';
        o = put_ws(d, o);
        *o++ = (unsigned char)c;
        d->keep = 1;
        d->state = S_TEXT;
        return o;
    }
    if (c == '\t')
        d->tabs[i >> 3] = (unsigned char)(d->tabs[i >> 3] | 1u << (i & 7));
    else
        d->tabs[i >> 3] = (unsigned char)(d->tabs[i >> 3] & ~(1u << (i & 7)));
    d->nws = i + 1;
    return o;
}

/* S_TEXT: white space is held until the line goes on or ends. */
static unsigned char *dec_text(lm_qp_dec *d, unsigned char *o, unsigned c)
{
    switch (dec_cls[c]) {
    case D_WS:
        return hold_ws(d, o, c);
    case D_EQ:
        o = put_ws(d, o);
        d->state = S_EQ;
        break;
    case D_CR:
        d->state = S_CR;
        break;
    case D_LF:
        d->nws = 0; /* trailing white space is deleted (rule 3) */
        *o++ = '\n';
        break;
    default:
        o = put_ws(d, o);
        *o++ = (unsigned char)c;
    }
    d->keep = 0;
    return o;
}

/* The general state machine: one input byte, no look-ahead. A byte that
 * shows a held sequence to be malformed writes that sequence verbatim and
 * is then read again in S_TEXT. */
static unsigned char *dec_byte(lm_qp_dec *d, unsigned char *o, unsigned c)
{
    unsigned k = dec_cls[c];
    switch (d->state) {
    case S_TEXT:
        return dec_text(d, o, c);
    case S_CR:
        d->state = S_TEXT;
        if (k == D_LF) {
            d->nws = 0;
            *o++ = '\r';
            *o++ = '\n';
            return o;
        }
        o = put_ws(d, o);
        *o++ = '\r';
        return dec_text(d, o, c);
    case S_EQ:
        if (hexval[c] < 16) {
            d->hex = (int)c;
            d->state = S_EQ_HEX;
            return o;
        }
        if (k == D_WS) {
            d->state = S_EQ_WS;
            return hold_ws(d, o, c);
        }
        d->state = k == D_CR ? S_EQ_CR : S_TEXT;
        if (k == D_CR || k == D_LF)
            return o; /* LF: a soft break, lenient about the missing CR */
        *o++ = '=';
        return dec_text(d, o, c);
    case S_EQ_HEX:
        d->state = S_TEXT;
        if (hexval[c] < 16) {
            *o++ = (unsigned char)(hexval[d->hex] << 4 | hexval[c]);
            return o;
        }
        *o++ = '=';
        *o++ = (unsigned char)d->hex;
        return dec_text(d, o, c);
    case S_EQ_WS:
        if (k == D_WS)
            return hold_ws(d, o, c);
        if (k == D_CR || k == D_LF) {
            d->state = k == D_CR ? S_EQ_CR : S_TEXT;
            if (k == D_LF)
                d->nws = 0;
            return o;
        }
        d->state = S_TEXT;
        *o++ = '=';
        o = put_ws(d, o);
        return dec_text(d, o, c);
    default: /* S_EQ_CR */
        d->state = S_TEXT;
        if (k == D_LF) {
            d->nws = 0; /* "=" [white space] CRLF: a soft break */
            return o;
        }
        *o++ = '=';
        o = put_ws(d, o);
        *o++ = '\r';
        return dec_text(d, o, c);
    }
}

static int is_ws(unsigned c)
{
    return c == ' ' || c == '\t';
}

static int is_brk(unsigned c)
{
    return c == '\r' || c == '\n';
}

/* A clean run ends before p[bad] and before any white space just before
 * that: such space may end its line. */
static size_t dec_stop(const unsigned char *p, size_t bad)
{
    while (bad > 0 && is_ws(p[bad - 1]))
        bad--;
    return bad;
}

/* From p[i] on, copies into o (o[0] gets p[i]) the longest run that
 * decodes to itself (no '=', no white space that may end a line) and
 * returns the index in p where it ends. The run never ends with white
 * space, so it may end before i when p[i - 1] and on are white space. o
 * must hold n - i bytes; those after the run may be overwritten. */
size_t lm_qp_clean_swar(const unsigned char *p, size_t i, size_t n, unsigned char *o)
{
    unsigned char *o0 = o;
    size_t start = i;
    for (; i + 8 < n; i += 8) {
        uint64_t x = lm_scan_load(p + i);
        uint64_t ws = lm_scan_eq(x, ' ') | lm_scan_eq(x, '\t');
        uint64_t brk = lm_scan_eq(x, '\r') | lm_scan_eq(x, '\n');
        uint64_t brk_after = brk >> 8 | (uint64_t)is_brk(p[i + 8]) << 63;
        uint64_t bad = lm_scan_eq(x, '=') | (ws & brk_after);
        memcpy(o0 + (i - start), p + i, 8); /* beyond the run it is scratch */
        if (bad)
            return dec_stop(p, i + lm_scan_first(bad));
    }
    for (; i < n; i++) {
        if (p[i] == '=' || (is_ws(p[i]) && (i + 1 == n || is_brk(p[i + 1]))))
            break;
        o0[i - start] = p[i];
    }
    return dec_stop(p, i);
}

#if LM_SCAN_SSE2
/* The vector loop of the decoder, written once for both vector paths:
 * bad(p) gives the '=' bytes and the white space just before CR or LF (or
 * before p[w]) among the w bytes at p, what ends a clean run; copy(o, p)
 * copies w bytes. Each path passes its own pair, inlined into it.
 *
 * Decodes from p[0..n) into o, returning the bytes read and in *produced
 * the bytes written: clean runs, and "=XX" and "=" CRLF met inside them,
 * which are decoded on the spot (each output block is stored before it is
 * checked; what lies beyond the output is scratch). Stops where dec_byte
 * must decide; never after white space. */
typedef uint32_t (*dec_bad_fn)(const unsigned char *p);
typedef void (*dec_copy_fn)(unsigned char *o, const unsigned char *p);

static inline __attribute__((always_inline)) size_t
dec_blocks(const unsigned char *p, size_t n, unsigned char *o, size_t *produced, size_t w,
           dec_bad_fn bad_of, dec_copy_fn copy)
{
    size_t i = 0, d = 0; /* o[i - d] is where p[i] goes */
    while (i + w < n) {
        uint32_t bad;
        size_t k;
        lm_prefetch(p, i, n);
        copy(o + i - d, p + i);
        bad = bad_of(p + i);
        if (!bad) {
            i += w;
            continue;
        }
        k = i + lm_scan_first32(bad);
        if (p[k] == '=' && k + 2 < n) {
            unsigned hi = hexval[p[k + 1]], lo = hexval[p[k + 2]];
            if ((hi | lo) < 16) {
                o[k - d] = (unsigned char)(hi << 4 | lo);
                d += 2;
                i = k + 3;
                /* 8-bit text comes as runs of escapes ("=C3=A9") */
                while (i + 2 < n && p[i] == '=' && (hexval[p[i + 1]] | hexval[p[i + 2]]) < 16) {
                    o[i - d] = (unsigned char)(hexval[p[i + 1]] << 4 | hexval[p[i + 2]]);
                    d += 2;
                    i += 3;
                }
                continue;
            }
            if (p[k + 1] == '\r' && p[k + 2] == '\n') {
                d += 3;
                i = k + 3;
                continue;
            }
        }
        i = dec_stop(p, k);
        *produced = i - d;
        return i;
    }
    i = lm_qp_clean_swar(p, i, n, o + i - d);
    *produced = i - d;
    return i;
}

static inline uint32_t mask16(__m128i x, char c)
{
    return (uint32_t)_mm_movemask_epi8(_mm_cmpeq_epi8(x, _mm_set1_epi8(c)));
}

static inline uint32_t dec_bad16(const unsigned char *p)
{
    const __m128i x = _mm_loadu_si128((const __m128i *)(const void *)p);
    uint32_t ws = mask16(x, ' ') | mask16(x, '\t');
    uint32_t brk = mask16(x, '\r') | mask16(x, '\n');
    return mask16(x, '=') | (ws & (brk >> 1 | (uint32_t)is_brk(p[16]) << 15));
}

static inline void dec_copy16(unsigned char *o, const unsigned char *p)
{
    _mm_storeu_si128((__m128i *)(void *)o, _mm_loadu_si128((const __m128i *)(const void *)p));
}

size_t lm_qp_dec_run_sse2(const unsigned char *p, size_t n, unsigned char *o, size_t *produced)
{
    return dec_blocks(p, n, o, produced, 16, dec_bad16, dec_copy16);
}
#endif

#if LM_SCAN_AVX2
static inline LM_SCAN_T_AVX2 uint32_t mask32(__m256i x, char c)
{
    return (uint32_t)_mm256_movemask_epi8(_mm256_cmpeq_epi8(x, _mm256_set1_epi8(c)));
}

static inline LM_SCAN_T_AVX2 uint32_t dec_bad32(const unsigned char *p)
{
    const __m256i x = _mm256_loadu_si256((const __m256i *)(const void *)p);
    uint32_t ws = mask32(x, ' ') | mask32(x, '\t');
    uint32_t brk = mask32(x, '\r') | mask32(x, '\n');
    return mask32(x, '=') | (ws & (brk >> 1 | (uint32_t)is_brk(p[32]) << 31));
}

static inline LM_SCAN_T_AVX2 void dec_copy32(unsigned char *o, const unsigned char *p)
{
    _mm256_storeu_si256((__m256i *)(void *)o,
                        _mm256_loadu_si256((const __m256i *)(const void *)p));
}

LM_SCAN_T_AVX2 size_t lm_qp_dec_run_avx2(const unsigned char *p, size_t n, unsigned char *o,
                                         size_t *produced)
{
    return dec_blocks(p, n, o, produced, 32, dec_bad32, dec_copy32);
}
#endif

#if LM_SCAN_AVX512
/* The hex digits among the 64 bytes of x, and in *val their values. */
static inline LM_SCAN_T_AVX512 __mmask64 hex64(__m512i x, __m512i *val)
{
    __m512i dig = _mm512_sub_epi8(x, _mm512_set1_epi8('0'));
    __m512i alpha = _mm512_sub_epi8(_mm512_or_si512(x, _mm512_set1_epi8(0x20)),
                                    _mm512_set1_epi8('a' - 10));
    __mmask64 isdig = _mm512_cmplt_epu8_mask(dig, _mm512_set1_epi8(10));
    __mmask64 isalpha = _mm512_cmplt_epu8_mask(_mm512_sub_epi8(alpha, _mm512_set1_epi8(10)),
                                               _mm512_set1_epi8(6));
    *val = _mm512_and_si512(_mm512_mask_blend_epi8(isdig, alpha, dig), _mm512_set1_epi8(0x0F));
    return isdig | isalpha;
}

static inline LM_SCAN_T_AVX512 __mmask64 eq64(__m512i x, char c)
{
    return _mm512_cmpeq_epi8_mask(x, _mm512_set1_epi8(c));
}

/* 64 bytes at a time, without a branch on the escapes: per block, the
 * masks of "=XX" escapes (V) and "=" CRLF soft breaks (S) come from the
 * block and its copies shifted by one and two bytes; each escape's '=' is
 * replaced by its byte, and one compress drops its two digits and the
 * whole of each soft break. An escape in the last two bytes of a block
 * takes its digits from the next block, which drops them in turn (carry):
 * blocks always move on by 64 bytes, so the loads of the next block never
 * wait for this one. Where the decoder must decide (another '=', white
 * space before a line end) the block is taken up to there, the white space
 * before it left out, and the run ends. White space at a block's end that
 * goes on in the next block might end its line there: the block then ends
 * before that white space, and the next one starts with it. */
LM_SCAN_T_AVX512 size_t lm_qp_dec_run_avx512(const unsigned char *p, size_t n, unsigned char *o,
                                             size_t *produced)
{
    size_t i = 0, d = 0, used, made;
    __mmask64 carry = 0;
    while (i + 66 <= n) {
        __m512i x;
        lm_prefetch(p, i, n);
        x = _mm512_loadu_si512((const void *)(p + i));
        __m512i x1 = _mm512_loadu_si512((const void *)(p + i + 1));
        __m512i x2 = _mm512_loadu_si512((const void *)(p + i + 2));
        __m512i hi, lo;
        __mmask64 eq = eq64(x, '='), ws = eq64(x, ' ') | eq64(x, '\t');
        __mmask64 cr1 = eq64(x1, '\r'), ws1 = eq64(x1, ' ') | eq64(x1, '\t');
        __mmask64 v = eq & hex64(x1, &hi) & hex64(x2, &lo);
        __mmask64 sb = eq & cr1 & eq64(x2, '\n');
        __mmask64 bad = (eq & ~(v | sb)) | (ws & (cr1 | eq64(x1, '\n')));
        __mmask64 keep = ~(v << 1 | v << 2 | sb | sb << 1 | sb << 2 | carry);
        size_t len = 64;
        if (bad | (ws & ws1) >> 63) {
            /* the block ends at the first bad byte or at the white space at
             * its end, before the white space leading to either (the
             * carried digits are neither, so they stay inside) */
            size_t b = bad ? (size_t)__builtin_ctzll(bad) : 63;
            __mmask64 before = ~ws & ((UINT64_C(1) << b) - 1);
            len = before ? 64 - (size_t)__builtin_clzll(before) : 0;
            if (len == 0 && !bad)
                break; /* 64 bytes of white space: the AVX2 run goes on */
            v &= (UINT64_C(1) << len) - 1;
            keep &= (UINT64_C(1) << len) - 1;
        }
        x = _mm512_mask_blend_epi8(v, x, _mm512_or_si512(_mm512_slli_epi16(hi, 4), lo));
        _mm512_storeu_si512((void *)(o + i - d), _mm512_maskz_compress_epi8(keep, x));
        d += len - (size_t)_mm_popcnt_u64(keep);
        i += len;
        if (len < 64) {
            if (bad) {
                *produced = i - d;
                return i;
            }
            carry = 0;
        } else {
            /* an escape at 62 or 63 reaches into lane 0, one at 63 into 1 */
            __mmask64 t = v | sb;
            carry = (t >> 62 | t >> 63) & 1;
            carry |= (t >> 63) << 1;
        }
    }
    /* the digits carried into a block that is not taken are read here */
    carry = carry >> 1 ? 2 : carry;
    i += (size_t)carry;
    d += (size_t)carry;
    used = lm_qp_dec_run_avx2(p + i, n - i, o + i - d, &made);
    *produced = i - d + made;
    return i + used;
}
#endif

/* The decoder's fast run: the AVX-512 path where it runs, else AVX2, else
 * SSE2, else the portable words. */
static size_t dec_run(const unsigned char *p, size_t n, unsigned char *o, size_t *produced)
{
#if LM_SCAN_AVX512
    if (lm_scan_avx512())
        return lm_qp_dec_run_avx512(p, n, o, produced);
#endif
#if LM_SCAN_AVX2
    if (lm_scan_avx2())
        return lm_qp_dec_run_avx2(p, n, o, produced);
#endif
#if LM_SCAN_SSE2
    return lm_qp_dec_run_sse2(p, n, o, produced);
#else
    size_t i = lm_qp_clean_swar(p, 0, n, o);
    *produced = i;
    return i;
#endif
}

/* The fast loop: in S_TEXT with nothing held, copies clean runs and
 * decodes "=XX" and "=" CRLF whenever the bytes are in this chunk, exactly
 * as dec_byte would. Returns the index of the first byte it did not
 * handle. */
static size_t dec_fast(const unsigned char *in, size_t i, size_t n,
                       unsigned char **op)
{
    unsigned char *o = *op;
    while (i + 2 < n) {
        size_t made, used = dec_run(in + i, n - i, o, &made);
        unsigned hi, lo;
        o += made;
        i += used;
        if (i + 2 >= n || in[i] != '=')
            break;
        hi = hexval[in[i + 1]];
        lo = hexval[in[i + 2]];
        if ((hi | lo) < 16)
            *o++ = (unsigned char)(hi << 4 | lo);
        else if (in[i + 1] != '\r' || in[i + 2] != '\n')
            break;
        i += 3;
    }
    *op = o;
    return i;
}

int lm_qp_dec_step(lm_qp_dec *d, const void *in, size_t n, void *out,
                   size_t *outlen)
{
    const unsigned char *p = in;
    unsigned char *o = out;
    size_t i = 0;
    while (i < n) {
        if (d->state == S_TEXT && d->nws == 0 && !d->keep)
            i = dec_fast(p, i, n, &o);
        if (i < n)
            o = dec_byte(d, o, p[i++]);
    }
    *outlen = (size_t)(o - (unsigned char *)out);
    return LM_OK;
}

/* The end of the data ends the last line: trailing white space goes, and
 * "=" [white space] is a soft break; other held sequences are data. */
int lm_qp_dec_finish(lm_qp_dec *d, void *out, size_t *outlen)
{
    unsigned char *o = out;
    switch (d->state) {
    case S_CR:
        o = put_ws(d, o);
        *o++ = '\r';
        break;
    case S_EQ_HEX:
        *o++ = '=';
        *o++ = (unsigned char)d->hex;
        break;
    case S_EQ_CR:
        *o++ = '=';
        o = put_ws(d, o);
        *o++ = '\r';
        break;
    default:
        break;
    }
    *outlen = (size_t)(o - (unsigned char *)out);
    lm_qp_dec_init(d, 0);
    return LM_OK;
}

int lm_qp_decode(const void *in, size_t n, void *out, size_t *outlen)
{
    lm_qp_dec d;
    size_t a, b;
    lm_qp_dec_init(&d, 0);
    lm_qp_dec_step(&d, in, n, out, &a);
    lm_qp_dec_finish(&d, (unsigned char *)out + a, &b);
    *outlen = a + b;
    return LM_OK;
}
