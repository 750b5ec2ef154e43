/* test_qp.c: the quoted-printable codec alone. The codecs are checked
 * against whole-buffer reference implementations of the rules documented in
 * lm_qp.h, written here differently (line by line, with full look-ahead),
 * at every split point of small inputs and at random splits of large ones,
 * and against fixed vectors written out by hand. Every step gets an
 * exact-size copy of its chunk and an output buffer of exactly the bound,
 * so ASan and valgrind see any access outside them. */
#include "../core/lm_qp.h"
#include "../core/lm_scan.h"
#include "lmt.h"

#include <stdlib.h>

static int shrink; /* LMAIL_VALGRIND: fewer and smaller inputs, same checks */

static void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p) {
        fprintf(stderr, "out of memory\n");
        exit(2);
    }
    return p;
}

/* ---- reference encoder: RFC 2045 6.7 as lm_qp.h states it ---- */

static int is_lit(unsigned c)
{
    return c >= 33 && c <= 126 && c != '=';
}

/* Encodes one line's data (no line break inside in text mode); the last
 * byte of the line ends its encoded line. */
static size_t ref_enc_line(const unsigned char *in, size_t n, char *out)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t i, o = 0, col = 0;
    for (i = 0; i < n; i++) {
        unsigned c = in[i];
        int last = i + 1 == n;
        int lit = is_lit(c) || ((c == ' ' || c == '\t') && !last);
        size_t len = lit ? 1 : 3, limit = last ? 76 : 75;
        if (col + len > limit) {
            memcpy(out + o, "=\r\n", 3);
            o += 3;
            col = 0;
        }
        if (lit) {
            out[o++] = (char)c;
        } else {
            out[o++] = '=';
            out[o++] = hex[c >> 4];
            out[o++] = hex[c & 15];
        }
        col += len;
    }
    return o;
}

static size_t ref_encode(const unsigned char *in, size_t n, int binary, char *out)
{
    size_t start = 0, i, o = 0;
    if (binary)
        return ref_enc_line(in, n, out);
    for (i = 0; i < n; i++) {
        size_t brk = 0;
        if (in[i] == '\n')
            brk = 1;
        else if (in[i] == '\r' && i + 1 < n && in[i + 1] == '\n')
            brk = 2;
        if (!brk)
            continue;
        o += ref_enc_line(in + start, i - start, out + o);
        memcpy(out + o, "\r\n", 2);
        o += 2;
        i += brk - 1;
        start = i + 1;
    }
    return o + ref_enc_line(in + start, n - start, out + o);
}

/* ---- reference decoder ---- */

static int hexv(unsigned c)
{
    if (c >= '0' && c <= '9')
        return (int)c - '0';
    if (c >= 'A' && c <= 'F')
        return (int)c - 'A' + 10;
    if (c >= 'a' && c <= 'f')
        return (int)c - 'a' + 10;
    return -1;
}

/* One line's content (without its CRLF / LF); returns the bytes written
 * and sets *soft when the line ends in a soft break. */
static size_t ref_dec_line(const unsigned char *in, size_t n, unsigned char *out,
                           int *soft)
{
    size_t end = n, j = 0, o = 0;
    while (end > 0 && (in[end - 1] == ' ' || in[end - 1] == '\t'))
        end--;
    if (n - end > LM_QP_WS_MAX)
        end = n; /* an overlong run is data */
    *soft = 0;
    while (j < end) {
        if (in[j] != '=') {
            out[o++] = in[j++];
        } else if (j + 2 < end && hexv(in[j + 1]) >= 0 && hexv(in[j + 2]) >= 0) {
            out[o++] = (unsigned char)(hexv(in[j + 1]) << 4 | hexv(in[j + 2]));
            j += 3;
        } else if (j + 1 == end) {
            *soft = 1;
            j++;
        } else {
            out[o++] = in[j++];
        }
    }
    return o;
}

static size_t ref_decode(const unsigned char *in, size_t n, unsigned char *out)
{
    size_t start = 0, i, o = 0;
    int soft;
    for (i = 0; i < n; i++) {
        size_t len;
        if (in[i] != '\n')
            continue;
        len = i - start;
        if (len && in[i - 1] == '\r')
            len--;
        o += ref_dec_line(in + start, len, out + o, &soft);
        if (!soft) {
            if (len != i - start)
                out[o++] = '\r';
            out[o++] = '\n';
        }
        start = i + 1;
    }
    return o + ref_dec_line(in + start, n - start, out + o, &soft);
}

/* ---- the codecs fed in chunks ---- */

/* Encodes in split at the sorted positions cuts[0..ncuts). */
static char *enc_chunks(int flags, const unsigned char *in, size_t n,
                        const size_t *cuts, size_t ncuts, size_t *outlen)
{
    lm_qp_enc e;
    char *out = xmalloc(LM_QP_ENCODE_BOUND(n));
    size_t o = 0, prev = 0, i, w;
    LMT_CHECK(lm_qp_enc_init(&e, flags) == LM_OK);
    for (i = 0; i <= ncuts; i++) {
        size_t end = i < ncuts ? cuts[i] : n, len = end - prev;
        unsigned char *chunk = xmalloc(len);
        char *tmp = xmalloc(LM_QP_ENCODE_BOUND(len));
        memcpy(chunk, in + prev, len);
        LMT_CHECK(lm_qp_enc_step(&e, chunk, len, tmp, &w) == LM_OK);
        LMT_CHECK(w <= LM_QP_ENCODE_BOUND(len));
        memcpy(out + o, tmp, w);
        o += w;
        free(chunk);
        free(tmp);
        prev = end;
    }
    {
        char *tmp = xmalloc(LM_QP_ENCODE_BOUND(0));
        LMT_CHECK(lm_qp_enc_finish(&e, tmp, &w) == LM_OK);
        memcpy(out + o, tmp, w);
        o += w;
        free(tmp);
    }
    LMT_CHECK(o <= LM_QP_ENCODE_BOUND(n));
    *outlen = o;
    return out;
}

static unsigned char *dec_chunks(const unsigned char *in, size_t n,
                                 const size_t *cuts, size_t ncuts, size_t *outlen)
{
    lm_qp_dec d;
    unsigned char *out = xmalloc(n);
    size_t o = 0, prev = 0, i, w;
    LMT_CHECK(lm_qp_dec_init(&d, 0) == LM_OK);
    for (i = 0; i <= ncuts; i++) {
        size_t end = i < ncuts ? cuts[i] : n, len = end - prev;
        unsigned char *chunk = xmalloc(len);
        unsigned char *tmp = xmalloc(LM_QP_DECODE_BOUND(len));
        memcpy(chunk, in + prev, len);
        LMT_CHECK(lm_qp_dec_step(&d, chunk, len, tmp, &w) == LM_OK);
        LMT_CHECK(w <= LM_QP_DECODE_BOUND(len) && o + w <= n);
        if (o + w <= n)
            memcpy(out + o, tmp, w);
        o += w;
        free(chunk);
        free(tmp);
        prev = end;
    }
    {
        unsigned char *tmp = xmalloc(LM_QP_DECODE_BOUND(0));
        LMT_CHECK(lm_qp_dec_finish(&d, tmp, &w) == LM_OK);
        LMT_CHECK(o + w <= n);
        if (o + w <= n)
            memcpy(out + o, tmp, w);
        o += w;
        free(tmp);
    }
    *outlen = o;
    return out;
}

/* Checks the encoder's output format: lines of at most 76 characters, a
 * soft break only as "=" CRLF, nothing but printable ASCII, SPACE and TAB,
 * escapes with two upper-case hex digits, no white space at a line end. */
static int is_uhex(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'F');
}

static int well_formed(const char *s, size_t n)
{
    size_t i, col = 0;
    for (i = 0; i < n; i++) {
        unsigned c = (unsigned char)s[i];
        int end = i + 1 == n || s[i + 1] == '\r';
        if (c == '\r') {
            if (i + 1 >= n || s[i + 1] != '\n')
                return 0;
            i++;
            col = 0;
            continue;
        }
        if (++col > 76)
            return 0;
        if (c == ' ' || c == '\t') {
            if (end)
                return 0;
        } else if (c == '=') {
            int soft = i + 2 < n && s[i + 1] == '\r' && s[i + 2] == '\n';
            if (!soft && !(i + 2 < n && is_uhex(s[i + 1]) && is_uhex(s[i + 2])))
                return 0;
        } else if (!is_lit(c)) {
            return 0;
        }
    }
    return 1;
}

/* ---- fixed vectors ---- */

static void check_enc(int flags, const char *in, const char *want)
{
    size_t len, n = strlen(in);
    char *out = enc_chunks(flags, (const unsigned char *)in, n, NULL, 0, &len);
    LMT_CHECK(len == strlen(want) && memcmp(out, want, len) == 0);
    if (len != strlen(want) || memcmp(out, want, len) != 0)
        fprintf(stderr, "  encode of \"%s\" gave \"%.*s\"\n", in, (int)len, out);
    free(out);
}

static void check_dec(const char *in, const char *want)
{
    size_t len, n = strlen(in);
    unsigned char *out = dec_chunks((const unsigned char *)in, n, NULL, 0, &len);
    LMT_CHECK(len == strlen(want) && memcmp(out, want, len) == 0);
    if (len != strlen(want) || memcmp(out, want, len) != 0)
        fprintf(stderr, "  decode of \"%s\" gave \"%.*s\"\n", in, (int)len, (char *)out);
    free(out);
}

static char *repeat(char c, size_t n)
{
    char *s = xmalloc(n + 1);
    memset(s, c, n);
    s[n] = 0;
    return s;
}

static void test_encode_vectors(void)
{
    check_enc(0, "", "");
    check_enc(0, "abc", "abc");
    check_enc(0, "a=b", "a=3Db");
    check_enc(0, "caf\xc3\xa9\r\n", "caf=C3=A9\r\n");
    check_enc(0, "a b\tc", "a b\tc");
    /* rule 3: white space ending a line, and the data, is escaped */
    check_enc(0, "a \r\nb\t\r\nc ", "a=20\r\nb=09\r\nc=20");
    check_enc(0, "a  \nb", "a =20\r\nb");
    /* text mode: LF is a hard break too, written as CRLF; a bare CR is data */
    check_enc(0, "a\nb\r\nc\rd\r", "a\r\nb\r\nc=0Dd=0D");
    check_enc(0, "\r\r\n\n", "=0D\r\n\r\n");
    check_enc(0, "x \r", "x =0D");
    check_enc(0, "\x01\x7f\x80\xff", "=01=7F=80=FF");
    /* binary mode: CR and LF are data */
    check_enc(LM_QP_BINARY, "a\r\nb\n", "a=0D=0Ab=0A");
    check_enc(LM_QP_BINARY, "a \r", "a =0D");
    check_enc(LM_QP_BINARY, " ", "=20");
}

/* The column 74-76 cases of rule 5: an escape is never split by a soft
 * break, a line may use column 76 only when no soft break follows. */
static void test_encode_line_length(void)
{
    char *a73 = repeat('a', 73), *a74 = repeat('a', 74), *a75 = repeat('a', 75);
    char *a76 = repeat('a', 76), *a77 = repeat('a', 77);
    char in[200], want[200];

    /* exactly 76 characters, then a hard break or the end: unchanged */
    snprintf(in, sizeof in, "%s\r\n%s", a76, a76);
    check_enc(0, in, in);
    /* 77: 75 + soft break + 2 */
    snprintf(want, sizeof want, "%s=\r\naa", a75);
    check_enc(0, a77, want);
    snprintf(in, sizeof in, "%s\r\n", a77);
    snprintf(want, sizeof want, "%s=\r\naa\r\n", a75);
    check_enc(0, in, want);
    /* an escape ending at column 76 at the end of the line fits */
    snprintf(in, sizeof in, "%s\xff", a73);
    snprintf(want, sizeof want, "%s=FF", a73);
    check_enc(0, in, want);
    snprintf(in, sizeof in, "%s\xff\r\nx", a73);
    snprintf(want, sizeof want, "%s=FF\r\nx", a73);
    check_enc(0, in, want);
    /* ... but not when more follows on the line: it moves to the next */
    snprintf(in, sizeof in, "%s\xff" "b", a73);
    snprintf(want, sizeof want, "%s=\r\n=FFb", a73);
    check_enc(0, in, want);
    /* an escape at columns 73-75 followed by more fits before the "=" */
    snprintf(in, sizeof in, "%s\xff" "bc", a73 + 1);
    snprintf(want, sizeof want, "%s=FF=\r\nbc", a73 + 1);
    snprintf(in, sizeof in, "%s\xff" "b", a73 + 1);
    snprintf(want, sizeof want, "%s=FFb", a73 + 1); /* b ends the data at 76 */
    check_enc(0, in, want);
    check_enc(0, in, want);
    /* one column later, even the last escape of the line must move */
    snprintf(in, sizeof in, "%s\xff", a74);
    snprintf(want, sizeof want, "%s=\r\n=FF", a74);
    check_enc(0, in, want);
    /* trailing white space at column 76 becomes =20 and must move */
    snprintf(in, sizeof in, "%s \r\n", a75);
    snprintf(want, sizeof want, "%s=\r\n=20\r\n", a75);
    check_enc(0, in, want);
    snprintf(in, sizeof in, "%s \r\n", a73);
    snprintf(want, sizeof want, "%s=20\r\n", a73);
    check_enc(0, in, want);
    /* a space before a soft break stays literal: "=" follows it */
    snprintf(in, sizeof in, "%s bc", a74);
    snprintf(want, sizeof want, "%s =\r\nbc", a74);
    check_enc(0, in, want);
    free(a73);
    free(a74);
    free(a75);
    free(a76);
    free(a77);
}

static void test_decode_vectors(void)
{
    check_dec("", "");
    check_dec("abc=3D=3d", "abc==");
    check_dec("caf=C3=A9\r\n", "caf\xc3\xa9\r\n");
    /* soft breaks, with trailing white space after the "=", bare LF too */
    check_dec("ab=\r\ncd", "abcd");
    check_dec("ab= \t \r\ncd", "abcd");
    check_dec("ab=\ncd=  \nef", "abcdef");
    check_dec("ab=", "ab");
    check_dec("ab=  ", "ab");
    /* trailing white space of lines is deleted (rule 3) */
    check_dec("a  \r\nb\t \nc  ", "a\r\nb\nc");
    check_dec("a b\tc", "a b\tc");
    check_dec("a  =20 \r\n", "a   \r\n");
    /* malformed sequences stay verbatim */
    check_dec("=4G=G4=x==41", "=4G=G4=x=A");
    check_dec("a= b", "a= b");
    check_dec("a=\rb", "a=\rb");
    check_dec("a= \r", "a= \r");
    check_dec("=4", "=4");
    check_dec("=4\r\n", "=4\r\n");
    check_dec("a \rb \r", "a \rb \r");
    check_dec("a\r\r\n", "a\r\r\n");
}

/* A white-space run longer than LM_QP_WS_MAX is data, not trailing space. */
static void test_decode_long_ws(void)
{
    static const size_t lens[] = {LM_QP_WS_MAX - 1, LM_QP_WS_MAX, LM_QP_WS_MAX + 1,
                                  LM_QP_WS_MAX + 7};
    size_t k, len, rlen, n;
    for (k = 0; k < 4; k++) {
        for (n = 0; n < 4; n++) {
            static const char *const pre[] = {"x", "x=", "x=", "x"};
            static const char *const post[] = {"\r\ny", "\r\ny", "", ""};
            size_t lp = strlen(pre[n]), lq = strlen(post[n]), m = lp + lens[k] + lq;
            unsigned char *in = xmalloc(m), *ref = xmalloc(m), *out;
            size_t i, cuts[1];
            memcpy(in, pre[n], lp);
            for (i = 0; i < lens[k]; i++)
                in[lp + i] = i % 3 ? ' ' : '\t';
            memcpy(in + lp + lens[k], post[n], lq);
            rlen = ref_decode(in, m, ref);
            /* kept whole exactly when longer than the maximum */
            LMT_CHECK((rlen > m - 3) == (lens[k] > LM_QP_WS_MAX));
            for (i = 0; i <= m; i += 97) {
                cuts[0] = i;
                out = dec_chunks(in, m, cuts, 1, &len);
                LMT_CHECK(len == rlen && memcmp(out, ref, len) == 0);
                free(out);
            }
            free(in);
            free(ref);
        }
    }
}

/* ---- randomised agreement with the references ---- */

static unsigned char *gen(unsigned long long *s, size_t n, const char *alpha,
                          size_t nalpha)
{
    unsigned char *p = xmalloc(n);
    size_t i;
    for (i = 0; i < n; i++) {
        unsigned long long r = lmt_rand(s);
        /* mostly one letter so lines reach the 76-column limit */
        p[i] = (r >> 60) < 9 ? 'a' : (unsigned char)alpha[(r >> 20) % nalpha];
    }
    return p;
}

static void agree_enc(int flags, const unsigned char *in, size_t n,
                      const size_t *cuts, size_t ncuts, const char *ref, size_t rlen)
{
    size_t len;
    char *out = enc_chunks(flags, in, n, cuts, ncuts, &len);
    LMT_CHECK(len == rlen && memcmp(out, ref, len) == 0);
    free(out);
}

static void agree_dec(const unsigned char *in, size_t n, const size_t *cuts,
                      size_t ncuts, const unsigned char *ref, size_t rlen)
{
    size_t len;
    unsigned char *out = dec_chunks(in, n, cuts, ncuts, &len);
    LMT_CHECK(len == rlen && memcmp(out, ref, len) == 0);
    free(out);
}

/* Random cut positions, sorted, into cuts[0..k). */
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

/* Every split point (one cut), byte by byte, and random multi-cuts. */
static void every_split_enc(int flags, const unsigned char *in, size_t n)
{
    char *ref = xmalloc(LM_QP_ENCODE_BOUND(n));
    size_t rlen = ref_encode(in, n, flags & LM_QP_BINARY, ref), i;
    size_t *cuts = xmalloc((n + 1) * sizeof *cuts);
    unsigned long long s = n * 31 + 7;
    LMT_CHECK(well_formed(ref, rlen));
    for (i = 0; i <= n; i++) {
        cuts[0] = i;
        agree_enc(flags, in, n, cuts, 1, ref, rlen);
    }
    for (i = 0; i <= n; i++)
        cuts[i] = i;
    agree_enc(flags, in, n, cuts, n + 1, ref, rlen); /* byte by byte */
    for (i = 0; i < 4; i++)
        agree_enc(flags, in, n, cuts, random_cuts(&s, n, cuts, n < 8 ? n : 8), ref, rlen);
    /* and back: binary mode restores every byte */
    if (flags & LM_QP_BINARY) {
        unsigned char *back = xmalloc(rlen);
        size_t blen = ref_decode((const unsigned char *)ref, rlen, back);
        LMT_CHECK(blen == n && memcmp(back, in, n) == 0);
        free(back);
    }
    free(cuts);
    free(ref);
}

static void every_split_dec(const unsigned char *in, size_t n)
{
    unsigned char *ref = xmalloc(n);
    size_t rlen = ref_decode(in, n, ref), i;
    size_t *cuts = xmalloc((n + 1) * sizeof *cuts);
    unsigned long long s = n * 17 + 3;
    for (i = 0; i <= n; i++) {
        cuts[0] = i;
        agree_dec(in, n, cuts, 1, ref, rlen);
    }
    for (i = 0; i <= n; i++)
        cuts[i] = i;
    agree_dec(in, n, cuts, n + 1, ref, rlen);
    for (i = 0; i < 4; i++)
        agree_dec(in, n, cuts, random_cuts(&s, n, cuts, n < 8 ? n : 8), ref, rlen);
    free(cuts);
    free(ref);
}

static void test_encode_random_splits(void)
{
    static const char alpha[] = " \t\r\n=.\xff\x01~!";
    unsigned long long s = 99;
    size_t rounds = shrink ? 60 : 400, r;
    for (r = 0; r < rounds; r++) {
        size_t n = (size_t)(lmt_rand(&s) % 260);
        unsigned char *in = gen(&s, n, alpha, sizeof alpha - 1);
        every_split_enc(0, in, n);
        every_split_enc(LM_QP_BINARY, in, n);
        free(in);
    }
}

static void test_decode_random_splits(void)
{
    static const char alpha[] = " \t\r\n====3DdfFgG\xff";
    unsigned long long s = 1234;
    size_t rounds = shrink ? 100 : 800, r;
    for (r = 0; r < rounds; r++) {
        size_t n = (size_t)(lmt_rand(&s) % 120);
        unsigned char *in = gen(&s, n, alpha, sizeof alpha - 1);
        every_split_dec(in, n);
        free(in);
    }
}

/* Text mode round trip: every byte comes back, except that a bare LF
 * comes back as CRLF. */
static void test_text_round_trip(void)
{
    unsigned long long s = 5;
    size_t n = shrink ? 50000 : 1000003, i, elen, dlen, w = 0, k;
    unsigned char *in = xmalloc(n), *want = xmalloc(2 * n), *dec;
    char *enc;
    size_t cuts[64];
    for (i = 0; i < n; i++) {
        unsigned long long r = lmt_rand(&s);
        in[i] = (unsigned char)((r >> 56) < 200 ? 32 + (r >> 40) % 95 : r >> 48);
    }
    for (i = 0; i < n; i++) {
        if (in[i] == '\n' && !(i && in[i - 1] == '\r'))
            want[w++] = '\r';
        want[w++] = in[i];
    }
    enc = enc_chunks(0, in, n, NULL, 0, &elen);
    LMT_CHECK(well_formed(enc, elen));
    dec = dec_chunks((const unsigned char *)enc, elen, NULL, 0, &dlen);
    LMT_CHECK(dlen == w && memcmp(dec, want, w) == 0);
    free(dec);
    for (k = 0; k < 3; k++) {
        char *e2;
        size_t nc = random_cuts(&s, n, cuts, 64), l2;
        e2 = enc_chunks(0, in, n, cuts, nc, &l2);
        LMT_CHECK(l2 == elen && memcmp(e2, enc, elen) == 0);
        free(e2);
        nc = random_cuts(&s, elen, cuts, 64);
        dec = dec_chunks((const unsigned char *)enc, elen, cuts, nc, &dlen);
        LMT_CHECK(dlen == w && memcmp(dec, want, w) == 0);
        free(dec);
    }
    free(enc);
    free(in);
    free(want);
}

static void test_one_shot_and_flags(void)
{
    lm_qp_enc e;
    lm_qp_dec d;
    char out[LM_QP_ENCODE_BOUND(6)];
    unsigned char dout[16];
    size_t len;
    LMT_CHECK(lm_qp_enc_init(&e, 2) == LM_EINVAL);
    LMT_CHECK(lm_qp_dec_init(&d, 1) == LM_EINVAL);
    LMT_CHECK(lm_qp_encode("a b \n", 5, 0, out, &len) == LM_OK);
    LMT_CHECK(len == 8 && memcmp(out, "a b=20\r\n", 8) == 0);
    LMT_CHECK(lm_qp_encode("a", 1, 4, out, &len) == LM_EINVAL);
    LMT_CHECK(lm_qp_decode("a=41 \r\n", 7, dout, &len) == LM_OK);
    LMT_CHECK(len == 4 && memcmp(dout, "aA\r\n", 4) == 0);
    /* finish resets: the encoder can start a new stream */
    LMT_CHECK(lm_qp_enc_init(&e, 0) == LM_OK);
    lm_qp_enc_step(&e, "x\r", 2, out, &len);
    lm_qp_enc_finish(&e, out + len, &len);
    lm_qp_enc_step(&e, "\nb", 2, out, &len);
    lm_qp_enc_finish(&e, out + len, &len);
    LMT_CHECK(e.col == 0 && e.pend < 0 && !e.cr);
}

/* The scanners' runs, byte by byte, as lm_qp.c documents them. */
static size_t ref_simple(const unsigned char *p, size_t n)
{
    size_t i = 0;
    while (i < n && p[i] >= 0x20 && p[i] < 0x7f && p[i] != '=')
        i++;
    return i;
}

static size_t ref_clean(const unsigned char *p, size_t n)
{
    size_t i = 0;
    for (; i < n; i++)
        if (p[i] == '=' || ((p[i] == ' ' || p[i] == '\t') &&
                            (i + 1 == n || p[i + 1] == '\r' || p[i + 1] == '\n')))
            break;
    while (i > 0 && (p[i - 1] == ' ' || p[i - 1] == '\t'))
        i--;
    return i;
}

/* The portable word loops (used alone on CPUs without SSE2) agree with the
 * byte rules for every position of a special byte and every length. */
static void test_portable_scanners(void)
{
    static const unsigned char specials[] = {'=', ' ', '\t', '\r', '\n', 0x7f, 0x80, 0x1f,
                                             0xff, 0x3c, 0x3e, 0x21};
    unsigned char buf[48], out[48];
    size_t sp, pos, len, pos2;
    for (sp = 0; sp < sizeof specials; sp++)
        for (pos = 0; pos < 40; pos++)
            for (pos2 = pos; pos2 < 48; pos2 += 7)
                for (len = pos; len <= 48; len += 3) {
                    size_t i, want;
                    for (i = 0; i < 48; i++)
                        buf[i] = (unsigned char)("a~!<>Zz0"[i % 8]);
                    buf[pos] = specials[sp];
                    buf[pos2] = specials[(sp + pos2) % sizeof specials];
                    LMT_CHECK(lm_qp_simple_swar(buf, 0, len) == ref_simple(buf, len));
                    want = ref_clean(buf, len);
                    LMT_CHECK(lm_qp_clean_swar(buf, 0, len, out) == want);
                    LMT_CHECK(memcmp(out, buf, want) == 0);
                }
}

/* The decoder's vector runs this CPU can run (the SSE2 one is checked
 * here even where the decoder takes the AVX2 one). */
typedef size_t (*dec_run_fn)(const unsigned char *, size_t, unsigned char *, size_t *);
static const struct {
    const char *name;
    dec_run_fn run;
} dec_runs[] = {
#if LM_SCAN_SSE2
    {"sse2", lm_qp_dec_run_sse2},
#endif
#if LM_SCAN_AVX2
    {"avx2", lm_qp_dec_run_avx2},
#endif
#if LM_SCAN_AVX512
    {"avx512", lm_qp_dec_run_avx512},
#endif
    {NULL, NULL},
};

/* A run reads at least the clean prefix, writes the decoding of what it
 * read (which never ends inside an escape or after white space) and stops
 * only at '=' or white space. out is exactly n bytes. */
static void check_dec_run(size_t r, const unsigned char *p, size_t n)
{
    unsigned char *out = xmalloc(n), *ref = xmalloc(n);
    size_t made, used = dec_runs[r].run(p, n, out, &made);
    int ok = used <= n && used >= ref_clean(p, n) &&
             (used == n || p[used] == '=' || p[used] == ' ' || p[used] == '\t') &&
             made == ref_decode(p, used, ref) && memcmp(out, ref, made) == 0;
    LMT_CHECK(ok);
    if (!ok)
        fprintf(stderr, "  %s run, n %zu: read %zu\n", dec_runs[r].name, n, used);
    free(ref);
    free(out);
}

static void test_decoder_runs(void)
{
    static const char *const bits[] = {"=3D", "=c3=A9", "=\r\n", "=\n", "= \r\n", "=4", "=G1",
                                       "==", " ", "\t", " \r\n", "\t\n", "\r\n", "\n",
                                       "\r", "=", "3", "D"};
    unsigned long long s = 77;
    size_t rounds = shrink ? 60 : 600, k, r;
    for (k = 0; k < rounds; k++) {
        size_t cap = (size_t)(lmt_rand(&s) % 400), n = 0, i;
        unsigned every = 2u + (unsigned)(lmt_rand(&s) % 60);
        unsigned char *p = xmalloc(cap + 8);
        while (n < cap) {
            unsigned long long x = lmt_rand(&s);
            if (x % every == 0) {
                const char *b = bits[(x >> 20) % (sizeof bits / sizeof bits[0])];
                size_t m = strlen(b);
                memcpy(p + n, b, m);
                n += m;
            } else {
                p[n++] = (unsigned char)('a' + (x >> 30) % 26);
            }
        }
        for (r = 0; dec_runs[r].run; r++) {
#if LM_SCAN_AVX2
            if (dec_runs[r].run == lm_qp_dec_run_avx2 && !lm_scan_avx2())
                continue;
            if (dec_runs[r].run == lm_qp_dec_run_avx512 && !lm_scan_avx512())
                continue;
#endif
            for (i = 0; i < 40 && i <= n; i++)
                check_dec_run(r, p + i, n - i);
        }
        free(p);
    }
}

int main(void)
{
    shrink = getenv("LMAIL_VALGRIND") != NULL;
    LMT_RUN(test_encode_vectors);
    LMT_RUN(test_encode_line_length);
    LMT_RUN(test_decode_vectors);
    LMT_RUN(test_decode_long_ws);
    LMT_RUN(test_encode_random_splits);
    LMT_RUN(test_decode_random_splits);
    LMT_RUN(test_text_round_trip);
    LMT_RUN(test_one_shot_and_flags);
    LMT_RUN(test_portable_scanners);
    LMT_RUN(test_decoder_runs);
    return lmt_report("qp");
}
