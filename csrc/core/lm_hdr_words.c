/* lm_hdr_words.c: RFC 2047 encoded words, decoding and encoding (lm_hdr.h). */
#include "lm_charset.h"
#include "lm_hdr.h"

#include <string.h>

#define CHARSET_MAX 60 /* longest charset label of an encoded word */
#define WORD_MAX 75    /* RFC 2047 2: an encoded word is at most 75 characters */
#define LONG_WORD 900  /* a plain word this long could not be folded under 998 */

static int hexval(unsigned char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

static int b64val(unsigned char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+')
        return 62;
    if (c == '/')
        return 63;
    return -1;
}

/* ---- decoding ---- */

typedef struct word {
    const char *cs;  /* charset label */
    size_t cslen;
    int enc;         /* 'B' or 'Q' */
    const char *txt; /* encoded text */
    size_t txtlen;
    size_t end;      /* offset after "?=" */
} word;

/* Parses "=?cs?e?text?=" at in[i]; 0 when there is none there. *looks is
 * set when the shape was right up to the text (a malformed word worth a
 * warning rather than ordinary text). */
static int parse_word(const char *in, size_t n, size_t i, word *w, int *looks)
{
    size_t j = i + 2, k;
    *looks = 0;
    for (k = j; k < n && k - j <= CHARSET_MAX; k++) {
        unsigned char c = (unsigned char)in[k];
        if (c == '?' || c <= ' ' || c >= 127)
            break;
    }
    if (k == j || k + 2 >= n || in[k] != '?' || in[k + 2] != '?')
        return 0;
    w->cs = in + j;
    w->cslen = k - j;
    w->enc = in[k + 1] & ~0x20;
    if (w->enc != 'B' && w->enc != 'Q')
        return 0;
    *looks = 1;
    j = k + 3;
    for (k = j; k < n; k++) {
        unsigned char c = (unsigned char)in[k];
        if (c == '?')
            break;
        if (c <= ' ' || c >= 127)
            return 0;
    }
    if (k + 1 >= n || in[k + 1] != '=')
        return 0;
    w->txt = in + j;
    w->txtlen = k - j;
    w->end = k + 2;
    return 1;
}

/* Appends the bytes of w's text to out; LM_EINVAL when it does not decode
 * (out is then left as it was). */
static int decode_text(const word *w, lm_buf *out)
{
    size_t i;
    const unsigned char *t = (const unsigned char *)w->txt;
    int rc = LM_OK;
    unsigned char *o = lm_buf_reserve(out, w->txtlen, &rc);
    size_t k = 0;
    if (!o)
        return rc;
    if (w->enc == 'Q') {
        for (i = 0; i < w->txtlen; i++) {
            if (t[i] == '_') {
                o[k++] = ' ';
            } else if (t[i] == '=') {
                int hi = i + 1 < w->txtlen ? hexval(t[i + 1]) : -1;
                int lo = i + 2 < w->txtlen ? hexval(t[i + 2]) : -1;
                if (hi < 0 || lo < 0)
                    return LM_EINVAL;
                o[k++] = (unsigned char)(hi << 4 | lo);
                i += 2;
            } else {
                o[k++] = t[i];
            }
        }
    } else {
        uint32_t acc = 0;
        unsigned nacc = 0, pad = 0;
        for (i = 0; i < w->txtlen; i++) {
            int v;
            if (t[i] == '=') {
                pad++;
                continue;
            }
            v = b64val(t[i]);
            if (v < 0 || pad)
                return LM_EINVAL;
            acc = acc << 6 | (uint32_t)v;
            if (++nacc == 4) {
                o[k++] = (unsigned char)(acc >> 16);
                o[k++] = (unsigned char)(acc >> 8);
                o[k++] = (unsigned char)acc;
                acc = 0;
                nacc = 0;
            }
        }
        /* missing or partial padding is accepted (real mail has both) */
        if (nacc == 1)
            return LM_EINVAL;
        if (nacc == 2) {
            o[k++] = (unsigned char)(acc >> 4);
        } else if (nacc == 3) {
            o[k++] = (unsigned char)(acc >> 10);
            o[k++] = (unsigned char)(acc >> 2);
        }
    }
    lm_buf_commit(out, k);
    return LM_OK;
}

static int has_ctl(const unsigned char *p, size_t n)
{
    return memchr(p, '\r', n) || memchr(p, '\n', n) || memchr(p, 0, n);
}

/* Converts the joined bytes of a run of same-charset words into out. */
static int flush_pending(lm_buf *pend, const char *cs, size_t cslen, lm_buf *out,
                         unsigned *warn)
{
    unsigned flags = 0;
    size_t before = lm_buf_size(out);
    int rc;
    if (!cs)
        return LM_OK;
    rc = lm_charset_to_utf8(cs, cslen, lm_buf_data(pend), lm_buf_size(pend), out, &flags);
    if (flags & LM_CS_UNKNOWN)
        *warn |= LM_HDR_W_CHARSET;
    if (flags & LM_CS_REPLACED)
        *warn |= LM_HDR_W_REPLACED;
    if (rc == LM_OK && has_ctl(lm_buf_data(out) + before, lm_buf_size(out) - before))
        *warn |= LM_HDR_W_CTL;
    lm_buf_clear(pend);
    return rc;
}

static int append_plain(const char *p, size_t n, lm_buf *out, unsigned *warn)
{
    unsigned flags = 0;
    int rc = lm_charset_to_utf8("utf-8", 5, p, n, out, &flags);
    if (flags & LM_CS_REPLACED)
        *warn |= LM_HDR_W_REPLACED;
    return rc;
}

static int only_wsp(const char *p, size_t n)
{
    size_t i;
    for (i = 0; i < n; i++)
        if (p[i] != ' ' && p[i] != '\t' && p[i] != '\r' && p[i] != '\n')
            return 0;
    return 1;
}

static int same_charset(const char *a, size_t an, const char *b, size_t bn)
{
    size_t i;
    if (an != bn)
        return 0;
    for (i = 0; i < an; i++)
        if ((a[i] | 0x20) != (b[i] | 0x20))
            return 0;
    return 1;
}

static int decode_words(const char *in, size_t n, lm_buf *out, lm_buf *pend, unsigned *warn)
{
    size_t i = 0, scan = 0;
    const char *pcs = NULL; /* charset of the pending run, NULL: none */
    size_t pcslen = 0;
    int rc;
    for (;;) {
        const char *q = scan < n ? memchr(in + scan, '=', n - scan) : NULL;
        size_t j;
        word w;
        int looks;
        if (!q)
            break;
        j = (size_t)(q - in);
        if (j + 1 >= n || in[j + 1] != '?') {
            scan = j + 1;
            continue;
        }
        if (!parse_word(in, n, j, &w, &looks)) {
            if (looks)
                *warn |= LM_HDR_W_BADWORD;
            scan = j + 2;
            continue;
        }
        /* text between the last word and this one */
        if (!(pcs && only_wsp(in + i, j - i))) {
            if ((rc = flush_pending(pend, pcs, pcslen, out, warn)) != LM_OK ||
                (rc = append_plain(in + i, j - i, out, warn)) != LM_OK)
                return rc;
            pcs = NULL;
        }
        if (pcs && !same_charset(pcs, pcslen, w.cs, w.cslen)) {
            if ((rc = flush_pending(pend, pcs, pcslen, out, warn)) != LM_OK)
                return rc;
            pcs = NULL;
        }
        rc = decode_text(&w, pend);
        if (rc == LM_EINVAL) {
            /* kept verbatim, and it ends the run */
            *warn |= LM_HDR_W_BADWORD;
            if ((rc = flush_pending(pend, pcs, pcslen, out, warn)) != LM_OK ||
                (rc = append_plain(in + j, w.end - j, out, warn)) != LM_OK)
                return rc;
            pcs = NULL;
        } else if (rc != LM_OK) {
            return rc;
        } else {
            pcs = w.cs;
            pcslen = w.cslen;
        }
        i = scan = w.end;
    }
    if ((rc = flush_pending(pend, pcs, pcslen, out, warn)) != LM_OK)
        return rc;
    return append_plain(in + i, n - i, out, warn);
}

int lm_hdr_decode_words(const char *in, size_t n, lm_buf *out, unsigned *warn)
{
    lm_buf pend;
    int rc;
    lm_buf_init(&pend, &out->a, out->max);
    rc = decode_words(in, n, out, &pend, warn);
    lm_buf_free(&pend);
    return rc;
}

/* ---- encoding ---- */

static const char HEX[] = "0123456789ABCDEF";

/* Characters a Q word may carry literally: RFC 2047 4.2 for text,
 * 5(3) for phrases. */
static int q_literal(unsigned char c, int mode)
{
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))
        return 1;
    if (mode == LM_HDR_PHRASE)
        return c == '!' || c == '*' || c == '+' || c == '-' || c == '/';
    return c > ' ' && c < 127 && c != '=' && c != '?' && c != '_' && c != '(' && c != ')' &&
           c != '"';
}

static size_t q_cost(const unsigned char *p, size_t n, int mode)
{
    size_t i, k = 0;
    for (i = 0; i < n; i++)
        k += (p[i] == ' ' || q_literal(p[i], mode)) ? 1 : 3;
    return k;
}

static size_t b_cost(size_t n)
{
    return (n + 2) / 3 * 4;
}

typedef struct encoder {
    const char *cs; /* charset label, NULL for UTF-8 */
    size_t cslen;
    int mode;
    int enc;        /* 'B' or 'Q' for the current run */
    lm_buf *out;
    lm_buf conv;    /* scratch: text converted to the charset */
} encoder;

/* The bytes of UTF-8 p[0..n) in the output charset, in e->conv. */
static int to_charset(encoder *e, const char *p, size_t n)
{
    lm_buf_clear(&e->conv);
    if (!e->cs)
        return lm_buf_append(&e->conv, p, n);
    return lm_charset_from_utf8(e->cs, e->cslen, p, n, &e->conv);
}

static size_t word_cost(encoder *e)
{
    size_t n = lm_buf_size(&e->conv);
    return e->enc == 'B' ? b_cost(n) : q_cost(lm_buf_data(&e->conv), n, e->mode);
}

static int put_word(encoder *e)
{
    const unsigned char *p = lm_buf_data(&e->conv);
    size_t n = lm_buf_size(&e->conv), i;
    int rc;
    const char *cs = e->cs ? e->cs : "UTF-8";
    size_t cslen = e->cs ? e->cslen : 5;
    char pre[2] = {(char)e->enc, '?'};
    if ((rc = lm_buf_append(e->out, "=?", 2)) != LM_OK ||
        (rc = lm_buf_append(e->out, cs, cslen)) != LM_OK ||
        (rc = lm_buf_append(e->out, "?", 1)) != LM_OK ||
        (rc = lm_buf_append(e->out, pre, 2)) != LM_OK)
        return rc;
    if (e->enc == 'B') {
        for (i = 0; i < n; i += 3) {
            static const char A[] =
                "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
            uint32_t v = (uint32_t)p[i] << 16;
            char q[4];
            if (i + 1 < n)
                v |= (uint32_t)p[i + 1] << 8;
            if (i + 2 < n)
                v |= p[i + 2];
            q[0] = A[v >> 18 & 63];
            q[1] = A[v >> 12 & 63];
            q[2] = i + 1 < n ? A[v >> 6 & 63] : '=';
            q[3] = i + 2 < n ? A[v & 63] : '=';
            if ((rc = lm_buf_append(e->out, q, 4)) != LM_OK)
                return rc;
        }
    } else {
        for (i = 0; i < n; i++) {
            char q[3];
            if (p[i] == ' ') {
                rc = lm_buf_append(e->out, "_", 1);
            } else if (q_literal(p[i], e->mode)) {
                rc = lm_buf_append(e->out, p + i, 1);
            } else {
                q[0] = '=';
                q[1] = HEX[p[i] >> 4];
                q[2] = HEX[p[i] & 15];
                rc = lm_buf_append(e->out, q, 3);
            }
            if (rc != LM_OK)
                return rc;
        }
    }
    return lm_buf_append(e->out, "?=", 2);
}

/* Encodes UTF-8 text p[0..n) as words separated by one space. The first
 * word gets at most first_room characters when that is enough for a
 * reasonable word. */
static int encode_run(encoder *e, const char *p, size_t n, size_t first_room)
{
    size_t overhead = 2 + (e->cs ? e->cslen : 5) + 5, i = 0;
    size_t limit = (first_room >= 20 && first_room < WORD_MAX ? first_room : WORD_MAX);
    int rc, first = 1;
    /* B or Q for the whole run, whichever is shorter (ties: Q, readable) */
    if ((rc = to_charset(e, p, n)) != LM_OK)
        return rc;
    e->enc = 'Q';
    {
        size_t q = q_cost(lm_buf_data(&e->conv), lm_buf_size(&e->conv), e->mode);
        e->enc = b_cost(lm_buf_size(&e->conv)) < q ? 'B' : 'Q';
    }
    while (i < n) {
        size_t j = i, good = i;
        /* grow the word one whole character at a time */
        while (j < n) {
            size_t k = lm_utf8_seqlen((const unsigned char *)p + j, n - j);
            if (!k)
                return LM_EINVAL;
            if ((rc = to_charset(e, p + i, j + k - i)) != LM_OK)
                return rc;
            if (overhead + word_cost(e) > limit && good > i)
                break;
            j += k;
            good = j;
        }
        if ((rc = to_charset(e, p + i, good - i)) != LM_OK)
            return rc;
        if (!first && (rc = lm_buf_append(e->out, " ", 1)) != LM_OK)
            return rc;
        if ((rc = put_word(e)) != LM_OK)
            return rc;
        first = 0;
        limit = WORD_MAX;
        i = good;
    }
    return LM_OK;
}

static int needs_encoding(const unsigned char *p, size_t n)
{
    size_t i;
    if (n > LONG_WORD)
        return 1;
    for (i = 0; i < n; i++) {
        if (p[i] >= 0x7F || (p[i] < ' ' && p[i] != '\t'))
            return 1;
        if (p[i] == '=' && i + 1 < n && p[i + 1] == '?')
            return 1;
    }
    return 0;
}

static int is_wsp(char c)
{
    return c == ' ' || c == '\t';
}

/* LM_HDR_TEXT: words needing it encoded, runs of them together with the
 * white space between them (RFC 2047 6.2 drops white space between encoded
 * words, so it must travel inside them). */
static int encode_text(encoder *e, const char *p, size_t n, size_t first_room)
{
    size_t i = 0, copied = 0, run_start = 0, run_end = 0;
    int in_run = 0, rc;
    for (;;) {
        size_t w;
        while (i < n && is_wsp(p[i]))
            i++;
        w = i;
        while (i < n && !is_wsp(p[i]))
            i++;
        if (w < i && needs_encoding((const unsigned char *)p + w, i - w)) {
            if (!in_run)
                run_start = w;
            in_run = 1;
            run_end = i;
            continue;
        }
        if (in_run) {
            /* before the first run the output is the input: its column */
            size_t room = copied == 0 && first_room > run_start ? first_room - run_start : 0;
            if ((rc = lm_buf_append(e->out, p + copied, run_start - copied)) != LM_OK ||
                (rc = encode_run(e, p + run_start, run_end - run_start, room)) != LM_OK)
                return rc;
            copied = run_end;
            in_run = 0;
        }
        if (w == i)
            break;
    }
    return lm_buf_append(e->out, p + copied, n - copied);
}

static int is_atext(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
           (c != 0 && strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL);
}

/* LM_HDR_PHRASE: atoms, else a quoted-string, else encoded words. */
static int encode_phrase(encoder *e, const char *p, size_t n, size_t first_room)
{
    size_t i;
    int atoms = 1, ascii = n <= LONG_WORD, rc;
    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)p[i];
        if (c >= 0x7F || (c < ' ' && c != '\t'))
            ascii = 0, atoms = 0;
        else if (!is_atext(c) && !is_wsp((char)c))
            atoms = 0;
        if (c == '=' && i + 1 < n && p[i + 1] == '?')
            ascii = 0, atoms = 0;
    }
    if (n && (is_wsp(p[0]) || is_wsp(p[n - 1])))
        atoms = 0;
    if (atoms)
        return lm_buf_append(e->out, p, n);
    if (ascii) {
        size_t run = 0;
        if ((rc = lm_buf_append(e->out, "\"", 1)) != LM_OK)
            return rc;
        for (i = 0; i < n; i++) {
            if (p[i] == '"' || p[i] == '\\') {
                if ((rc = lm_buf_append(e->out, p + run, i - run)) != LM_OK ||
                    (rc = lm_buf_append(e->out, "\\", 1)) != LM_OK)
                    return rc;
                run = i;
            }
        }
        if ((rc = lm_buf_append(e->out, p + run, n - run)) != LM_OK)
            return rc;
        return lm_buf_append(e->out, "\"", 1);
    }
    return encode_run(e, p, n, first_room);
}

int lm_hdr_encode_words(const char *in, size_t n, const char *charset, size_t cslen,
                        int mode, size_t first_room, lm_buf *out)
{
    encoder e;
    int rc;
    if (!lm_utf8_valid(in, n) || memchr(in, '\r', n) || memchr(in, '\n', n) ||
        memchr(in, 0, n) || (mode != LM_HDR_TEXT && mode != LM_HDR_PHRASE))
        return LM_EINVAL;
    if (charset && ((cslen == 5 && same_charset(charset, 5, "utf-8", 5)) ||
                    (cslen == 4 && same_charset(charset, 4, "utf8", 4))))
        charset = NULL; /* UTF-8 spelled some way: use the canonical label */
    if (charset && (cslen == 0 || cslen > CHARSET_MAX || !lm_charset_known(charset, cslen)))
        return LM_EINVAL;
    e.cs = charset;
    e.cslen = cslen;
    e.mode = mode;
    e.out = out;
    lm_buf_init(&e.conv, &out->a, (size_t)-1);
    rc = mode == LM_HDR_TEXT ? encode_text(&e, in, n, first_room)
                             : encode_phrase(&e, in, n, first_room);
    lm_buf_free(&e.conv);
    return rc;
}
