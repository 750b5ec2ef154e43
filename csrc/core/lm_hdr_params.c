/* lm_hdr_params.c: Content-Type / Content-Disposition values and their
 * parameters, RFC 2045 5.1, RFC 2183 2, RFC 2231 3-4 (lm_hdr.h).
 * Time: linear in the input plus a sort of the parameters, O(k log k). */
#include "lm_charset.h"
#include "lm_hdr_lex.h"

#include <stdlib.h>
#include <string.h>

#define MAX_SECTION 100000 /* RFC 2231 sections beyond this are refused */

typedef struct param {
    size_t name, name_len; /* base name (lower-cased) in the scratch bytes */
    size_t val, val_len;   /* raw value (unquoted) in the scratch bytes */
    long section;          /* -1: none */
    int ext;               /* value is RFC 2231 extended (charset'lang'%XX) */
    size_t order;          /* position in the header */
    size_t group_order;    /* position of the first param of this name */
    const unsigned char *bytes; /* the scratch bytes, for the sort */
} param;

typedef struct parser {
    const char *in;
    size_t n, i;
    lm_buf bytes;  /* names and values */
    lm_buf params; /* param[] */
    lm_buf tmp;
    unsigned *warn;
    int rc;
} parser;

static int stop_char(unsigned char c)
{
    return c == ';' || c == '(' || c == '"' || c == '=' || lm_hdr_is_wsp(c);
}

static void skip(parser *p)
{
    int bad = 0;
    p->i = lm_hdr_skip_cfws(p->in, p->n, p->i, &bad, NULL, &p->rc);
    if (bad)
        *p->warn |= LM_HDR_W_SYNTAX;
}

/* A run of token characters (stopping also at '/' when slash is set). */
static size_t token(parser *p, int slash)
{
    size_t s = p->i;
    while (p->i < p->n && !stop_char((unsigned char)p->in[p->i]) &&
           !(slash && p->in[p->i] == '/'))
        p->i++;
    return p->i - s;
}

/* Skips to the next ';' (after malformed text). */
static void resync(parser *p)
{
    *p->warn |= LM_HDR_W_SYNTAX;
    while (p->i < p->n && p->in[p->i] != ';') {
        if (p->in[p->i] == '"') {
            int closed;
            lm_buf_clear(&p->tmp);
            p->i = lm_hdr_quoted(p->in, p->n, p->i, &p->tmp, &closed, &p->rc);
        } else {
            p->i++;
        }
    }
}

/* The value: type/subtype or a disposition token, lower-cased, as the
 * first record. */
static int read_value(parser *p, int kind, lm_buf *out)
{
    size_t a, alen, b = 0, blen = 0;
    int rc = LM_OK;
    skip(p);
    a = p->i;
    alen = token(p, kind == LM_HDR_CTYPE);
    if (kind == LM_HDR_CTYPE) {
        skip(p);
        if (p->i < p->n && p->in[p->i] == '/') {
            p->i++;
            skip(p);
            b = p->i;
            blen = token(p, 1);
        }
        if (!alen || !blen) {
            *p->warn |= LM_HDR_W_SYNTAX;
            alen = 0;
        }
    } else if (!alen) {
        *p->warn |= LM_HDR_W_SYNTAX;
    }
    if (!alen)
        return lm_hdr_rec_put(out, "", 0);
    if (kind == LM_HDR_CTYPE) {
        size_t start;
        if ((rc = lm_hdr_rec_open(out, &start)) != LM_OK ||
            (rc = lm_buf_append(out, p->in + a, alen)) != LM_OK ||
            (rc = lm_buf_append(out, "/", 1)) != LM_OK ||
            (rc = lm_buf_append(out, p->in + b, blen)) != LM_OK)
            return rc;
        lm_hdr_rec_close(out, start);
        lm_hdr_lower(lm_hdr_at(out, start + 4), alen + 1 + blen);
        return LM_OK;
    }
    if ((rc = lm_hdr_rec_put(out, p->in + a, alen)) != LM_OK)
        return rc;
    lm_hdr_lower(lm_hdr_at(out, lm_buf_size(out) - alen), alen);
    return LM_OK;
}

/* Splits "name*3*" into base name, section and the extended flag. */
static void split_name(const char *s, size_t n, size_t *base, long *section, int *ext)
{
    size_t star = 0, i;
    long sec = 0;
    *base = n;
    *section = -1;
    *ext = 0;
    while (star < n && s[star] != '*')
        star++;
    if (star == n || star == 0)
        return;
    i = star + 1;
    if (i == n) { /* name* */
        *base = star;
        *ext = 1;
        return;
    }
    if (s[i] < '0' || s[i] > '9' || (s[i] == '0' && i + 1 < n && s[i + 1] != '*'))
        return; /* not RFC 2231: keep the whole name */
    while (i < n && s[i] >= '0' && s[i] <= '9' && sec <= MAX_SECTION)
        sec = sec * 10 + (s[i++] - '0');
    if (sec > MAX_SECTION)
        return;
    if (i < n && s[i] == '*' && i + 1 == n)
        *ext = 1;
    else if (i != n)
        return;
    *base = star;
    *section = sec;
}

static int add_param(parser *p, size_t name, size_t name_len, size_t val, size_t vlen)
{
    param q;
    size_t base;
    memset(&q, 0, sizeof q);
    split_name((const char *)lm_buf_data(&p->bytes) + name, name_len, &base, &q.section,
               &q.ext);
    q.name = name;
    q.name_len = base;
    q.val = val;
    q.val_len = vlen;
    q.order = lm_buf_size(&p->params) / sizeof(param);
    return lm_buf_append(&p->params, &q, sizeof q);
}

/* One "; name=value". */
static int read_param(parser *p)
{
    size_t nstart, nlen, name, val;
    int rc;
    skip(p);
    if (p->i >= p->n || p->in[p->i] == ';')
        return LM_OK; /* an empty parameter: harmless */
    nstart = p->i;
    nlen = token(p, 0);
    skip(p);
    if (!nlen || p->i >= p->n || p->in[p->i] != '=') {
        resync(p);
        return LM_OK;
    }
    p->i++;
    skip(p);
    name = lm_buf_size(&p->bytes);
    if ((rc = lm_buf_append(&p->bytes, p->in + nstart, nlen)) != LM_OK)
        return rc;
    lm_hdr_lower(lm_hdr_at(&p->bytes, name), nlen);
    val = lm_buf_size(&p->bytes);
    if (p->i < p->n && p->in[p->i] == '"') {
        int closed;
        p->i = lm_hdr_quoted(p->in, p->n, p->i, &p->bytes, &closed, &p->rc);
        if (!closed)
            *p->warn |= LM_HDR_W_SYNTAX;
    } else {
        /* a token; real mail also has unquoted values with spaces
         * ("name=my file.txt"): everything up to ';', trailing white space
         * and a trailing comment dropped */
        size_t s = p->i, e;
        while (p->i < p->n && p->in[p->i] != ';' && p->in[p->i] != '(' &&
               !lm_hdr_is_wsp((unsigned char)p->in[p->i]))
            p->i++;
        e = p->i;
        skip(p);
        if (p->i < p->n && p->in[p->i] != ';') {
            *p->warn |= LM_HDR_W_SYNTAX;
            while (p->i < p->n && p->in[p->i] != ';' && p->in[p->i] != '(')
                p->i++;
            e = p->i;
            while (e > s && lm_hdr_is_wsp((unsigned char)p->in[e - 1]))
                e--;
            skip(p);
            if (p->i < p->n && p->in[p->i] != ';')
                resync(p);
        }
        if ((rc = lm_buf_append(&p->bytes, p->in + s, e - s)) != LM_OK)
            return rc;
    }
    if (p->rc != LM_OK)
        return p->rc;
    return add_param(p, name, nlen, val, lm_buf_size(&p->bytes) - val);
}

static int cmp_param(const void *a, const void *b)
{
    const param *x = a, *y = b;
    size_t k = x->name_len < y->name_len ? x->name_len : y->name_len;
    int c = memcmp(x->bytes + x->name, y->bytes + y->name, k);
    if (c)
        return c;
    if (x->name_len != y->name_len)
        return x->name_len < y->name_len ? -1 : 1;
    return x->order < y->order ? -1 : x->order > y->order;
}

static int cmp_group(const void *a, const void *b)
{
    const param *x = a, *y = b;
    if (x->group_order != y->group_order)
        return x->group_order < y->group_order ? -1 : 1;
    /* within a name: RFC 2231 sections in order, plain forms after */
    if ((x->section >= 0 || x->ext) != (y->section >= 0 || y->ext))
        return (x->section >= 0 || x->ext) ? -1 : 1;
    if (x->section != y->section)
        return x->section < y->section ? -1 : 1;
    return x->order < y->order ? -1 : x->order > y->order;
}

static int hexv(unsigned char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = (unsigned char)(c | 0x20);
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* RFC 2231 4: %XX octets; a malformed '%' is kept. */
static int percent_decode(const unsigned char *s, size_t n, lm_buf *out)
{
    size_t i, run = 0;
    int rc;
    for (i = 0; i + 2 < n; i++) {
        int hi, lo;
        unsigned char c;
        if (s[i] != '%' || (hi = hexv(s[i + 1])) < 0 || (lo = hexv(s[i + 2])) < 0)
            continue;
        c = (unsigned char)(hi << 4 | lo);
        if ((rc = lm_buf_append(out, s + run, i - run)) != LM_OK ||
            (rc = lm_buf_append(out, &c, 1)) != LM_OK)
            return rc;
        i += 2;
        run = i + 1;
    }
    return lm_buf_append(out, s + run, n - run);
}

static int convert(parser *p, const char *cs, size_t cslen, const void *s, size_t n,
                   lm_buf *out)
{
    unsigned flags = 0;
    int rc = lm_charset_to_utf8(cs, cslen, s, n, out, &flags);
    if (flags & LM_CS_UNKNOWN)
        *p->warn |= LM_HDR_W_CHARSET;
    if (flags & LM_CS_REPLACED)
        *p->warn |= LM_HDR_W_REPLACED;
    return rc;
}

/* Appends the value of one name's RFC 2231 sections g[0..k) as a record. */
static int put_sections(parser *p, const param *g, size_t k, lm_buf *out)
{
    const unsigned char *b = lm_buf_data(&p->bytes);
    const char *cs = "us-ascii";
    size_t cslen = 8, i, start;
    long expect = 0;
    int rc;
    lm_buf_clear(&p->tmp);
    for (i = 0; i < k; i++) {
        const unsigned char *v = b + g[i].val;
        size_t vlen = g[i].val_len;
        long sec = g[i].section < 0 ? 0 : g[i].section;
        if (sec != expect) {
            *p->warn |= LM_HDR_W_CONTINUATION;
            if (sec < expect)
                continue; /* a repeated section: the first one wins */
        }
        expect = sec + 1;
        if (g[i].ext && i == 0 && sec == 0) {
            const unsigned char *q1 = memchr(v, '\'', vlen), *q2;
            q2 = q1 ? memchr(q1 + 1, '\'', vlen - (size_t)(q1 + 1 - v)) : NULL;
            if (q2) {
                if (q1 > v) {
                    cs = (const char *)v;
                    cslen = (size_t)(q1 - v);
                }
                vlen -= (size_t)(q2 + 1 - v);
                v = q2 + 1;
            } else {
                *p->warn |= LM_HDR_W_SYNTAX;
            }
        }
        rc = g[i].ext ? percent_decode(v, vlen, &p->tmp) : lm_buf_append(&p->tmp, v, vlen);
        if (rc != LM_OK)
            return rc;
    }
    if ((rc = lm_hdr_rec_open(out, &start)) != LM_OK ||
        (rc = convert(p, cs, cslen, lm_buf_data(&p->tmp), lm_buf_size(&p->tmp), out)) != LM_OK)
        return rc;
    lm_hdr_rec_close(out, start);
    return LM_OK;
}

static int put_plain(parser *p, const param *g, lm_buf *out)
{
    const char *v = (const char *)lm_buf_data(&p->bytes) + g->val;
    size_t start;
    int rc;
    if ((rc = lm_hdr_rec_open(out, &start)) != LM_OK ||
        (rc = lm_hdr_decode_words(v, g->val_len, out, p->warn)) != LM_OK)
        return rc;
    lm_hdr_rec_close(out, start);
    return LM_OK;
}

static int emit(parser *p, lm_buf *out)
{
    param *ps = (param *)(void *)lm_hdr_at(&p->params, 0);
    size_t k = lm_buf_size(&p->params) / sizeof(param), i, j, m;
    const unsigned char *b = lm_buf_data(&p->bytes);
    int rc;
    if (!k)
        return LM_OK;
    for (i = 0; i < k; i++)
        ps[i].bytes = b;
    qsort(ps, k, sizeof *ps, cmp_param);
    for (i = 0; i < k; i = j) {
        for (j = i + 1; j < k && ps[j].name_len == ps[i].name_len &&
                        memcmp(b + ps[j].name, b + ps[i].name, ps[i].name_len) == 0;
             j++)
            ;
        for (m = i; m < j; m++)
            ps[m].group_order = ps[i].order;
    }
    qsort(ps, k, sizeof *ps, cmp_group);
    for (i = 0; i < k; i = j) {
        size_t ext = 0;
        for (j = i; j < k && ps[j].group_order == ps[i].group_order; j++)
            if (ps[j].section >= 0 || ps[j].ext)
                ext++;
        if ((rc = lm_hdr_rec_put(out, b + ps[i].name, ps[i].name_len)) != LM_OK)
            return rc;
        rc = ext ? put_sections(p, ps + i, ext, out) : put_plain(p, ps + i, out);
        if (rc != LM_OK)
            return rc;
    }
    return LM_OK;
}

int lm_hdr_params(const char *in, size_t n, int kind, lm_buf *out, unsigned *warn)
{
    parser p;
    int rc;
    memset(&p, 0, sizeof p);
    p.in = in;
    p.n = n;
    p.warn = warn;
    lm_buf_init(&p.bytes, &out->a, (size_t)-1);
    lm_buf_init(&p.params, &out->a, (size_t)-1);
    lm_buf_init(&p.tmp, &out->a, (size_t)-1);
    rc = read_value(&p, kind, out);
    while (rc == LM_OK && p.i < p.n) {
        skip(&p);
        if (p.i >= p.n)
            break;
        if (p.in[p.i] != ';') {
            resync(&p);
            continue;
        }
        p.i++;
        rc = read_param(&p);
    }
    if (rc == LM_OK)
        rc = p.rc;
    if (rc == LM_OK)
        rc = emit(&p, out);
    lm_buf_free(&p.bytes);
    lm_buf_free(&p.params);
    lm_buf_free(&p.tmp);
    return rc;
}
