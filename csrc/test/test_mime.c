/* test_mime.c: the MIME parser alone (lm_mime.h). Each sample is turned
 * into a trace of its events and checked against the expected trace; every
 * sample is fed whole, split at every point, byte by byte and in random
 * chunks, and must give the same trace (DESIGN.md rule 6). Limits, a failing
 * allocator, and hostile shapes whose work is counted (lm_mime_work) to show
 * it stays linear in the input. */
#include "../core/lm_mime.h"
#include "../core/lm_mime_body.h"
#include "lmt.h"
#include "lmt_alloc.h"

#include <stdlib.h>

typedef struct trace {
    char *s;
    size_t n, cap;
    int last; /* type of the last data event, to merge pieces */
} trace;

static void put(trace *t, const char *s, size_t n)
{
    if (t->n + n + 1 > t->cap) {
        t->cap = (t->n + n + 1) * 2;
        t->s = realloc(t->s, t->cap);
    }
    memcpy(t->s + t->n, s, n);
    t->n += n;
    t->s[t->n] = 0;
}

static void puts_(trace *t, const char *s)
{
    put(t, s, strlen(s));
}

static void event(trace *t, const lm_mime_event *ev)
{
    char buf[128];
    static const char *const kinds[] = {"?", "leaf", "multipart", "message"};
    int data = ev->type == LM_MIME_BODY || ev->type == LM_MIME_PREAMBLE ||
               ev->type == LM_MIME_EPILOGUE;
    if (data && t->last == ev->type) {
        put(t, ev->data, ev->len);
        return;
    }
    if (t->last)
        puts_(t, "]\n");
    t->last = 0;
    switch (ev->type) {
    case LM_MIME_BEGIN:
        snprintf(buf, sizeof buf, "%zu begin @%llu\n", ev->depth, (unsigned long long)ev->offset);
        puts_(t, buf);
        break;
    case LM_MIME_HEADER:
        snprintf(buf, sizeof buf, "%zu ", ev->depth);
        puts_(t, buf);
        put(t, ev->name, ev->name_len);
        puts_(t, "=");
        put(t, ev->data, ev->len);
        puts_(t, "\n");
        break;
    case LM_MIME_HEADERS_END:
        snprintf(buf, sizeof buf, "%zu %s ", ev->depth, kinds[ev->kind]);
        puts_(t, buf);
        put(t, ev->data, ev->len);
        snprintf(buf, sizeof buf, " @%llu\n", (unsigned long long)ev->offset);
        puts_(t, buf);
        break;
    case LM_MIME_BODY:
    case LM_MIME_PREAMBLE:
    case LM_MIME_EPILOGUE:
        snprintf(buf, sizeof buf, "%zu %s @%llu [", ev->depth,
                 ev->type == LM_MIME_BODY ? "body" : ev->type == LM_MIME_PREAMBLE ? "preamble"
                                                                                  : "epilogue",
                 (unsigned long long)ev->offset);
        puts_(t, buf);
        put(t, ev->data, ev->len);
        t->last = ev->type;
        break;
    case LM_MIME_END:
        snprintf(buf, sizeof buf, "%zu end @%llu\n", ev->depth, (unsigned long long)ev->offset);
        puts_(t, buf);
        break;
    case LM_MIME_WARNING:
        snprintf(buf, sizeof buf, "%zu warning %d @%llu\n", ev->depth, ev->warning,
                 (unsigned long long)ev->offset);
        puts_(t, buf);
        break;
    case LM_MIME_DONE:
        puts_(t, "done\n");
        break;
    default:
        puts_(t, "unknown event\n");
    }
}

/* Parses s fed in the given chunk sizes (sizes NULL: whole); returns the
 * trace (caller frees) and the final status in *rc. */
static char *run(const char *s, size_t n, const size_t *sizes, size_t nsizes,
                 const lm_mime_opts *o, int *rc_out, uint64_t *work)
{
    lm_alloc a = {lmt_test_alloc, NULL};
    lm_mime *p;
    lm_mime_event ev;
    trace t = {NULL, 0, 0, 0};
    size_t off = 0, k = 0;
    int rc;
    puts_(&t, "");
    if ((rc = lm_mime_new(&p, o, &a)) != LM_OK) {
        *rc_out = rc;
        return t.s;
    }
    for (;;) {
        rc = lm_mime_next(p, &ev);
        if (rc == LM_EAGAIN) {
            if (off >= n) {
                lm_mime_finish(p);
                continue;
            }
            {
                size_t c = sizes ? sizes[k++ % nsizes] : n;
                if (c > n - off)
                    c = n - off;
                if ((rc = lm_mime_feed(p, s + off, c)) != LM_OK)
                    break;
                off += c;
            }
            continue;
        }
        if (rc != LM_OK)
            break;
        event(&t, &ev);
        if (ev.type == LM_MIME_DONE)
            break;
    }
    if (t.last)
        puts_(&t, "]\n");
    if (work)
        *work = lm_mime_work(p);
    lm_mime_free(p);
    *rc_out = rc;
    return t.s;
}

/* Whole, every split point, byte by byte and random chunks agree. */
static int invariant(const char *s, const char *want)
{
    size_t n = strlen(s), i, one = 1, sizes[16];
    int rc, ok = 1;
    unsigned long long seed = 42;
    char *whole = run(s, n, NULL, 0, NULL, &rc, NULL), *t;
    if (want && strcmp(whole, want) != 0) {
        fprintf(stderr, "--- got:\n%s--- want:\n%s---\n", whole, want);
        ok = 0;
    }
    for (i = 1; i < n && ok; i++) {
        size_t two[2] = {i, n};
        t = run(s, n, two, 2, NULL, &rc, NULL);
        if (strcmp(t, whole) != 0) {
            fprintf(stderr, "split at %zu differs:\n%s", i, t);
            ok = 0;
        }
        free(t);
    }
    t = run(s, n, &one, 1, NULL, &rc, NULL);
    if (strcmp(t, whole) != 0) {
        fprintf(stderr, "byte by byte differs:\n%s", t);
        ok = 0;
    }
    free(t);
    for (i = 0; i < 20 && ok; i++) {
        size_t j;
        for (j = 0; j < 16; j++)
            sizes[j] = lmt_rand(&seed) % 13 + 1;
        t = run(s, n, sizes, 16, NULL, &rc, NULL);
        if (strcmp(t, whole) != 0)
            ok = 0;
        free(t);
    }
    free(whole);
    return ok;
}

static void test_simple(void)
{
    LMT_CHECK(invariant("Subject: hi\r\nTo: a@b\r\n\r\nbody\r\nline 2\r\n",
                        "0 begin @0\n"
                        "0 Subject=hi\n"
                        "0 To=a@b\n"
                        "0 leaf text/plain @24\n"
                        "0 body @24 [body\r\nline 2\r\n]\n"
                        "0 end @38\n"
                        "done\n"));
    /* folding, LF line ends, white space before the colon, mbox From line */
    LMT_CHECK(invariant("From alice  Mon Jan  1 00:00:00 2001\nSubject: a\n  b\n\tc\n"
                        "X-A : 1\n\nbody",
                        "0 begin @0\n"
                        "0 Subject=a  b\tc\n"
                        "0 X-A=1\n"
                        "0 leaf text/plain @64\n"
                        "0 body @64 [body]\n"
                        "0 end @68\n"
                        "done\n"));
    /* only headers; no body separator at all */
    LMT_CHECK(invariant("A: 1\r\nB: 2", "0 begin @0\n0 A=1\n0 B=2\n0 leaf text/plain @10\n"
                                       "0 end @10\ndone\n"));
    LMT_CHECK(invariant("", "0 begin @0\n0 leaf text/plain @0\n0 end @0\ndone\n"));
    /* malformed header lines */
    LMT_CHECK(invariant(" lead\r\nA: 1\r\n: x\r\nFrom x\r\nnot a header\r\nB: 2\r\n",
                        "0 begin @0\n"
                        "0 warning 2 @0\n"
                        "0 A=1\n"
                        "0 warning 4 @13\n"
                        "0 warning 3 @18\n"
                        "0 warning 1 @26\n"
                        "0 leaf text/plain @26\n"
                        "0 body @26 [not a header\r\nB: 2\r\n]\n"
                        "0 end @46\n"
                        "done\n"));
}

static const char MULTI[] =
    "Content-Type: multipart/mixed; boundary=\"b1\"\r\n"
    "\r\n"
    "preamble\r\n"
    "--b1\r\n"
    "Content-Type: text/plain\r\n"
    "\r\n"
    "one\r\n"
    "--b1  \r\n"
    "\r\n"
    "two\r\n"
    "\r\n"
    "--b1--\r\n"
    "epilogue\r\n";

static void test_multipart(void)
{
    LMT_CHECK(invariant(MULTI, "0 begin @0\n"
                               "0 Content-Type=multipart/mixed; boundary=\"b1\"\n"
                               "0 multipart multipart/mixed @48\n"
                               "0 preamble @48 [preamble]\n"
                               "1 begin @64\n"
                               "1 Content-Type=text/plain\n"
                               "1 leaf text/plain @92\n"
                               "1 body @92 [one]\n"
                               "1 end @95\n"
                               "1 begin @105\n"
                               "1 leaf text/plain @107\n"
                               "1 body @107 [two\r\n]\n"
                               "1 end @112\n"
                               "0 epilogue @122 [epilogue\r\n]\n"
                               "0 end @132\n"
                               "done\n"));
    /* no preamble, empty parts, a part without header, the delimiter as
     * the very first body line, boundary that is a prefix of a line */
    LMT_CHECK(invariant("Content-Type: multipart/mixed; boundary=b\n\n--b\n\n--b\n--bx\n--b--",
                        "0 begin @0\n"
                        "0 Content-Type=multipart/mixed; boundary=b\n"
                        "0 multipart multipart/mixed @43\n"
                        "1 begin @47\n"
                        "1 leaf text/plain @48\n"
                        "1 end @48\n"
                        "1 begin @52\n"
                        "1 warning 1 @52\n"
                        "1 leaf text/plain @52\n"
                        "1 body @52 [--bx]\n"
                        "1 end @56\n"
                        "0 end @62\n"
                        "done\n"));
    /* nested, the outer delimiter ends the unclosed inner one, a message */
    LMT_CHECK(invariant("Content-Type: multipart/mixed; boundary=o\n\n"
                        "--o\nContent-Type: multipart/alternative; boundary=i\n\n"
                        "--i\n\nin\n"
                        "--o\nContent-Type: message/rfc822\n\nSubject: x\n\nmsg\n"
                        "--o--\n",
                        NULL));
    {
        int rc;
        char *t = run(MULTI, strlen(MULTI), NULL, 0, NULL, &rc, NULL);
        LMT_CHECK(rc == LM_OK);
        free(t);
    }
}

static void test_nested(void)
{
    const char *m = "Content-Type: multipart/mixed; boundary=o\n\n"
                    "--o\nContent-Type: multipart/alternative; boundary=i\n\n"
                    "--i\n\nin\n"
                    "--o\nContent-Type: message/rfc822\n\nSubject: x\n\nmsg\n"
                    "--o--\n";
    LMT_CHECK(invariant(m, "0 begin @0\n"
                           "0 Content-Type=multipart/mixed; boundary=o\n"
                           "0 multipart multipart/mixed @43\n"
                           "1 begin @47\n"
                           "1 Content-Type=multipart/alternative; boundary=i\n"
                           "1 multipart multipart/alternative @96\n"
                           "2 begin @100\n"
                           "2 leaf text/plain @101\n"
                           "2 body @101 [in]\n"
                           "2 end @103\n"
                           "1 warning 7 @103\n"
                           "1 end @103\n"
                           "1 begin @108\n"
                           "1 Content-Type=message/rfc822\n"
                           "1 message message/rfc822 @138\n"
                           "2 begin @138\n"
                           "2 Subject=x\n"
                           "2 leaf text/plain @150\n"
                           "2 body @150 [msg]\n"
                           "2 end @153\n"
                           "1 end @153\n"
                           "0 end @160\n"
                           "done\n"));
}

static void test_edges(void)
{
    /* regression: a body starting with an empty line, then the delimiter
     * (the line break at the very start of the body was skipped) */
    LMT_CHECK(invariant("Content-Type: multipart/mixed; boundary=b\n\n\n--b\n\nx\n--b--\n",
                        "0 begin @0\n"
                        "0 Content-Type=multipart/mixed; boundary=b\n"
                        "0 multipart multipart/mixed @43\n"
                        "1 begin @48\n"
                        "1 leaf text/plain @49\n"
                        "1 body @49 [x]\n"
                        "1 end @50\n"
                        "0 end @57\n"
                        "done\n"));
    /* repeated delimiter lines open no empty parts */
    LMT_CHECK(invariant("Content-Type: multipart/mixed; boundary=b\n\n--b\n--b\n\nx\n--b--\n",
                        "0 begin @0\n"
                        "0 Content-Type=multipart/mixed; boundary=b\n"
                        "0 multipart multipart/mixed @43\n"
                        "1 begin @47\n"
                        "1 leaf text/plain @52\n"
                        "1 body @52 [x]\n"
                        "1 end @53\n"
                        "0 end @60\n"
                        "done\n"));
    /* unterminated: no close delimiter, no delimiter at all */
    LMT_CHECK(invariant("Content-Type: multipart/mixed; boundary=b\n\n--b\n\nx",
                        "0 begin @0\n"
                        "0 Content-Type=multipart/mixed; boundary=b\n"
                        "0 multipart multipart/mixed @43\n"
                        "1 begin @47\n"
                        "1 leaf text/plain @48\n"
                        "1 body @48 [x]\n"
                        "1 end @49\n"
                        "0 warning 7 @49\n"
                        "0 end @49\n"
                        "done\n"));
    LMT_CHECK(invariant("Content-Type: multipart/mixed; boundary=b\n\nonly text\n",
                        "0 begin @0\n"
                        "0 Content-Type=multipart/mixed; boundary=b\n"
                        "0 multipart multipart/mixed @43\n"
                        "0 preamble @43 [only text\n]\n"
                        "0 warning 6 @53\n"
                        "0 end @53\n"
                        "done\n"));
    /* multipart without boundary: a leaf, with a warning */
    LMT_CHECK(invariant("Content-Type: multipart/mixed\n\n--b\n",
                        "0 begin @0\n"
                        "0 Content-Type=multipart/mixed\n"
                        "0 leaf multipart/mixed @31\n"
                        "0 warning 5 @31\n"
                        "0 body @31 [--b\n]\n"
                        "0 end @35\n"
                        "done\n"));
    /* a delimiter ends a part's header block */
    LMT_CHECK(invariant("Content-Type: multipart/mixed; boundary=b\n\n--b\nX: 1\n--b--\n",
                        "0 begin @0\n"
                        "0 Content-Type=multipart/mixed; boundary=b\n"
                        "0 multipart multipart/mixed @43\n"
                        "1 begin @47\n"
                        "1 X=1\n"
                        "1 leaf text/plain @52\n"
                        "1 end @52\n"
                        "0 end @58\n"
                        "done\n"));
    /* CR LF kept inside the body; a bare CR is data; "--" alone */
    LMT_CHECK(invariant("Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\r\na\rb\r\n--\r\n"
                        "-\r\n--b--",
                        NULL));
    /* digest parts default to message/rfc822 */
    LMT_CHECK(invariant("Content-Type: multipart/digest; boundary=d\n\n--d\n\nSubject: s\n\nx\n"
                        "--d--\n",
                        NULL));
    /* the same boundary nested: the innermost wins until it closes */
    LMT_CHECK(invariant("Content-Type: multipart/mixed; boundary=b\n\n--b\n"
                        "Content-Type: multipart/mixed; boundary=b\n\n--b\n\nx\n--b--\n--b--\n",
                        NULL));
}

static char *expand(const char *s)
{
    return strcpy(malloc(strlen(s) + 1), s);
}

static void test_limits(void)
{
    lm_mime_opts o;
    int rc;
    char *t, *big;
    size_t i, n;
    memset(&o, 0, sizeof o);
    o.max_depth = 1;
    t = run("Content-Type: message/rfc822\n\nContent-Type: message/rfc822\n\nx", 60, NULL, 0, &o,
            &rc, NULL);
    LMT_CHECK(rc == LM_ETOOLONG);
    free(t);
    memset(&o, 0, sizeof o);
    o.max_parts = 3;
    t = run(MULTI, strlen(MULTI), NULL, 0, &o, &rc, NULL);
    LMT_CHECK(rc == LM_OK);
    free(t);
    o.max_parts = 2;
    t = run(MULTI, strlen(MULTI), NULL, 0, &o, &rc, NULL);
    LMT_CHECK(rc == LM_ETOOLONG);
    free(t);
    memset(&o, 0, sizeof o);
    o.max_header_bytes = 40;
    t = run(MULTI, strlen(MULTI), NULL, 0, &o, &rc, NULL);
    LMT_CHECK(rc == LM_ETOOLONG);
    free(t);
    memset(&o, 0, sizeof o);
    o.max_line = 20;
    t = run("Subject: a fairly long line here\n\n", 34, NULL, 0, &o, &rc, NULL);
    LMT_CHECK(rc == LM_ETOOLONG);
    free(t);
    /* a 10 MB header line stops at the limit, having looked at ~ the limit */
    n = 10 << 20;
    big = malloc(n);
    memcpy(big, "Subject: ", 9);
    memset(big + 9, 'x', n - 9);
    {
        size_t sz = 65536;
        uint64_t work;
        t = run(big, n, &sz, 1, NULL, &rc, &work);
        LMT_CHECK(rc == LM_ETOOLONG && work <= 2 * LM_MIME_DEFAULT_LINE);
        free(t);
    }
    free(big);
    (void)i;
    (void)expand;
}

/* Every allocation failed in turn: an error, never a crash or a leak. */
static void test_alloc_failures(void)
{
    int i, rc;
    for (i = 1; i < 300; i++) {
        char *t;
        lmt_alloc_count = 0;
        lmt_fail_at = i;
        t = run(MULTI, strlen(MULTI), NULL, 0, NULL, &rc, NULL);
        LMT_CHECK(rc == LM_OK || rc == LM_ENOMEM);
        free(t);
        LMT_CHECK(lmt_live == 0);
    }
    lmt_fail_at = 0;
}

/* Builds a message of `depth` nested multiparts (each its own boundary). */
static char *deep(size_t depth, size_t *len)
{
    size_t cap = depth * 120 + 100, n = 0, i;
    char *s = malloc(cap);
    for (i = 0; i < depth; i++)
        n += (size_t)sprintf(s + n, "Content-Type: multipart/mixed; boundary=b%zu\n\n--b%zu\n", i,
                             i);
    n += (size_t)sprintf(s + n, "\nleaf\n");
    for (i = depth; i-- > 0;)
        n += (size_t)sprintf(s + n, "--b%zu--\n", i);
    *len = n;
    return s;
}

/* Hostile shapes: the work counted stays a small multiple of the input. */
static void test_linear(void)
{
    lm_mime_opts o;
    size_t n, i, sz = 4096;
    uint64_t work;
    int rc;
    char *s, *t;
    /* 10,000-deep nesting: refused at the default depth, parsed in linear
     * work when allowed */
    s = deep(10000, &n);
    t = run(s, n, NULL, 0, NULL, &rc, NULL);
    LMT_CHECK(rc == LM_ETOOLONG);
    free(t);
    memset(&o, 0, sizeof o);
    o.max_depth = 20000;
    o.max_parts = 30000;
    t = run(s, n, &sz, 1, &o, &rc, &work);
    LMT_CHECK(rc == LM_OK && strstr(t, "done\n") && work < 8 * (uint64_t)n);
    free(t);
    free(s);
    /* 100,000 parts */
    n = 0;
    s = malloc(100000 * 8 + 100);
    n += (size_t)sprintf(s, "Content-Type: multipart/mixed; boundary=b\n\n");
    for (i = 0; i < 100000; i++)
        n += (size_t)sprintf(s + n, "--b\n\nx\n");
    t = run(s, n, NULL, 0, NULL, &rc, NULL);
    LMT_CHECK(rc == LM_ETOOLONG);
    free(t);
    o.max_parts = 200000;
    t = run(s, n, &sz, 1, &o, &rc, &work);
    LMT_CHECK(rc == LM_OK && work < 8 * (uint64_t)n);
    free(t);
    free(s);
    /* lines that all look like delimiters of a long boundary but are not */
    n = 4 << 20;
    s = malloc(n + 1);
    i = (size_t)sprintf(s, "Content-Type: multipart/mixed; boundary=%0250d\n\n", 7);
    while (i + 260 < n) {
        memset(s + i, '-', 2);
        memset(s + i + 2, '0', 255);
        s[i + 257] = '\n';
        i += 258;
    }
    t = run(s, i, &sz, 1, NULL, &rc, &work);
    LMT_CHECK(rc == LM_OK && work < 8 * (uint64_t)i);
    free(t);
    free(s);
}

static void test_invariance_samples(void)
{
    static const char *const samples[] = {
        MULTI,
        "Content-Type: multipart/mixed; boundary=\"x y\"\r\n\r\n--x y\r\n\r\na\r\n--x y--",
        "Content-Type: multipart/mixed; boundary=b\n\n--b\n\n-\n--\n--b-\n--b --\n--b--  \nend",
        "Content-Type: message/rfc822\n\nContent-Type: multipart/mixed; boundary=q\n\n--q\n\nz\n",
        "A: 1\r\n\r\n\r\n\r\n",
        "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\r\n\r\n--b--\r\n",
        "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\r\nx\r\r\n--b--\r\n",
    };
    size_t i;
    for (i = 0; i < sizeof samples / sizeof samples[0]; i++)
        LMT_CHECK(invariant(samples[i], NULL));
}

/* The base64 garbage check against a byte-by-byte reference: every byte
 * value at every position of buffers longer than the widest SIMD block. */
static void test_body_checks(void)
{
    static const char ok[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/= \t\r\n";
    unsigned char buf[80];
    int c;
    size_t k;
    for (c = 0; c < 256; c++) {
        int good = c != 0 && strchr(ok, c) != NULL;
        for (k = 0; k < sizeof buf; k++) {
            memset(buf, 'A', sizeof buf);
            buf[k] = (unsigned char)c;
            LMT_CHECK(lm_mime_b64_garbage(buf, sizeof buf) == (good ? sizeof buf : k));
        }
    }
    LMT_CHECK(lm_mime_b64_garbage("", 0) == 0);
    LMT_CHECK(lm_mime_qp_clean("a=3Db=\r\nc= \t\nd=", 15));
    LMT_CHECK(lm_mime_qp_clean("plain", 5));
    LMT_CHECK(!lm_mime_qp_clean("a=ZZ", 4));
    LMT_CHECK(!lm_mime_qp_clean("a=4", 3));
    LMT_CHECK(!lm_mime_qp_clean("a= x\r\n", 6));
    LMT_CHECK(!lm_mime_qp_clean("a=\r", 3));
}

int main(void)
{
    LMT_RUN(test_body_checks);
    LMT_RUN(test_simple);
    LMT_RUN(test_multipart);
    LMT_RUN(test_nested);
    LMT_RUN(test_edges);
    LMT_RUN(test_limits);
    LMT_RUN(test_alloc_failures);
    LMT_RUN(test_linear);
    LMT_RUN(test_invariance_samples);
    return lmt_report("mime");
}
