/* test_eol_dot.c: CRLF normalisation, SMTP dot-stuffing and the POP3
 * multi-line reader alone. Each codec is checked against a whole-buffer
 * reference written here line by line, at every split point of small
 * inputs, byte by byte and at random splits, plus fixed vectors for the
 * SMTP smuggling family (CVE-2023-51764 and relatives). Chunks and output
 * buffers are malloc'd at their exact sizes so ASan and valgrind see any
 * access outside them. */
#include "../core/lm_dot.h"
#include "../core/lm_eol.h"
#include "../core/lm_scan.h"
#include "lmt.h"

#include <stdlib.h>

static int shrink; /* LMAIL_VALGRIND: fewer inputs, same checks */

static void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p) {
        fprintf(stderr, "out of memory\n");
        exit(2);
    }
    return p;
}

static unsigned char *dup_bytes(const unsigned char *p, size_t n)
{
    unsigned char *q = xmalloc(n);
    memcpy(q, p, n);
    return q;
}

/* ---- references ---- */

static size_t ref_eol(const unsigned char *in, size_t n, unsigned char *out)
{
    size_t i, o = 0;
    for (i = 0; i < n; i++) {
        if (in[i] == '\r' || in[i] == '\n') {
            out[o++] = '\r';
            out[o++] = '\n';
            if (in[i] == '\r' && i + 1 < n && in[i + 1] == '\n')
                i++;
        } else {
            out[o++] = in[i];
        }
    }
    return o;
}

/* RFC 5321 4.5.2 on the normalised lines. */
static size_t ref_stuff(const unsigned char *in, size_t n, unsigned char *out)
{
    unsigned char *x = xmalloc(2 * n);
    size_t m = ref_eol(in, n, x), i = 0, o = 0;
    while (i < m) {
        size_t j = i;
        while (j < m && x[j] != '\r')
            j++;
        if (x[i] == '.')
            out[o++] = '.';
        memcpy(out + o, x + i, j - i);
        o += j - i;
        memcpy(out + o, "\r\n", 2); /* the line's CRLF, or the missing one */
        o += 2;
        i = j + 2;
    }
    memcpy(out + o, ".\r\n", 3);
    free(x);
    return o + 3;
}

/* RFC 1939 3 on CRLF lines. Returns the bytes consumed up to the end of
 * the terminator, or (size_t)-1 when there is none; out gets the data
 * (for an incomplete input, what a reader must have written by then: all
 * of it except a dot starting the last line and a CR after that dot). */
static size_t ref_unstuff(const unsigned char *in, size_t n, unsigned char *out,
                          size_t *outlen)
{
    size_t i = 0, o = 0;
    while (i < n) {
        size_t j = i, len;
        while (j + 1 < n && !(in[j] == '\r' && in[j + 1] == '\n'))
            j++;
        len = j + 1 < n ? j + 2 - i : n - i; /* this line, with its CRLF */
        if (len == 3 && in[i] == '.' && j + 1 < n) {
            *outlen = o;
            return i + 3;
        }
        if (in[i] == '.') {
            i++;
            len--;
            if (j + 1 >= n && len == 1 && in[i] == '\r')
                len = 0; /* ".\r" at the end: the CR is still held */
        }
        memcpy(out + o, in + i, len);
        o += len;
        i += len;
        if (len == 0)
            break;
    }
    *outlen = o;
    return (size_t)-1;
}

/* ---- the codecs fed in chunks ---- */

enum { EOL, STUFF };

static unsigned char *run_chunks(int kind, const unsigned char *in, size_t n,
                                 const size_t *cuts, size_t ncuts, size_t *outlen)
{
    lm_eol e;
    lm_dot_stuffer s;
    unsigned char *out = xmalloc(2 * n + LM_DOT_FINISH_MAX);
    size_t o = 0, prev = 0, i, w;
    lm_eol_init(&e);
    lm_dot_stuff_init(&s);
    for (i = 0; i <= ncuts; i++) {
        size_t end = i < ncuts ? cuts[i] : n, len = end - prev;
        unsigned char *chunk = dup_bytes(in + prev, len);
        unsigned char *tmp = xmalloc(2 * len);
        if (kind == EOL)
            LMT_CHECK(lm_eol_step(&e, chunk, len, tmp, &w) == LM_OK);
        else
            LMT_CHECK(lm_dot_stuff_step(&s, chunk, len, tmp, &w) == LM_OK);
        LMT_CHECK(w <= LM_EOL_BOUND(len) && w <= LM_DOT_STUFF_BOUND(len));
        memcpy(out + o, tmp, w);
        o += w;
        free(chunk);
        free(tmp);
        prev = end;
    }
    if (kind == EOL) {
        LMT_CHECK(lm_eol_finish(&e, &w) == LM_OK && w == 0);
    } else {
        unsigned char *tmp = xmalloc(LM_DOT_FINISH_MAX);
        LMT_CHECK(lm_dot_stuff_finish(&s, tmp, &w) == LM_OK);
        memcpy(out + o, tmp, w);
        o += w;
        free(tmp);
    }
    *outlen = o;
    return out;
}

/* Feeds the reader chunk by chunk as a POP3 client would: stops at the
 * first LM_OK and returns the offset of the first byte not consumed (or
 * (size_t)-1 when the input ended first, after checking finish says
 * EPROTO). */
static size_t unstuff_chunks(const unsigned char *in, size_t n, const size_t *cuts,
                             size_t ncuts, unsigned char *out, size_t *outlen)
{
    lm_dot_unstuffer u;
    size_t o = 0, prev = 0, i, w, used, w2, used2;
    lm_dot_unstuff_init(&u);
    for (i = 0; i <= ncuts; i++) {
        size_t end = i < ncuts ? cuts[i] : n, len = end - prev;
        unsigned char *chunk = dup_bytes(in + prev, len);
        unsigned char *tmp = xmalloc(LM_DOT_UNSTUFF_BOUND(len));
        int rc = lm_dot_unstuff_step(&u, chunk, len, tmp, &w, &used);
        LMT_CHECK(w <= LM_DOT_UNSTUFF_BOUND(len) && used <= len);
        memcpy(out + o, tmp, w);
        o += w;
        if (rc == LM_OK) {
            /* done: stays done and reads nothing more */
            LMT_CHECK(lm_dot_unstuff_done(&u));
            LMT_CHECK(lm_dot_unstuff_step(&u, chunk, len, tmp, &w2, &used2) == LM_OK);
            LMT_CHECK(w2 == 0 && used2 == 0);
            LMT_CHECK(lm_dot_unstuff_finish(&u) == LM_OK);
            LMT_CHECK(!lm_dot_unstuff_done(&u)); /* finish resets */
            free(chunk);
            free(tmp);
            *outlen = o;
            return prev + used;
        }
        LMT_CHECK(rc == LM_EAGAIN && used == len && !lm_dot_unstuff_done(&u));
        free(chunk);
        free(tmp);
        prev = end;
    }
    LMT_CHECK(lm_dot_unstuff_finish(&u) == LM_EPROTO);
    *outlen = o;
    return (size_t)-1;
}

/* Stuffed output: only CRLF line ends, and the one line that is exactly
 * "." is the last one. */
static int safe_for_smtp(const unsigned char *s, size_t n)
{
    size_t i, bol = 0;
    for (i = 0; i < n; i++) {
        if ((s[i] == '\r') != (i + 1 < n && s[i + 1] == '\n'))
            return 0;
        if (s[i] == '\n' && (i == 0 || s[i - 1] != '\r'))
            return 0;
        if (s[i] == '\n') {
            if (i - bol == 2 && s[bol] == '.' && i + 1 != n)
                return 0;
            bol = i + 1;
        }
    }
    return n >= 3 && memcmp(s + n - 3, ".\r\n", 3) == 0 && (n == 3 || s[n - 4] == '\n');
}

/* ---- fixed vectors ---- */

/* How much of p lm_eol_run reads (short inputs: exactly the clean prefix). */
static size_t run_len(const char *p, size_t n, int dots)
{
    unsigned char *out = xmalloc(2 * n);
    size_t made, used = lm_eol_run(p, n, dots, out, &made);
    LMT_CHECK(made == used && memcmp(out, p, used) == 0);
    free(out);
    return used;
}

static void check_kind(int kind, const char *in, const char *want)
{
    size_t len, n = strlen(in);
    unsigned char *out = run_chunks(kind, (const unsigned char *)in, n, NULL, 0, &len);
    int ok = len == strlen(want) && memcmp(out, want, len) == 0;
    LMT_CHECK(ok);
    if (!ok)
        fprintf(stderr, "  %s of \"%s\" gave \"%.*s\"\n", kind == EOL ? "eol" : "stuff",
                in, (int)len, (char *)out);
    free(out);
}

static void test_eol_vectors(void)
{
    check_kind(EOL, "", "");
    check_kind(EOL, "abc", "abc");
    check_kind(EOL, "a\r\nb\nc\rd", "a\r\nb\r\nc\r\nd");
    check_kind(EOL, "\n\r\r\n\n\r", "\r\n\r\n\r\n\r\n\r\n");
    check_kind(EOL, "\r\r", "\r\n\r\n");
    LMT_CHECK(run_len("abcdefgh\r\nijklmnop\nq", 21, 0) == 18);
    LMT_CHECK(run_len("abcdefgh\rq", 10, 0) == 8);
    LMT_CHECK(run_len("abcdefghij\r", 11, 0) == 10);
    LMT_CHECK(run_len("abcdefghij\r\n", 12, 0) == 12);
    LMT_CHECK(run_len("\n", 1, 0) == 0);
    LMT_CHECK(run_len("", 0, 0) == 0);
    LMT_CHECK(run_len(".a\r\n.b", 6, 1) == 4);
    LMT_CHECK(run_len(".a\r\n.b", 6, 0) == 6);
}

/* RFC 5321 4.5.2, and the smuggling family: every bare line end becomes a
 * CRLF line, so a lone dot between bare line ends is stuffed, not sent as
 * an end of data. */
static void test_stuff_vectors(void)
{
    check_kind(STUFF, "", ".\r\n");
    check_kind(STUFF, "a", "a\r\n.\r\n");
    check_kind(STUFF, "a\r\n", "a\r\n.\r\n");
    check_kind(STUFF, "a\r", "a\r\n.\r\n");
    check_kind(STUFF, "a\n", "a\r\n.\r\n");
    check_kind(STUFF, "\r\n", "\r\n.\r\n");
    check_kind(STUFF, ".", "..\r\n.\r\n");
    check_kind(STUFF, ".\r\n", "..\r\n.\r\n");
    check_kind(STUFF, "..x\r\n.y", "...x\r\n..y\r\n.\r\n");
    check_kind(STUFF, "a.b\r\n x.", "a.b\r\n x.\r\n.\r\n");
    check_kind(STUFF, "a\r\n.\r\nMAIL FROM:<x>", "a\r\n..\r\nMAIL FROM:<x>\r\n.\r\n");
    check_kind(STUFF, "a\n.\nb", "a\r\n..\r\nb\r\n.\r\n");
    check_kind(STUFF, "a\r.\rb", "a\r\n..\r\nb\r\n.\r\n");
    check_kind(STUFF, "a\n.\r\nb", "a\r\n..\r\nb\r\n.\r\n");
    check_kind(STUFF, "a\r\n.\nb", "a\r\n..\r\nb\r\n.\r\n");
    check_kind(STUFF, "a\r\n.\rb", "a\r\n..\r\nb\r\n.\r\n");
    check_kind(STUFF, "a\r.\r\nb", "a\r\n..\r\nb\r\n.\r\n");
    check_kind(STUFF, "a\n.\rb", "a\r\n..\r\nb\r\n.\r\n");
    check_kind(STUFF, "a\r\r\n.\n\r\n", "a\r\n\r\n..\r\n\r\n.\r\n");
}

static void check_unstuff(const char *in, const char *want, long rest_at)
{
    size_t n = strlen(in), len, at;
    unsigned char *out = xmalloc(n + 1);
    at = unstuff_chunks((const unsigned char *)in, n, NULL, 0, out, &len);
    LMT_CHECK(len == strlen(want) && memcmp(out, want, len) == 0);
    LMT_CHECK(rest_at < 0 ? at == (size_t)-1 : at == (size_t)rest_at);
    if (len != strlen(want) || memcmp(out, want, len) != 0)
        fprintf(stderr, "  unstuff of \"%s\" gave \"%.*s\"\n", in, (int)len, (char *)out);
    free(out);
}

/* RFC 1939 3: a line "." ends the response; other lines lose a first dot. */
static void test_unstuff_vectors(void)
{
    check_unstuff(".\r\n", "", 3);
    check_unstuff(".\r\n+OK next\r\n", "", 3);
    check_unstuff("a\r\n..\r\n..b\r\n.c\r\n.\r\n-ERR", "a\r\n.\r\n.b\r\nc\r\n", 19);
    check_unstuff("\r\n\r\n.\r\n", "\r\n\r\n", 7);
    /* bare LF and CR never end a line: ".\n" is data */
    check_unstuff("a\n.\nb\r\n.\r\n", "a\n.\nb\r\n", 10);
    check_unstuff("a\r.\r\n.\r\n", "a\r.\r\n", 8);
    check_unstuff(".\n.\r.\r\r\n.\r\n", "\n.\r.\r\r\n", 11);
    check_unstuff(". \r\n.\r\n", " \r\n", 7);
    /* unterminated: the reader reports EPROTO at the end */
    check_unstuff("", "", -1);
    check_unstuff("abc\r\n", "abc\r\n", -1);
    check_unstuff("abc\r\n.", "abc\r\n", -1);
    check_unstuff("abc\r\n.\r", "abc\r\n", -1);
    check_unstuff("abc\r\n.\n", "abc\r\n\n", -1);
}

/* ---- randomised agreement with the references ---- */

static unsigned char *gen(unsigned long long *s, size_t n)
{
    static const char alpha[] = ".\r\n";
    unsigned char *p = xmalloc(n);
    size_t i;
    for (i = 0; i < n; i++) {
        unsigned long long r = lmt_rand(s);
        p[i] = (r >> 61) < 2 ? 'a' : (unsigned char)alpha[(r >> 20) % 3];
    }
    return p;
}

static size_t random_cuts(unsigned long long *s, size_t n, size_t *cuts, size_t max)
{
    size_t k = n ? (size_t)(lmt_rand(s) % (max + 1)) : 0, i, j;
    for (i = 0; i < k; i++)
        cuts[i] = (size_t)(lmt_rand(s) % (n + 1));
    for (i = 1; i < k; i++)
        for (j = i; j > 0 && cuts[j - 1] > cuts[j]; j--) {
            size_t t = cuts[j];
            cuts[j] = cuts[j - 1];
            cuts[j - 1] = t;
        }
    return k;
}

static void agree(const unsigned char *in, size_t n, const size_t *cuts, size_t ncuts)
{
    unsigned char *ref = xmalloc(2 * n + 5), *out = xmalloc(n + 1);
    size_t rlen = ref_eol(in, n, ref), len, at, rat;
    unsigned char *got = run_chunks(EOL, in, n, cuts, ncuts, &len);
    LMT_CHECK(len == rlen && memcmp(got, ref, len) == 0);
    free(got);
    rlen = ref_stuff(in, n, ref);
    got = run_chunks(STUFF, in, n, cuts, ncuts, &len);
    LMT_CHECK(len == rlen && memcmp(got, ref, len) == 0);
    LMT_CHECK(safe_for_smtp(got, len));
    free(got);
    rat = ref_unstuff(in, n, ref, &rlen);
    at = unstuff_chunks(in, n, cuts, ncuts, out, &len);
    LMT_CHECK(at == rat && len == rlen && memcmp(out, ref, len) == 0);
    free(out);
    free(ref);
}

static void test_random_splits(void)
{
    unsigned long long s = 42;
    size_t rounds = shrink ? 150 : 1500, r, i, k;
    for (r = 0; r < rounds; r++) {
        size_t n = (size_t)(lmt_rand(&s) % 40);
        unsigned char *in = gen(&s, n);
        size_t *cuts = xmalloc((n + 1) * sizeof *cuts);
        agree(in, n, NULL, 0);
        for (i = 0; i <= n; i++) {
            cuts[0] = i;
            agree(in, n, cuts, 1);
        }
        for (i = 0; i <= n; i++)
            cuts[i] = i;
        agree(in, n, cuts, n + 1);
        for (k = 0; k < 4; k++)
            agree(in, n, cuts, random_cuts(&s, n, cuts, n < 8 ? n : 8));
        free(cuts);
        free(in);
    }
}

/* Long inputs exercise the eight-bytes-at-a-time scan at every alignment. */
static void test_long_lines(void)
{
    unsigned long long s = 7;
    size_t n = shrink ? 20000 : 300000, i, k;
    unsigned char *in = xmalloc(n);
    size_t cuts[40];
    for (i = 0; i < n; i++) {
        unsigned long long r = lmt_rand(&s);
        in[i] = (r >> 58) == 0 ? "\r\n."[(r >> 20) % 3] : (unsigned char)(r >> 40);
    }
    agree(in, n, NULL, 0);
    for (k = 0; k < 3; k++)
        agree(in, n, cuts, random_cuts(&s, n, cuts, 40));
    /* Unix text: LF lines of 0-99 bytes, a few CRLF, CR and dot lines */
    for (i = 0; i < n; i++) {
        unsigned long long r = lmt_rand(&s);
        in[i] = (r >> 56) < 3 ? "\n\n\n\n\n\n\r."[(r >> 20) % 8]
                : (r >> 56) < 5 ? '\n' : (unsigned char)('a' + (r >> 40) % 26);
    }
    agree(in, n, NULL, 0);
    for (k = 0; k < 3; k++)
        agree(in, n, cuts, random_cuts(&s, n, cuts, 40));
    free(in);
}

/* lm_eol_run stops only before a byte the caller must handle. */
static int bad_at(const unsigned char *p, size_t k, size_t n, int dots)
{
    if (p[k] == '\r')
        return k + 1 >= n || p[k + 1] != '\n';
    if (p[k] == '\n')
        return k == 0 || p[k - 1] != '\r';
    return dots && p[k] == '.' && k > 0 && p[k - 1] == '\n';
}

/* The clean prefix as lm_eol.h defines it, byte by byte. */
static size_t ref_clean(const unsigned char *p, size_t n, int dots)
{
    size_t k;
    for (k = 0; k < n; k++) {
        if (p[k] == '\r' && (k + 1 >= n || p[k + 1] != '\n'))
            break;
        if (p[k] == '\n' && (k == 0 || p[k - 1] != '\r'))
            break;
        if (dots && p[k] == '.' && k > 0 && p[k - 1] == '\n')
            break;
    }
    return k;
}

/* lm_eol_run and each vector path this CPU can run, so that the SSE2 path
 * is checked too where lm_eol_run takes the AVX2 one. */
typedef size_t (*run_fn)(const void *, size_t, int, void *, size_t *);
static const struct {
    const char *name;
    run_fn run;
} runs[] = {
    {"auto", lm_eol_run},
#if LM_SCAN_SSE2
    {"sse2", lm_eol_run_sse2},
#endif
#if LM_SCAN_AVX2
    {"avx2", lm_eol_run_avx2},
#endif
};
#define NRUNS (sizeof runs / sizeof runs[0])

static int run_available(size_t r)
{
#if LM_SCAN_AVX2
    if (runs[r].run == lm_eol_run_avx2)
        return lm_scan_avx2();
#endif
    return r < NRUNS;
}

/* What a run must do with p[0..n): read at least the clean prefix, write
 * what normalisation makes of what it read, stop only before a byte the
 * caller must handle. out is exactly the 2n bytes the contract allows. */
static void check_run(size_t r, const unsigned char *p, size_t n, int dots)
{
    unsigned char *out = xmalloc(2 * n), *ref = xmalloc(2 * n);
    size_t made, got = runs[r].run(p, n, dots, out, &made);
    int ok = got >= ref_clean(p, n, dots) && got <= n &&
             made == ref_eol(p, got, ref) && memcmp(out, ref, made) == 0 &&
             (got == n || bad_at(p, got, n, dots));
    LMT_CHECK(ok);
    if (!ok)
        fprintf(stderr, "  %s run, n %zu, dots %d: read %zu\n", runs[r].name, n, dots, got);
    free(ref);
    free(out);
}

/* The word and vector scans agree with the byte rule for every position
 * and alignment of each kind of line end, with near misses (bytes one bit
 * away from CR, LF and '.') all around. */
static void test_clean_every_position(void)
{
    static const char *const ends[] = {"\r", "\n", "\r\n", "\n.", "\r\n.", "\r\r\n"};
    unsigned char buf[80];
    size_t start, pos, len, e, r;
    int dots;
    for (e = 0; e < 6; e++)
        for (start = 0; start < 8; start++)
            for (pos = start; pos + 3 < 80; pos++)
                for (len = pos + 1; len <= 80; len += 5)
                    for (dots = 0; dots < 2; dots++) {
                        size_t i, m = strlen(ends[e]);
                        for (i = 0; i < 80; i++)
                            buf[i] = "\x0c\x8a\x2f\x8d"[i % 4];
                        size_t got, want;
                        size_t m2 = len - start;
                        unsigned char *out = xmalloc(2 * m2);
                        memcpy(buf + pos, ends[e], m);
                        want = ref_clean(buf + start, m2, dots);
                        for (r = 0; r < NRUNS; r++)
                            if (run_available(r))
                                check_run(r, buf + start, m2, dots);
                        /* the portable path alone, as on CPUs without SSE2 */
                        got = lm_eol_clean_swar(buf + start, 0, m2, dots, out);
                        LMT_CHECK(got == want && memcmp(out, buf + start, want) == 0);
                        free(out);
                    }
}

/* Normalises p[0..n) into o (2n bytes) as lm_eol_step does, with run r. */
static size_t normalize_with(size_t r, const unsigned char *p, size_t n, unsigned char *o)
{
    size_t i = 0, w = 0;
    while (i < n) {
        size_t made, used = runs[r].run(p + i, n - i, 0, o + w, &made);
        w += made;
        i += used;
        if (i == n)
            break;
        o[w++] = '\r';
        o[w++] = '\n';
        if (p[i++] == '\r' && i < n && p[i] == '\n')
            i++;
    }
    return w;
}

/* Long text through every run: Unix lines of every length (several bare
 * LFs in one vector block, none for many blocks), CRLF lines, bare CRs,
 * dots after line ends, and line ends at block and buffer edges. */
static void test_runs_long_text(void)
{
    unsigned long long s = 99;
    size_t rounds = shrink ? 40 : 400, k, r;
    for (k = 0; k < rounds; k++) {
        size_t n = (size_t)(lmt_rand(&s) % 700), i;
        unsigned maxline = 1u + (unsigned)(lmt_rand(&s) % 90);
        unsigned char *p = xmalloc(n);
        for (i = 0; i < n; i++) {
            unsigned long long x = lmt_rand(&s);
            if (x % maxline == 0)
                p[i] = (x >> 40) % 16 == 0 ? '\r' : '\n';
            else if (x % maxline == 1 && (x >> 20) % 4 == 0 && i + 1 < n)
                p[i] = '\r', p[++i] = '\n';
            else
                p[i] = (x >> 32) % 50 == 0 ? '.' : (unsigned char)('a' + (x >> 36) % 26);
        }
        for (r = 0; r < NRUNS; r++)
            if (run_available(r)) {
                unsigned char *out = xmalloc(2 * n), *ref = xmalloc(2 * n);
                size_t w = normalize_with(r, p, n, out);
                LMT_CHECK(w == ref_eol(p, n, ref) && memcmp(out, ref, w) == 0);
                /* from every start in the first block, so each alignment
                 * meets the edges */
                for (i = 0; i < 40 && i <= n; i++) {
                    check_run(r, p + i, n - i, 0);
                    check_run(r, p + i, n - i, 1);
                }
                free(ref);
                free(out);
            }
        free(p);
    }
}

int main(void)
{
    shrink = getenv("LMAIL_VALGRIND") != NULL;
    LMT_RUN(test_eol_vectors);
    LMT_RUN(test_stuff_vectors);
    LMT_RUN(test_unstuff_vectors);
    LMT_RUN(test_random_splits);
    LMT_RUN(test_long_lines);
    LMT_RUN(test_clean_every_position);
    LMT_RUN(test_runs_long_text);
    return lmt_report("eol_dot");
}
