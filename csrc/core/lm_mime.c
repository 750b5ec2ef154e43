/* lm_mime.c: the incremental MIME parser (lm_mime.h). One state handler
 * per state; each call of lm_mime_next runs handlers until one produces an
 * event or needs input. */
#include "lm_mime.h"

#include <string.h>

#include "lm_hdr.h"
#include "lm_mime_bnd.h"

/* Longest line that can still be a delimiter: "--", the boundary, "--",
 * some transport padding (RFC 2046 5.1.1) and CRLF. */
#define MAX_DELIM_LINE (2 + LM_MIME_MAX_BOUNDARY + 2 + 64 + 2)

enum state {
    S_BEGIN,    /* emit BEGIN of a new entity */
    S_HEADERS,  /* header lines */
    S_HDR_END,  /* emit HEADERS_END and pick the body state */
    S_BODY,     /* leaf body */
    S_PREAMBLE, /* multipart, before the first delimiter */
    S_EPILOGUE, /* multipart, after its close delimiter */
    S_CLOSE,    /* a delimiter was found: end entities down to its owner */
    S_EOF,      /* input over: end every open entity */
    S_DONE
};

typedef struct entity {
    int kind;    /* 0 until its header ends */
    int digest;  /* multipart/digest: parts default to message/rfc822 */
    int in_bnd;  /* multipart whose boundary is active */
    int delims;  /* multipart: delimiter lines seen */
    int warned;  /* the unclosed-multipart warning was given */
} entity;

struct lm_mime {
    lm_mime_opts o;
    lm_alloc a;
    int state;
    int rc;                 /* sticky failure */
    int finished;           /* no more input */
    lm_buf in;              /* unprocessed input */
    uint64_t base;          /* stream offset of the first unprocessed byte */
    size_t consume;         /* input bytes to drop at the next call */
    size_t scan;            /* bytes at the front known to hold no LF (headers) */
    uint64_t err_off;
    const char *err_limit;
    uint64_t work;

    lm_buf ents;            /* entity[]: the open entities, outermost first */
    size_t nparts;
    lm_bnd bnd;

    /* the header block of the innermost entity */
    lm_buf field;           /* "Name: value" being collected, unfolded */
    int field_open;         /* field holds a field not handed out yet */
    int field_out;          /* field was handed out: clear it next call */
    size_t hdr_bytes;
    int first_line;
    int force_leaf;         /* a delimiter ended the header: no body */
    lm_buf ctype;           /* the first Content-Type value */
    int have_ctype;
    lm_buf scratch;         /* parameter records; the content type handed out */
    uint64_t body_off;

    int bol;                /* the input starts a line (no line break held before it) */

    /* the delimiter being acted on */
    size_t d_owner;
    int d_close;
    uint64_t d_end;

    int wq;                 /* a queued warning, or 0 */
    uint64_t wq_off;
};

static const char *const warning_texts[] = {
    "",
    "header block ended by a line that is not a header field",
    "continuation line before any header field (dropped)",
    "\"From \" line among the header fields (dropped)",
    "header field with an empty name (dropped)",
    "multipart without a usable boundary parameter (read as a single part)",
    "multipart body without any delimiter line",
    "multipart ended without its close delimiter",
    "a delimiter line came before the end of the header block",
};

const char *lm_mime_warning_text(int w)
{
    if (w <= 0 || w >= LM_MIME_W_LAST_)
        return "unknown warning";
    return warning_texts[w];
}

static size_t nents(const lm_mime *p)
{
    return lm_buf_size(&p->ents) / sizeof(entity);
}

static entity *ent(lm_mime *p, size_t i)
{
    return (entity *)(void *)(p->ents.p + p->ents.off) + i;
}

static entity *top(lm_mime *p)
{
    return ent(p, nents(p) - 1);
}

int lm_mime_new(lm_mime **out, const lm_mime_opts *opts, const lm_alloc *a)
{
    lm_mime *p = lm_malloc(a, sizeof *p);
    if (!p)
        return LM_ENOMEM;
    memset(p, 0, sizeof *p);
    p->a = *a;
    if (opts)
        p->o = *opts;
    if (!p->o.max_depth)
        p->o.max_depth = LM_MIME_DEFAULT_DEPTH;
    if (!p->o.max_parts)
        p->o.max_parts = LM_MIME_DEFAULT_PARTS;
    if (!p->o.max_header_bytes)
        p->o.max_header_bytes = LM_MIME_DEFAULT_HEADER_BYTES;
    if (!p->o.max_line)
        p->o.max_line = LM_MIME_DEFAULT_LINE;
    lm_buf_init(&p->in, a, (size_t)-1);
    lm_buf_init(&p->ents, a, (size_t)-1);
    lm_buf_init(&p->field, a, (size_t)-1);
    lm_buf_init(&p->ctype, a, (size_t)-1);
    lm_buf_init(&p->scratch, a, (size_t)-1);
    lm_bnd_init(&p->bnd, a);
    p->state = S_BEGIN;
    *out = p;
    return LM_OK;
}

void lm_mime_free(lm_mime *p)
{
    lm_alloc a;
    if (!p)
        return;
    a = p->a;
    lm_buf_free(&p->in);
    lm_buf_free(&p->ents);
    lm_buf_free(&p->field);
    lm_buf_free(&p->ctype);
    lm_buf_free(&p->scratch);
    lm_bnd_free(&p->bnd);
    lm_free(&a, p, sizeof *p);
}

int lm_mime_feed(lm_mime *p, const void *data, size_t n)
{
    int rc;
    if (p->rc)
        return p->rc;
    if (p->finished)
        return LM_ESTATE;
    if ((rc = lm_buf_append(&p->in, data, n)) != LM_OK)
        p->rc = rc;
    return rc;
}

int lm_mime_finish(lm_mime *p)
{
    p->finished = 1;
    return p->rc;
}

uint64_t lm_mime_error_offset(const lm_mime *p, const char **limit)
{
    if (limit)
        *limit = p->err_limit;
    return p->err_off;
}

uint64_t lm_mime_work(const lm_mime *p)
{
    return p->work + p->bnd.work;
}

static int fail(lm_mime *p, int rc, const char *limit, uint64_t off)
{
    p->rc = rc;
    p->err_limit = limit;
    p->err_off = off;
    return rc;
}

static void warn(lm_mime_event *ev, int w, uint64_t off, size_t depth)
{
    ev->type = LM_MIME_WARNING;
    ev->warning = w;
    ev->offset = off;
    ev->depth = depth;
    ev->data = lm_mime_warning_text(w);
    ev->len = strlen(ev->data);
}

/* ---- entities ---- */

static int begin_entity(lm_mime *p, lm_mime_event *ev)
{
    entity e;
    size_t depth = nents(p);
    int rc;
    if (depth > p->o.max_depth)
        return fail(p, LM_ETOOLONG, "max_depth", p->base);
    if (++p->nparts > p->o.max_parts)
        return fail(p, LM_ETOOLONG, "max_parts", p->base);
    memset(&e, 0, sizeof e);
    if ((rc = lm_buf_append(&p->ents, &e, sizeof e)) != LM_OK)
        return fail(p, rc, NULL, p->base);
    lm_buf_clear(&p->field);
    lm_buf_clear(&p->ctype);
    p->field_open = p->field_out = 0;
    p->have_ctype = p->force_leaf = 0;
    p->hdr_bytes = 0;
    p->first_line = 1;
    p->scan = 0;
    p->state = S_HEADERS;
    ev->type = LM_MIME_BEGIN;
    ev->depth = depth;
    ev->offset = p->base;
    return LM_OK;
}

/* Ends the innermost entity (END at offset off). */
static void end_entity(lm_mime *p, lm_mime_event *ev, uint64_t off)
{
    entity *e = top(p);
    if (e->in_bnd)
        lm_bnd_pop(&p->bnd);
    ev->type = LM_MIME_END;
    ev->depth = nents(p) - 1;
    ev->offset = off;
    p->ents.len -= sizeof(entity);
}

/* 1 when the innermost entity is a multipart that was never closed and
 * has not been warned about yet: the warning is put in ev. */
static int unclosed_warning(lm_mime *p, lm_mime_event *ev, uint64_t off)
{
    entity *e = top(p);
    if (e->kind != LM_MIME_MULTIPART || !e->in_bnd || e->warned)
        return 0;
    e->warned = 1;
    warn(ev, e->delims ? LM_MIME_W_UNCLOSED : LM_MIME_W_NO_DELIMITER, off, nents(p) - 1);
    return 1;
}

/* ---- header lines ---- */

/* ASCII case-insensitive comparison with a lower-case literal. */
static int ieq(const char *a, size_t n, const char *lit)
{
    size_t i;
    if (n != strlen(lit))
        return 0;
    for (i = 0; i < n; i++)
        if ((a[i] | 0x20) != lit[i] && a[i] != lit[i])
            return 0;
    return 1;
}


static int is_wsp(unsigned char c)
{
    return c == ' ' || c == '\t';
}

/* The length of a valid field name before the colon at line[colon], white
 * space before the colon dropped (RFC 5322 4.5.3 obs-optional); 0 if the
 * name is not valid (RFC 5322 3.6.8 ftext: printable ASCII except ':'). */
static size_t name_len(const unsigned char *line, size_t colon)
{
    size_t k = colon, i;
    while (k > 0 && is_wsp(line[k - 1]))
        k--;
    for (i = 0; i < k; i++)
        if (line[i] < 33 || line[i] > 126)
            return 0;
    return k;
}

/* Hands out the collected field as a HEADER event. */
static void emit_field(lm_mime *p, lm_mime_event *ev)
{
    const char *f = (const char *)lm_buf_data(&p->field);
    size_t n = lm_buf_size(&p->field), colon = 0, v;
    while (f[colon] != ':')
        colon++;
    v = colon + 1;
    while (v < n && is_wsp((unsigned char)f[v]))
        v++;
    ev->type = LM_MIME_HEADER;
    ev->depth = nents(p) - 1;
    ev->name = f;
    ev->name_len = name_len((const unsigned char *)f, colon);
    ev->data = f + v;
    ev->len = n - v;
    ev->offset = p->base;
    if (!p->have_ctype && ieq(f, ev->name_len, "content-type")) {
        p->have_ctype = 1;
        p->rc = lm_buf_append(&p->ctype, ev->data, ev->len);
    }
    p->field_open = 0;
    p->field_out = 1;
}

/* Is line[0..n) (break excluded) a delimiter of an active boundary? */
static int delimiter(lm_mime *p, const unsigned char *line, size_t n, size_t *owner,
                     int *close)
{
    if (n < 2 || line[0] != '-' || line[1] != '-' || !lm_bnd_count(&p->bnd))
        return 0;
    while (n > 2 && (is_wsp(line[n - 1]) || line[n - 1] == '\r'))
        n--;
    if (n - 2 > LM_MIME_MAX_BOUNDARY + 2)
        return 0;
    if (lm_bnd_find(&p->bnd, (const char *)line + 2, n - 2, owner)) {
        *close = 0;
        return 1;
    }
    if (n >= 4 && line[n - 1] == '-' && line[n - 2] == '-' &&
        lm_bnd_find(&p->bnd, (const char *)line + 2, n - 4, owner)) {
        *close = 1;
        return 1;
    }
    return 0;
}

static void consume_now(lm_mime *p, size_t n)
{
    lm_buf_consume(&p->in, n);
    p->base += n;
}

static void end_header(lm_mime *p, uint64_t body_off)
{
    p->body_off = body_off;
    p->state = S_HDR_END;
}

/* One header line. Returns LM_OK with an event, LM_EAGAIN, an error, or 1
 * to run again. */
static int on_header(lm_mime *p, lm_mime_event *ev)
{
    const unsigned char *d = lm_buf_data(&p->in), *lf, *colon;
    size_t n = lm_buf_size(&p->in), len, brk, owner;
    int close, rc;
    lf = p->scan < n ? memchr(d + p->scan, '\n', n - p->scan) : NULL;
    p->work += (lf ? (size_t)(lf - d) + 1 : n) - p->scan;
    if (!lf) {
        if (n >= p->o.max_line)
            return fail(p, LM_ETOOLONG, "max_line", p->base);
        if (!p->finished) {
            p->scan = n;
            return LM_EAGAIN;
        }
        if (n == 0) {
            if (p->field_open) {
                emit_field(p, ev);
                return LM_OK;
            }
            end_header(p, p->base);
            return 1;
        }
        len = brk = n;
    } else {
        brk = (size_t)(lf - d) + 1;
        len = brk - 1;
    }
    if (brk > p->o.max_line)
        return fail(p, LM_ETOOLONG, "max_line", p->base);
    if (len && d[len - 1] == '\r')
        len--;
    p->scan = 0;
    if (delimiter(p, d, len, &owner, &close)) {
        if (p->first_line && !p->field_open && !close && nents(p) >= 2 &&
            owner == nents(p) - 2) {
            /* "--b" right after "--b": no part between them (RFC 2046
             * 5.1.1: a body part follows the delimiter's own CRLF), the
             * reading Python's email has too */
            consume_now(p, brk);
            return 1;
        }
        if (p->field_open) {
            emit_field(p, ev);
            return LM_OK;
        }
        p->force_leaf = 1;
        end_header(p, p->base); /* the line stays: the body scan ends it */
        return 1;
    }
    if (len == 0 || !is_wsp(d[0])) {
        /* anything but a continuation ends the field being collected */
        if (p->field_open) {
            emit_field(p, ev);
            return LM_OK;
        }
    }
    if (p->hdr_bytes + brk > p->o.max_header_bytes)
        return fail(p, LM_ETOOLONG, "max_header_bytes", p->base);
    if (len == 0) {
        p->hdr_bytes += brk;
        consume_now(p, brk);
        end_header(p, p->base);
        return 1;
    }
    if (is_wsp(d[0])) {
        p->hdr_bytes += brk;
        if (p->field_open) {
            rc = lm_buf_append(&p->field, d, len);
            consume_now(p, brk);
            return rc == LM_OK ? 1 : fail(p, rc, NULL, p->base);
        }
        warn(ev, LM_MIME_W_CONTINUATION, p->base, nents(p) - 1);
        consume_now(p, brk);
        return LM_OK;
    }
    if (len >= 5 && memcmp(d, "From ", 5) == 0) {
        int first = p->first_line && nents(p) == 1;
        p->hdr_bytes += brk;
        p->first_line = 0;
        if (first) { /* the mbox separator of a stored message */
            consume_now(p, brk);
            return 1;
        }
        warn(ev, LM_MIME_W_FROM_LINE, p->base, nents(p) - 1);
        consume_now(p, brk);
        return LM_OK;
    }
    p->first_line = 0;
    colon = memchr(d, ':', len);
    if (colon && colon == d) {
        p->hdr_bytes += brk;
        warn(ev, LM_MIME_W_BAD_HEADER, p->base, nents(p) - 1);
        consume_now(p, brk);
        return LM_OK;
    }
    if (colon && name_len(d, (size_t)(colon - d))) {
        p->hdr_bytes += brk;
        lm_buf_clear(&p->field);
        rc = lm_buf_append(&p->field, d, len);
        p->field_open = 1;
        consume_now(p, brk);
        return rc == LM_OK ? 1 : fail(p, rc, NULL, p->base);
    }
    /* not a header line: the body starts here */
    warn(ev, LM_MIME_W_NO_SEPARATOR, p->base, nents(p) - 1);
    end_header(p, p->base);
    return LM_OK;
}

/* ---- the end of a header block ---- */

/* Parses the Content-Type into scratch: records type, then params. */
static int content_type(lm_mime *p, const char **type, size_t *tlen, const char **bnd,
                        size_t *blen)
{
    const unsigned char *b;
    size_t pos = 0, n, k, vlen;
    const char *s, *v;
    unsigned w = 0;
    int rc;
    lm_buf_clear(&p->scratch);
    *type = NULL;
    *bnd = NULL;
    *tlen = *blen = 0;
    if (!p->have_ctype)
        return LM_OK;
    p->work += lm_buf_size(&p->ctype);
    rc = lm_hdr_params((const char *)lm_buf_data(&p->ctype), lm_buf_size(&p->ctype),
                       LM_HDR_CTYPE, &p->scratch, &w);
    if (rc != LM_OK)
        return rc;
    b = lm_buf_data(&p->scratch);
    n = lm_buf_size(&p->scratch);
    if (lm_hdr_rec_next(b, n, &pos, &s, &k) != LM_OK)
        return LM_OK;
    if (k) {
        *type = s;
        *tlen = k;
    }
    while (lm_hdr_rec_next(b, n, &pos, &s, &k) == LM_OK &&
           lm_hdr_rec_next(b, n, &pos, &v, &vlen) == LM_OK) {
        if (ieq(s, k, "boundary") && !*bnd) {
            *bnd = v;
            *blen = vlen;
        }
    }
    return LM_OK;
}

static int on_header_end(lm_mime *p, lm_mime_event *ev)
{
    entity *e = top(p), *parent = nents(p) > 1 ? ent(p, nents(p) - 2) : NULL;
    const char *type, *bnd;
    size_t tlen, blen;
    int rc = content_type(p, &type, &tlen, &bnd, &blen), kind = LM_MIME_LEAF;
    if (rc != LM_OK)
        return fail(p, rc, NULL, p->base);
    if (!type) {
        /* RFC 2045 5.2; RFC 2046 5.1.5 for digests. An unparsable type is
         * text/plain even in a digest, as Python's email reads it. */
        type = parent && parent->digest && !p->have_ctype ? "message/rfc822" : "text/plain";
        tlen = strlen(type);
    }
    if (tlen > 10 && memcmp(type, "multipart/", 10) == 0) {
        if (bnd && blen && blen <= LM_MIME_MAX_BOUNDARY)
            kind = LM_MIME_MULTIPART;
        else
            p->wq = LM_MIME_W_NO_BOUNDARY;
    } else if (ieq(type, tlen, "message/rfc822") || ieq(type, tlen, "message/global") ||
               ieq(type, tlen, "message/news") || ieq(type, tlen, "message/external-body")) {
        kind = LM_MIME_MESSAGE;
    }
    if (p->force_leaf && kind != LM_MIME_LEAF) {
        p->wq = LM_MIME_W_NO_BODY;
        kind = LM_MIME_LEAF;
    }
    p->wq_off = p->body_off;
    if (kind == LM_MIME_MULTIPART) {
        if ((rc = lm_bnd_push(&p->bnd, bnd, blen, nents(p) - 1)) != LM_OK)
            return fail(p, rc, NULL, p->base);
        e = top(p);
        e->in_bnd = 1;
        e->digest = tlen == 16 && memcmp(type, "multipart/digest", 16) == 0;
    }
    e->kind = kind;
    ev->type = LM_MIME_HEADERS_END;
    ev->kind = kind;
    ev->depth = nents(p) - 1;
    ev->data = type;
    ev->len = tlen;
    ev->offset = p->body_off;
    p->bol = 1;
    p->scan = 0;
    p->state = kind == LM_MIME_LEAF ? S_BODY : kind == LM_MIME_MULTIPART ? S_PREAMBLE : S_BEGIN;
    return LM_OK;
}

/* ---- bodies, preambles, epilogues ---- */

static void data_event(lm_mime *p, lm_mime_event *ev, size_t n)
{
    static const int types[] = {[S_BODY] = LM_MIME_BODY,
                                [S_PREAMBLE] = LM_MIME_PREAMBLE,
                                [S_EPILOGUE] = LM_MIME_EPILOGUE};
    ev->type = types[p->state];
    ev->depth = nents(p) - 1;
    ev->data = (const char *)lm_buf_data(&p->in);
    ev->len = n;
    ev->offset = p->base;
    p->consume = n;
    p->bol = 0;
}

/* Where held-back bytes start when no delimiter is in sight: a final line
 * break (and "-" after it) might begin a delimiter's "CRLF--". */
static size_t hold_point(const unsigned char *d, size_t n)
{
    size_t h = n;
    if (n >= 1 && d[n - 1] == '\n')
        h = n - 1;
    else if (n >= 2 && d[n - 2] == '\n' && d[n - 1] == '-')
        h = n - 2;
    else if (n >= 1 && d[n - 1] == '\r')
        return n - 1;
    if (h < n && h > 0 && d[h - 1] == '\r')
        h--;
    return h;
}

static int on_data(lm_mime *p, lm_mime_event *ev)
{
    const unsigned char *d = lm_buf_data(&p->in);
    size_t n = lm_buf_size(&p->in), s = 0, held = (size_t)-1;
    int first;
    if (!lm_bnd_count(&p->bnd)) {
        p->work += n;
        if (n) {
            data_event(p, ev, n);
            return LM_OK;
        }
        if (!p->finished)
            return LM_EAGAIN;
        p->state = S_EOF;
        return 1;
    }
    first = p->bol;
    for (;;) {
        size_t line, brk, e, owner, len;
        const unsigned char *lf;
        int close;
        if (first) {
            first = 0;
            line = e = 0;
        } else {
            lf = s < n ? memchr(d + s, '\n', n - s) : NULL;
            p->work += (lf ? (size_t)(lf - d) + 1 : n) - s;
            if (!lf)
                break;
            line = (size_t)(lf - d) + 1;
            e = line - 1;
            if (e > 0 && d[e - 1] == '\r')
                e--;
            s = line;
        }
        if (n - line < 2) {
            if (!p->finished) {
                held = e;
                break;
            }
            if (n == line)
                continue;
        }
        if (d[line] != '-' || (n - line >= 2 && d[line + 1] != '-'))
            continue;
        lf = memchr(d + line, '\n', n - line < MAX_DELIM_LINE ? n - line : MAX_DELIM_LINE);
        len = lf ? (size_t)(lf - d) - line : n - line;
        p->work += len;
        if (!lf) {
            if (n - line >= MAX_DELIM_LINE)
                continue; /* too long to be a delimiter */
            if (!p->finished) {
                held = e;
                break;
            }
        }
        if (!delimiter(p, d + line, len, &owner, &close))
            continue;
        brk = line + len + (lf ? 1 : 0);
        p->d_owner = owner;
        p->d_close = close;
        p->d_end = p->base + e;
        if (e) {
            data_event(p, ev, e);
            p->consume = brk;
            p->state = S_CLOSE;
            return LM_OK;
        }
        p->state = S_CLOSE;
        consume_now(p, brk);
        return 1;
    }
    {
        size_t h = held != (size_t)-1 ? held : p->finished ? n : hold_point(d, n);
        if (p->bol && n < 2 && !p->finished)
            h = 0;
        if (h) {
            data_event(p, ev, h);
            return LM_OK;
        }
        if (!p->finished)
            return LM_EAGAIN;
        p->state = S_EOF;
        return 1;
    }
}

/* ---- delimiters and the end ---- */

static int on_close(lm_mime *p, lm_mime_event *ev)
{
    entity *e;
    if (nents(p) - 1 > p->d_owner) {
        if (unclosed_warning(p, ev, p->d_end))
            return LM_OK;
        end_entity(p, ev, p->d_end);
        return LM_OK;
    }
    e = top(p);
    if (p->d_close) {
        lm_bnd_pop(&p->bnd);
        e->in_bnd = 0;
        p->state = S_EPILOGUE;
        p->bol = 1;
        return 1;
    }
    e->delims++;
    p->state = S_BEGIN;
    return 1;
}

static int on_eof(lm_mime *p, lm_mime_event *ev)
{
    if (!nents(p)) {
        p->state = S_DONE;
        return 1;
    }
    if (unclosed_warning(p, ev, p->base))
        return LM_OK;
    end_entity(p, ev, p->base);
    return LM_OK;
}

int lm_mime_next(lm_mime *p, lm_mime_event *ev)
{
    int rc;
    if (p->rc)
        return p->rc;
    if (p->consume) {
        consume_now(p, p->consume);
        p->consume = 0;
    }
    if (p->field_out) {
        lm_buf_clear(&p->field);
        p->field_out = 0;
    }
    memset(ev, 0, sizeof *ev);
    if (p->wq) {
        warn(ev, p->wq, p->wq_off, nents(p) ? nents(p) - 1 : 0);
        p->wq = 0;
        return LM_OK;
    }
    for (;;) {
        switch (p->state) {
        case S_BEGIN:
            rc = begin_entity(p, ev);
            break;
        case S_HEADERS:
            rc = on_header(p, ev);
            break;
        case S_HDR_END:
            rc = on_header_end(p, ev);
            break;
        case S_BODY:
        case S_PREAMBLE:
        case S_EPILOGUE:
            rc = on_data(p, ev);
            break;
        case S_CLOSE:
            rc = on_close(p, ev);
            break;
        case S_EOF:
            rc = on_eof(p, ev);
            break;
        default:
            ev->type = LM_MIME_DONE;
            return LM_OK;
        }
        if (p->rc)
            return p->rc;
        if (rc != 1)
            return rc;
    }
}
