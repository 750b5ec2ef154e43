/* test_line_sasl.c: the capped buffer, the line framer and the SASL
 * messages alone. The framer is checked against a reference split of the
 * whole input at every split point of small inputs and at random splits;
 * every allocation is failed in turn; SASL against the RFC examples
 * (RFC 4616 4, RFC 2195 2, RFC 7628 4.1). */
#include "../core/lm_buf.h"
#include "../core/lm_line.h"
#include "../core/lm_sasl.h"
#include "lmt.h"
#include "lmt_alloc.h"

#include <stdlib.h>

static void test_buf(void)
{
    lm_alloc a = lmt_alloc();
    lm_buf b;
    int i, rc = 0;
    unsigned char *w;

    lm_buf_init(&b, &a, 1000);
    LMT_CHECK(lm_buf_size(&b) == 0);
    LMT_CHECK(lm_buf_append(&b, "hello", 5) == LM_OK);
    LMT_CHECK(lm_buf_size(&b) == 5 && memcmp(lm_buf_data(&b), "hello", 5) == 0);
    lm_buf_consume(&b, 2);
    LMT_CHECK(lm_buf_size(&b) == 3 && memcmp(lm_buf_data(&b), "llo", 3) == 0);
    for (i = 0; i < 99; i++)
        LMT_CHECK(lm_buf_append(&b, "0123456789", 10) == LM_OK);
    LMT_CHECK(lm_buf_size(&b) == 993);
    LMT_CHECK(lm_buf_append(&b, "01234567", 8) == LM_ETOOLONG);
    LMT_CHECK(lm_buf_size(&b) == 993);
    lm_buf_consume(&b, 500);
    LMT_CHECK(lm_buf_append(&b, "01234567", 8) == LM_OK);
    LMT_CHECK(lm_buf_size(&b) == 501);
    LMT_CHECK(memcmp(lm_buf_data(&b) + 493, "01234567", 8) == 0);
    w = lm_buf_reserve(&b, 600, &rc);
    LMT_CHECK(w == NULL && rc == LM_ETOOLONG);
    w = lm_buf_reserve(&b, 4, &rc);
    LMT_CHECK(w != NULL);
    memcpy(w, "abcd", 4);
    lm_buf_commit(&b, 4);
    LMT_CHECK(memcmp(lm_buf_data(&b) + 501, "abcd", 4) == 0);
    lm_buf_wipe(&b);
    LMT_CHECK(lm_buf_size(&b) == 0);
    LMT_CHECK(b.p[0] == 0 && b.p[b.cap - 1] == 0);
    lm_buf_free(&b);
    LMT_CHECK(lmt_live == 0);
    /* A size near SIZE_MAX is refused, not wrapped. */
    lm_buf_init(&b, &a, SIZE_MAX);
    LMT_CHECK(lm_buf_append(&b, "x", 1) == LM_OK);
    LMT_CHECK(lm_buf_reserve(&b, SIZE_MAX, &rc) == NULL && rc == LM_ETOOLONG);
    lm_buf_free(&b);
}

static void test_buf_failing_alloc(void)
{
    int n;
    for (n = 1; n <= 12; n++) {
        lm_alloc a = lmt_alloc();
        lm_buf b;
        int i, failed = 0;
        lmt_alloc_count = 0;
        lmt_fail_at = n;
        lm_buf_init(&b, &a, 1 << 20);
        for (i = 0; i < 200; i++) {
            int rc = lm_buf_append(&b, "0123456789abcdef", 16);
            if (rc == LM_ENOMEM) {
                failed = 1;
                /* The buffer is intact after a failed append. */
                LMT_CHECK(lm_buf_size(&b) == (size_t)i * 16);
            } else {
                LMT_CHECK(rc == LM_OK);
            }
        }
        (void)failed;
        lm_buf_free(&b);
        LMT_CHECK(lmt_live == 0);
    }
    lmt_fail_at = 0;
}

/* The lines of a whole input, each as "text|bare_lf" joined by '\n', plus
 * the unterminated rest. */
static size_t ref_lines(const char *in, size_t n, char *out, size_t *rest)
{
    size_t i = 0, o = 0, start = 0;
    for (i = 0; i < n; i++) {
        if (in[i] == '\n') {
            size_t end = i;
            int bare = !(end > start && in[end - 1] == '\r');
            if (!bare)
                end--;
            memcpy(out + o, in + start, end - start);
            o += end - start;
            out[o++] = '|';
            out[o++] = (char)('0' + bare);
            out[o++] = '\n';
            start = i + 1;
        }
    }
    *rest = n - start;
    return o;
}

/* Feeds in split at the given cut points (sorted, within n) and collects
 * the lines the way ref_lines prints them. */
static size_t framed_lines(const char *in, size_t n, const size_t *cuts, size_t ncuts,
                           char *out, size_t *rest)
{
    lm_alloc a = lm_alloc_libc();
    lm_line f;
    size_t o = 0, pos = 0, k;
    const unsigned char *raw;

    lm_line_init(&f, &a, 4096, 8192);
    for (k = 0; k <= ncuts; k++) {
        size_t end = k < ncuts ? cuts[k] : n;
        const char *line;
        size_t len;
        int bare, rc;
        /* Each chunk is a separate exact-size allocation: out-of-bounds
         * reads show under ASan. */
        char *chunk = malloc(end - pos ? end - pos : 1);
        memcpy(chunk, in + pos, end - pos);
        LMT_CHECK(lm_line_feed(&f, chunk, end - pos) == LM_OK);
        free(chunk);
        pos = end;
        while ((rc = lm_line_next(&f, &line, &len, &bare)) == LM_OK) {
            memcpy(out + o, line, len);
            o += len;
            out[o++] = '|';
            out[o++] = (char)('0' + bare);
            out[o++] = '\n';
        }
        LMT_CHECK(rc == LM_EAGAIN);
    }
    lm_line_raw(&f, &raw, rest);
    lm_line_free(&f);
    return o;
}

static void test_line_splits(void)
{
    static const char *inputs[] = {
        "220 mail.example.test ESMTP\r\n",
        "250-a\r\n250-b\r\n250 c\r\n",
        "bare\nlf\r\nmixed\r\r\n\n\r\nend",
        "\r\n\r\n\n",
        "no line break at all",
        "x\r",
    };
    size_t t;
    unsigned long long seed = 42;
    for (t = 0; t < sizeof inputs / sizeof *inputs; t++) {
        const char *in = inputs[t];
        size_t n = strlen(in), i, j, want_rest, got_rest;
        char want[512], got[512];
        size_t wn = ref_lines(in, n, want, &want_rest);
        /* Every pair of split points. */
        for (i = 0; i <= n; i++) {
            for (j = i; j <= n; j++) {
                size_t cuts[2] = {i, j};
                size_t gn = framed_lines(in, n, cuts, 2, got, &got_rest);
                LMT_CHECK(gn == wn && memcmp(got, want, wn) == 0);
                LMT_CHECK(got_rest == want_rest);
            }
        }
    }
    /* Random splits of a long random input of CR, LF and letters. */
    for (t = 0; t < 200; t++) {
        static char in[6000], want[20000], got[20000];
        size_t n = 1 + lmt_rand(&seed) % sizeof in, i, ncuts = 0, cuts[64];
        size_t wn, gn, wr, gr;
        for (i = 0; i < n; i++) {
            unsigned r = (unsigned)(lmt_rand(&seed) % 8);
            in[i] = r == 0 ? '\r' : r == 1 ? '\n' : (char)('a' + r);
        }
        while (ncuts < 64 && lmt_rand(&seed) % 4) {
            cuts[ncuts] = ncuts ? cuts[ncuts - 1] + lmt_rand(&seed) % 200 : 0;
            if (cuts[ncuts] > n)
                break;
            ncuts++;
        }
        wn = ref_lines(in, n, want, &wr);
        gn = framed_lines(in, n, cuts, ncuts, got, &gr);
        LMT_CHECK(gn == wn && memcmp(got, want, wn) == 0 && gr == wr);
    }
}

static void test_line_limits(void)
{
    lm_alloc a = lm_alloc_libc();
    lm_line f;
    const char *line;
    size_t len, i;
    int bare;
    const unsigned char *raw;
    size_t rawn;

    /* A line of exactly max_line bytes (break included) is fine; one more
     * byte without an LF is ETOOLONG, however it arrives. */
    lm_line_init(&f, &a, 10, 100);
    LMT_CHECK(lm_line_feed(&f, "12345678\r\n", 10) == LM_OK);
    LMT_CHECK(lm_line_next(&f, &line, &len, &bare) == LM_OK && len == 8 && !bare);
    for (i = 0; i < 9; i++) {
        LMT_CHECK(lm_line_feed(&f, "x", 1) == LM_OK);
        LMT_CHECK(lm_line_next(&f, &line, &len, &bare) == LM_EAGAIN);
    }
    LMT_CHECK(lm_line_feed(&f, "x", 1) == LM_OK);
    LMT_CHECK(lm_line_next(&f, &line, &len, &bare) == LM_ETOOLONG);
    lm_line_free(&f);

    /* max_buffered caps what a burst can leave waiting. */
    lm_line_init(&f, &a, 10, 20);
    LMT_CHECK(lm_line_feed(&f, "a\r\nb\r\nc\r\nd\r\ne\r\nf\r\ng", 20) == LM_OK);
    LMT_CHECK(lm_line_feed(&f, "h", 1) == LM_ETOOLONG);
    LMT_CHECK(lm_line_next(&f, &line, &len, &bare) == LM_OK && len == 1 && line[0] == 'a');
    /* The rest after the line handed out, for STARTTLS-style checks. */
    LMT_CHECK(lm_line_buffered(&f) == 17);
    LMT_CHECK(lm_line_feed(&f, "h", 1) == LM_OK);
    lm_line_raw(&f, &raw, &rawn);
    LMT_CHECK(rawn == 18 && memcmp(raw, "b\r\n", 3) == 0);
    lm_line_consume_raw(&f, 3);
    LMT_CHECK(lm_line_next(&f, &line, &len, &bare) == LM_OK && len == 1 && line[0] == 'c');
    lm_line_clear(&f);
    LMT_CHECK(lm_line_buffered(&f) == 0);
    LMT_CHECK(lm_line_next(&f, &line, &len, &bare) == LM_EAGAIN);
    lm_line_free(&f);
}

static void test_sasl_plain(void)
{
    unsigned char out[64];
    size_t n = 0;
    /* RFC 4616 section 4: "\0tim\0tanstaaftanstaaf". */
    LMT_CHECK(lm_sasl_plain("", 0, "tim", 3, "tanstaaftanstaaf", 16, out, sizeof out, &n) ==
              LM_OK);
    LMT_CHECK(n == 21 && memcmp(out, "\0tim\0tanstaaftanstaaf", 21) == 0);
    LMT_CHECK(lm_sasl_plain("Ursel", 5, "Kurt", 4, "xipj3plmq", 9, out, sizeof out, &n) ==
              LM_OK);
    LMT_CHECK(n == 20 && memcmp(out, "Ursel\0Kurt\0xipj3plmq", 20) == 0);
    LMT_CHECK(lm_sasl_plain("", 0, "a\0b", 3, "p", 1, out, sizeof out, &n) == LM_EINVAL);
    LMT_CHECK(lm_sasl_plain("", 0, "a", 1, "p\0", 2, out, sizeof out, &n) == LM_EINVAL);
    LMT_CHECK(lm_sasl_plain("\0", 1, "a", 1, "p", 1, out, sizeof out, &n) == LM_EINVAL);
    LMT_CHECK(lm_sasl_plain("", 0, "", 0, "p", 1, out, sizeof out, &n) == LM_EINVAL);
    LMT_CHECK(lm_sasl_plain("", 0, "a", 1, "", 0, out, sizeof out, &n) == LM_EINVAL);
    LMT_CHECK(lm_sasl_plain("", 0, "tim", 3, "pw", 2, out, 6, &n) == LM_ETOOLONG);
    LMT_CHECK(lm_sasl_plain("", 0, "tim", 3, "pw", 2, out, 7, &n) == LM_OK && n == 7);
}

static void test_sasl_cram_md5(void)
{
    unsigned char out[64];
    size_t n = 0;
    static const char ch[] = "<1896.697170952@postoffice.reston.mci.net>";
    /* RFC 2195 section 2. */
    LMT_CHECK(lm_sasl_cram_md5("tim", 3, "tanstaaftanstaaf", 16, ch, strlen(ch), out,
                               sizeof out, &n) == LM_OK);
    LMT_CHECK(n == 36 && memcmp(out, "tim b913a602c7eda7a495b4e6e7334d3890", 36) == 0);
    LMT_CHECK(lm_sasl_cram_md5("tim", 3, "x", 1, ch, strlen(ch), out, 35, &n) == LM_ETOOLONG);
    LMT_CHECK(lm_sasl_cram_md5("t\r", 2, "x", 1, ch, strlen(ch), out, 64, &n) == LM_EINVAL);
    LMT_CHECK(lm_sasl_cram_md5("", 0, "x", 1, ch, strlen(ch), out, 64, &n) == LM_EINVAL);
}

static void test_sasl_oauth(void)
{
    unsigned char out[200];
    size_t n = 0;
    static const char tok[] = "vF9dft4qmTc2Nvb3RlckBhbHRhdmlzdGEuY29tCg==";
    static const char want7628[] = "n,a=user@example.com,\001host=server.example.com\001"
                                   "port=143\001auth=Bearer "
                                   "vF9dft4qmTc2Nvb3RlckBhbHRhdmlzdGEuY29tCg==\001\001";
    static const char wantx[] = "user=someuser@example.com\001auth=Bearer ya29.vF9dft4qmTc2Nvb3Rl"
                                "ckBhdHRhdmlzdGEuY29tCg\001\001";
    LMT_CHECK(lm_sasl_oauthbearer("user@example.com", 16, "server.example.com", 18, 143, tok,
                                  strlen(tok), out, sizeof out, &n) == LM_OK);
    LMT_CHECK(n == strlen(want7628) && memcmp(out, want7628, n) == 0);
    LMT_CHECK(lm_sasl_oauthbearer("a,b=c", 5, "", 0, 0, "t", 1, out, sizeof out, &n) == LM_OK);
    LMT_CHECK(n == 30 && memcmp(out, "n,a=a=2Cb=3Dc,\001auth=Bearer t\001\001", 30) == 0);
    LMT_CHECK(lm_sasl_oauthbearer("u", 1, "h", 1, 70000, "t", 1, out, sizeof out, &n) ==
              LM_EINVAL);
    LMT_CHECK(lm_sasl_oauthbearer("u", 1, "h\001", 2, 1, "t", 1, out, sizeof out, &n) ==
              LM_EINVAL);
    /* Google's XOAUTH2 example (developers.google.com, "OAuth 2.0 Mechanism"). */
    LMT_CHECK(lm_sasl_xoauth2("someuser@example.com", 20,
                              "ya29.vF9dft4qmTc2Nvb3RlckBhdHRhdmlzdGEuY29tCg", 45, out,
                              sizeof out, &n) == LM_OK);
    LMT_CHECK(n == strlen(wantx) && memcmp(out, wantx, n) == 0);
    /* A token that could break the framing is refused. */
    LMT_CHECK(lm_sasl_xoauth2("u", 1, "a\001b", 3, out, sizeof out, &n) == LM_EINVAL);
    LMT_CHECK(lm_sasl_xoauth2("u", 1, "a b", 3, out, sizeof out, &n) == LM_EINVAL);
    LMT_CHECK(lm_sasl_xoauth2("u", 1, "=abc", 4, out, sizeof out, &n) == LM_EINVAL);
    LMT_CHECK(lm_sasl_xoauth2("u", 1, "", 0, out, sizeof out, &n) == LM_EINVAL);
    LMT_CHECK(lm_sasl_xoauth2("u\001", 2, "abc", 3, out, sizeof out, &n) == LM_EINVAL);
    LMT_CHECK(lm_sasl_xoauth2("u", 1, "abc", 3, out, 10, &n) == LM_ETOOLONG);
}

static void test_check_text(void)
{
    LMT_CHECK(lm_sasl_check_text("alice", 5) == LM_OK);
    LMT_CHECK(lm_sasl_check_text("p w", 3) == LM_OK);
    LMT_CHECK(lm_sasl_check_text("", 0) == LM_EINVAL);
    LMT_CHECK(lm_sasl_check_text("a\r", 2) == LM_EINVAL);
    LMT_CHECK(lm_sasl_check_text("a\nb", 3) == LM_EINVAL);
    LMT_CHECK(lm_sasl_check_text("a\0b", 3) == LM_EINVAL);
}

int main(void)
{
    LMT_RUN(test_buf);
    LMT_RUN(test_buf_failing_alloc);
    LMT_RUN(test_line_splits);
    LMT_RUN(test_line_limits);
    LMT_RUN(test_sasl_plain);
    LMT_RUN(test_sasl_cram_md5);
    LMT_RUN(test_sasl_oauth);
    LMT_RUN(test_check_text);
    return lmt_report("line_sasl");
}
