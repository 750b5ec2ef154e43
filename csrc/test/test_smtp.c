/* test_smtp.c: the SMTP engine alone. Reply parsing is checked whole, at
 * every split point and byte by byte against the same events; commands,
 * state rules, capabilities, limits, STARTTLS injection, the body paths and
 * every allocation failed in turn. */
#include "../core/lm_smtp.h"
#include "lmt.h"
#include "lmt_alloc.h"

#include <stdlib.h>

static lm_smtp *engine(void)
{
    lm_alloc a = lmt_alloc();
    lm_smtp *s = NULL;
    LMT_CHECK(lm_smtp_new(&s, NULL, &a) == LM_OK);
    return s;
}

/* The pending output as a NUL-terminated string (static), consumed. */
static const char *take(lm_smtp *s)
{
    static char buf[8192];
    const unsigned char *p;
    size_t n;
    lm_smtp_pending(s, &p, &n);
    if (n >= sizeof buf)
        n = sizeof buf - 1;
    memcpy(buf, p, n);
    buf[n] = 0;
    lm_smtp_consume(s, n);
    return buf;
}

/* Feeds text in chunks of `step` bytes (0: whole) and prints every event
 * as "cmd code enhanced|text;" into out; returns the final status. */
static int run(lm_smtp *s, const char *in, size_t step, char *out, size_t cap)
{
    size_t n = strlen(in), pos = 0, o = 0;
    int rc = LM_EAGAIN;
    out[0] = 0;
    while (pos < n) {
        size_t k = step && n - pos > step ? step : n - pos;
        lm_smtp_reply r;
        rc = lm_smtp_feed(s, in + pos, k);
        if (rc != LM_OK)
            return rc;
        pos += k;
        while ((rc = lm_smtp_next_event(s, &r)) == LM_OK) {
            int w = snprintf(out + o, cap - o, "%s %d %s|%.*s;", lm_smtp_cmd_name(r.cmd),
                             r.code, r.enhanced, (int)r.text_len, r.text);
            if (w > 0 && (size_t)w < cap - o)
                o += (size_t)w;
        }
        if (rc != LM_EAGAIN)
            return rc;
    }
    return rc;
}

/* Ready engine: greeted, EHLO'd with the given capability lines. */
static lm_smtp *ready(const char *caps)
{
    char ev[4096], in[2048];
    lm_smtp *s = engine();
    snprintf(in, sizeof in, "220 mx ESMTP\r\n");
    LMT_CHECK(run(s, in, 0, ev, sizeof ev) == LM_EAGAIN);
    LMT_CHECK(lm_smtp_cmd_ehlo(s, "client.test", 11) == LM_OK);
    LMT_CHECK(strcmp(take(s), "EHLO client.test\r\n") == 0);
    snprintf(in, sizeof in, "250-mx.test Hello\r\n%s", caps);
    LMT_CHECK(run(s, in, 0, ev, sizeof ev) == LM_EAGAIN);
    LMT_CHECK(lm_smtp_state(s) == LM_SMTP_ST_READY);
    return s;
}

/* The server's turns: each is sent only once the client has spoken. */
static const char *const turns[] = {
    "220-mx.example.test ESMTP\r\n220 second line\r\n",
    ("250-mx.example.test\r\n250-PIPELINING\r\n250-SIZE 52428800\r\n"
     "250-AUTH PLAIN LOGIN CRAM-MD5\r\n250-auth=XOAUTH2\r\n250-8BITMIME\r\n"
     "250 ENHANCEDSTATUSCODES\r\n"),
    ("250 2.1.0 Ok\r\n550-5.1.1 <x@y>: unknown\r\n550 5.1.1 second\r\n"
     "250 2.1.5 Ok\r\n354 End data with <CR><LF>.<CR><LF>\r\n"),
};

/* Feeds every turn in chunks of step bytes, answering as a pipelining
 * client would; prints the events into out. */
static lm_smtp *dialogue(size_t step, char *out, size_t cap)
{
    lm_smtp *s = engine();
    lm_smtp_reply r;
    size_t o = 0, t;
    out[0] = 0;
    for (t = 0; t < sizeof turns / sizeof turns[0]; t++) {
        size_t n = strlen(turns[t]), pos = 0;
        while (pos < n) {
            size_t k = n - pos > step ? step : n - pos;
            LMT_CHECK(lm_smtp_feed(s, turns[t] + pos, k) == LM_OK);
            pos += k;
            while (lm_smtp_next_event(s, &r) == LM_OK) {
                int w = snprintf(out + o, cap - o, "%s %d %s|%.*s;", lm_smtp_cmd_name(r.cmd),
                                 r.code, r.enhanced, (int)r.text_len, r.text);
                o += (size_t)w;
                if (r.cmd == LM_SMTP_CMD_GREETING)
                    LMT_CHECK(lm_smtp_cmd_ehlo(s, "c", 1) == LM_OK);
                if (r.cmd == LM_SMTP_CMD_EHLO) {
                    LMT_CHECK(lm_smtp_cmd_mail(s, "a@b", 3, "SIZE=10", 7) == LM_OK);
                    LMT_CHECK(lm_smtp_cmd_rcpt(s, "x@y", 3, "", 0) == LM_OK);
                    LMT_CHECK(lm_smtp_cmd_rcpt(s, "z@y", 3, "", 0) == LM_OK);
                    LMT_CHECK(lm_smtp_cmd_data(s) == LM_OK);
                }
            }
            LMT_CHECK(lm_smtp_error(s, NULL) == LM_OK);
        }
    }
    return s;
}

static void test_split_invariance(void)
{
    char whole[4096], parts[4096];
    size_t step;
    lm_smtp *s = dialogue((size_t)-1, whole, sizeof whole);
    LMT_CHECK(strstr(whole, "GREETING 220 |mx.example.test ESMTP\nsecond line;") != NULL);
    LMT_CHECK(strstr(whole, "RCPT 550 5.1.1|<x@y>: unknown\nsecond;") != NULL);
    LMT_CHECK(strstr(whole, "MAIL 250 2.1.0|Ok;") != NULL);
    LMT_CHECK(strstr(whole, "DATA 354 |End data") != NULL);
    LMT_CHECK(lm_smtp_state(s) == LM_SMTP_ST_BODY);
    LMT_CHECK(lm_smtp_has(s, LM_SMTP_EXT_PIPELINING) && lm_smtp_has(s, LM_SMTP_EXT_8BITMIME));
    LMT_CHECK(!lm_smtp_has(s, LM_SMTP_EXT_CHUNKING));
    LMT_CHECK(lm_smtp_size_limit(s) == 52428800u);
    LMT_CHECK(lm_smtp_auth_offered(s, "cram-md5", 8));
    LMT_CHECK(lm_smtp_auth_offered(s, "XOAUTH2", 7)); /* the old AUTH= form */
    LMT_CHECK(!lm_smtp_auth_offered(s, "CRAM", 4));
    lm_smtp_free(s);
    for (step = 1; step < 300; step++) {
        s = dialogue(step, parts, sizeof parts);
        LMT_CHECK(strcmp(whole, parts) == 0);
        lm_smtp_free(s);
    }
    LMT_CHECK(lmt_live == 0);
}

/* A server that talks before the client (the EHLO reply in the same read
 * as the greeting) is caught when the client queues its next command. */
static void test_early_talker(void)
{
    char ev[512];
    lm_smtp *s = engine();
    LMT_CHECK(run(s, "220 hi\r\n250 early\r\n", 0, ev, sizeof ev) == LM_EPROTO);
    lm_smtp_free(s);
    s = engine();
    LMT_CHECK(run(s, "220 hi\r\n250 ear", 0, ev, sizeof ev) == LM_EAGAIN);
    LMT_CHECK(lm_smtp_cmd_ehlo(s, "c", 1) == LM_EPROTO);
    lm_smtp_free(s);
}

static void test_reply_errors(void)
{
    static const struct {
        const char *in;
        int rc;
    } cases[] = {
        {"22 short\r\n", LM_EPROTO},
        {"abc x\r\n", LM_EPROTO},
        {"620 bad class\r\n", LM_EPROTO},
        {"220x\r\n", LM_EPROTO},
        {"220-a\r\n250 b\r\n", LM_EPROTO},       /* code changes */
        {"220 bare lf\n", LM_EPROTO},
        {"354 wrong\r\n", LM_EPROTO},            /* 3xx to the greeting */
        {"220 ok\r\n250 unsolicited\r\n", LM_EPROTO},
    };
    size_t i;
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char ev[512];
        lm_smtp *s = engine();
        uint64_t off = 99;
        LMT_CHECK(run(s, cases[i].in, 0, ev, sizeof ev) == cases[i].rc);
        LMT_CHECK(lm_smtp_state(s) == LM_SMTP_ST_FAILED);
        LMT_CHECK(lm_smtp_error(s, &off) == cases[i].rc);
        LMT_CHECK(lm_smtp_cmd_noop(s) == cases[i].rc); /* sticky */
        lm_smtp_free(s);
    }
    {
        lm_smtp *s = engine();
        lm_smtp_reply r;
        LMT_CHECK(lm_smtp_feed(s, "220 nul \0\r\n", 11) == LM_OK);
        LMT_CHECK(lm_smtp_next_event(s, &r) == LM_EPROTO);
        lm_smtp_free(s);
    }
    /* an unsolicited 421 is an event: the server is closing */
    {
        char ev[512];
        lm_smtp *s = engine();
        LMT_CHECK(run(s, "220 ok\r\n421 4.4.2 bye\r\n", 0, ev, sizeof ev) == LM_EAGAIN);
        LMT_CHECK(strstr(ev, "NONE 421 4.4.2|bye;") != NULL);
        lm_smtp_free(s);
    }
}

static void test_limits(void)
{
    lm_alloc a = lmt_alloc();
    lm_smtp_opts o;
    lm_smtp *s;
    char ev[512], line[400];
    lm_smtp_reply r;
    int i, rc = LM_OK;
    memset(&o, 0, sizeof o);
    o.max_line = 64;
    o.max_reply_lines = 5;
    o.max_reply_bytes = 200;
    LMT_CHECK(lm_smtp_new(&s, &o, &a) == LM_OK);
    memset(line, 'x', sizeof line);
    line[0] = '2', line[1] = '2', line[2] = '0', line[3] = ' ';
    LMT_CHECK(run(s, "220 ", 0, ev, sizeof ev) == LM_EAGAIN);
    for (i = 0; i < 10 && rc == LM_OK; i++)
        rc = lm_smtp_feed(s, line, 60), rc = rc == LM_OK ? lm_smtp_next_event(s, &r) : rc;
    LMT_CHECK(rc == LM_ETOOLONG);
    lm_smtp_free(s);
    LMT_CHECK(lm_smtp_new(&s, &o, &a) == LM_OK);
    LMT_CHECK(run(s, "220-a\r\n220-a\r\n220-a\r\n220-a\r\n220-a\r\n220 a\r\n", 0, ev,
                  sizeof ev) == LM_ETOOLONG);
    lm_smtp_free(s);
    LMT_CHECK(lm_smtp_new(&s, &o, &a) == LM_OK);
    memset(line, 'y', 60);
    memcpy(line, "220-", 4);
    memcpy(line + 58, "\r\n", 2);
    line[60] = 0;
    {
        char big[400];
        for (i = 0; i < 4; i++)
            memcpy(big + 60 * i, line, 60);
        big[240] = 0;
        LMT_CHECK(run(s, big, 0, ev, sizeof ev) == LM_ETOOLONG); /* > 200 bytes */
    }
    lm_smtp_free(s);
    LMT_CHECK(lmt_live == 0);
}

static void test_commands(void)
{
    lm_smtp *s = engine();
    char ev[1024];
    /* nothing before the greeting */
    LMT_CHECK(lm_smtp_cmd_ehlo(s, "c", 1) == LM_ESTATE);
    LMT_CHECK(run(s, "220 hi\r\n", 1, ev, sizeof ev) == LM_EAGAIN);
    /* MAIL needs a successful EHLO/HELO first */
    LMT_CHECK(lm_smtp_cmd_mail(s, "a@b", 3, "", 0) == LM_ESTATE);
    LMT_CHECK(lm_smtp_cmd_ehlo(s, "bad name", 8) == LM_EINVAL);
    LMT_CHECK(lm_smtp_cmd_ehlo(s, "c\r\nMAIL", 7) == LM_EINVAL);
    LMT_CHECK(lm_smtp_cmd_ehlo(s, "c", 1) == LM_OK);
    /* EHLO ends a group */
    LMT_CHECK(lm_smtp_cmd_noop(s) == LM_ESTATE);
    LMT_CHECK(strcmp(take(s), "EHLO c\r\n") == 0);
    LMT_CHECK(run(s, "502 no\r\n", 0, ev, sizeof ev) == LM_EAGAIN);
    LMT_CHECK(lm_smtp_state(s) == LM_SMTP_ST_HELLO);
    LMT_CHECK(lm_smtp_cmd_helo(s, "c", 1) == LM_OK);
    LMT_CHECK(strcmp(take(s), "HELO c\r\n") == 0);
    LMT_CHECK(run(s, "250 hi\r\n", 0, ev, sizeof ev) == LM_EAGAIN);
    LMT_CHECK(lm_smtp_state(s) == LM_SMTP_ST_READY);
    /* injection attempts are refused and nothing is queued */
    LMT_CHECK(lm_smtp_cmd_mail(s, "a@b>\r\nRCPT TO:<x", 17, "", 0) == LM_EINVAL);
    LMT_CHECK(lm_smtp_cmd_mail(s, "a@b\n", 4, "", 0) == LM_EINVAL);
    LMT_CHECK(lm_smtp_cmd_mail(s, "a\0@b", 4, "", 0) == LM_EINVAL);
    LMT_CHECK(lm_smtp_cmd_mail(s, "a@b SIZE=1", 10, "", 0) == LM_EINVAL);
    LMT_CHECK(lm_smtp_cmd_mail(s, "a@b", 3, "SIZE=1\r\nRSET", 12) == LM_EINVAL);
    LMT_CHECK(lm_smtp_cmd_mail(s, "a@b", 3, "SIZE=", 5) == LM_EINVAL);
    LMT_CHECK(lm_smtp_cmd_mail(s, "a@b", 3, " SIZE=1", 7) == LM_EINVAL);
    LMT_CHECK(lm_smtp_cmd_mail(s, "a@b", 3, "SIZE=1 ", 7) == LM_EINVAL);
    LMT_CHECK(lm_smtp_cmd_rcpt(s, "", 0, "", 0) == LM_EINVAL);
    LMT_CHECK(lm_smtp_cmd_vrfy(s, "x\ry", 3) == LM_EINVAL);
    LMT_CHECK(lm_smtp_outstanding(s) == 0);
    LMT_CHECK(strcmp(take(s), "") == 0);
    LMT_CHECK(lm_smtp_check_path("\"a b\"@c", 7, 0) == LM_OK);
    LMT_CHECK(lm_smtp_check_path("\"a b@c", 6, 0) == LM_EINVAL);
    LMT_CHECK(lm_smtp_check_path("用户@例子.测试", strlen("用户@例子.测试"), 0) == LM_OK);
    LMT_CHECK(lm_smtp_check_params("BODY=8BITMIME SMTPUTF8", 22) == LM_OK);
    /* the null reverse-path */
    LMT_CHECK(lm_smtp_cmd_mail(s, "", 0, "", 0) == LM_OK);
    /* no PIPELINING: one command at a time */
    LMT_CHECK(lm_smtp_cmd_rcpt(s, "x@y", 3, "", 0) == LM_ESTATE);
    LMT_CHECK(strcmp(take(s), "MAIL FROM:<>\r\n") == 0);
    /* no CHUNKING: no BDAT */
    LMT_CHECK(run(s, "250 ok\r\n", 0, ev, sizeof ev) == LM_EAGAIN);
    {
        char out[16];
        size_t w;
        LMT_CHECK(lm_smtp_bdat(s, "x", 1, 1, out, &w) == LM_ESTATE);
        LMT_CHECK(lm_smtp_body(s, "x", 1, 1, out, &w) == LM_ESTATE);
    }
    LMT_CHECK(lm_smtp_cmd_quit(s) == LM_OK);
    LMT_CHECK(lm_smtp_state(s) == LM_SMTP_ST_QUIT);
    lm_smtp_free(s);
    LMT_CHECK(lmt_live == 0);
}

static void test_body(void)
{
    lm_smtp *s = ready("250-PIPELINING\r\n250 CHUNKING\r\n");
    char ev[1024], out[256];
    size_t w, w2;
    static const char body[] = "a\n.b\r\n\r.\r\n.\nend";
    LMT_CHECK(lm_smtp_cmd_mail(s, "a@b", 3, "", 0) == LM_OK);
    LMT_CHECK(lm_smtp_cmd_rcpt(s, "c@d", 3, "", 0) == LM_OK);
    LMT_CHECK(lm_smtp_cmd_data(s) == LM_OK);
    LMT_CHECK(lm_smtp_cmd_rset(s) == LM_ESTATE); /* DATA ends the group */
    LMT_CHECK(strcmp(take(s), "MAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nDATA\r\n") == 0);
    LMT_CHECK(run(s, "250 ok\r\n250 ok\r\n354 go\r\n", 1, ev, sizeof ev) == LM_EAGAIN);
    LMT_CHECK(lm_smtp_state(s) == LM_SMTP_ST_BODY);
    LMT_CHECK(lm_smtp_body(s, body, 5, 0, out, &w) == LM_OK);
    LMT_CHECK(lm_smtp_body(s, body + 5, sizeof body - 6, 1, out + w, &w2) == LM_OK);
    out[w + w2] = 0;
    LMT_CHECK(strcmp(out, "a\r\n..b\r\n\r\n..\r\n..\r\nend\r\n.\r\n") == 0);
    LMT_CHECK(lm_smtp_state(s) == LM_SMTP_ST_READY);
    LMT_CHECK(lm_smtp_outstanding(s) == 1);
    LMT_CHECK(run(s, "250 2.0.0 queued\r\n", 0, ev, sizeof ev) == LM_EAGAIN);
    LMT_CHECK(strstr(ev, "DATA_END 250 2.0.0|queued;") != NULL);
    /* BDAT: normalised, the size counts the normalised bytes */
    LMT_CHECK(lm_smtp_cmd_mail(s, "a@b", 3, "", 0) == LM_OK);
    LMT_CHECK(lm_smtp_cmd_rcpt(s, "c@d", 3, "", 0) == LM_OK);
    LMT_CHECK(lm_smtp_bdat(s, "x\ny\r", 4, 0, out, &w) == LM_OK);
    LMT_CHECK(w == 6 && memcmp(out, "x\r\ny\r\n", 6) == 0);
    LMT_CHECK(strcmp(take(s), "MAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nBDAT 6\r\n") == 0);
    LMT_CHECK(lm_smtp_bdat(s, "\n.z", 3, 1, out, &w) == LM_OK); /* the LF of "\r\n" */
    LMT_CHECK(w == 4 && memcmp(out, ".z\r\n", 4) == 0);
    LMT_CHECK(strcmp(take(s), "BDAT 4 LAST\r\n") == 0);
    /* clean chunks go as they are */
    LMT_CHECK(lm_smtp_clean(s, "ab\r\ncd", 6, 0));
    LMT_CHECK(!lm_smtp_clean(s, "ab\ncd", 5, 0));
    LMT_CHECK(!lm_smtp_clean(s, "ab\rcd", 5, 0));
    LMT_CHECK(!lm_smtp_clean(s, "ab\r", 3, 0));
    LMT_CHECK(!lm_smtp_clean(s, "a\r\n.b", 5, 1));
    LMT_CHECK(lm_smtp_clean(s, "a\r\n.b", 5, 0));
    LMT_CHECK(lm_smtp_bdat(s, "ab\ncd", 5, 1, NULL, &w) == LM_EINVAL);
    LMT_CHECK(lm_smtp_bdat(s, "ab\r\ncd", 6, 1, NULL, &w) == LM_OK && w == 2);
    LMT_CHECK(strcmp(take(s), "BDAT 8 LAST\r\n") == 0);
    LMT_CHECK(run(s, "250 a\r\n250 b\r\n250 c\r\n250 d\r\n250 e\r\n", 0, ev, sizeof ev) ==
              LM_EAGAIN);
    LMT_CHECK(strstr(ev, "BDAT 250 |c;BDAT 250 |d;BDAT 250 |e;") != NULL);
    LMT_CHECK(lm_smtp_has_8bit("abc\x80", 4) && !lm_smtp_has_8bit("abcdefghij", 10));
    LMT_CHECK(lm_smtp_has_8bit("abcdefghi\xff", 10));
    lm_smtp_free(s);
    LMT_CHECK(lmt_live == 0);
}

static void test_auth(void)
{
    lm_smtp *s = ready("250 AUTH PLAIN CRAM-MD5\r\n");
    char ev[1024];
    LMT_CHECK(lm_smtp_cmd_auth(s, "plain", 5, "x", 1, 1) == LM_EINVAL);
    LMT_CHECK(lm_smtp_cmd_auth(s, "PLAIN", 5, "\0u\0p", 4, 1) == LM_OK);
    LMT_CHECK(lm_smtp_state(s) == LM_SMTP_ST_AUTH_WAIT);
    LMT_CHECK(strcmp(take(s), "AUTH PLAIN AHUAcA==\r\n") == 0);
    LMT_CHECK(run(s, "535 5.7.8 no\r\n", 0, ev, sizeof ev) == LM_EAGAIN);
    LMT_CHECK(lm_smtp_state(s) == LM_SMTP_ST_READY);
    LMT_CHECK(lm_smtp_cmd_auth_response(s, "x", 1) == LM_ESTATE);
    LMT_CHECK(lm_smtp_cmd_auth(s, "CRAM-MD5", 8, NULL, 0, 0) == LM_OK);
    LMT_CHECK(strcmp(take(s), "AUTH CRAM-MD5\r\n") == 0);
    LMT_CHECK(run(s, "334 PDE4OTYuNjk3MTcwOTUyQHBvc3RvZmZpY2UucmVzdG9uLm1jaS5uZXQ+\r\n", 0, ev,
                  sizeof ev) == LM_EAGAIN);
    LMT_CHECK(lm_smtp_state(s) == LM_SMTP_ST_AUTH_CONT);
    LMT_CHECK(lm_smtp_cmd_noop(s) == LM_ESTATE);
    LMT_CHECK(lm_smtp_cmd_auth_response(s, "", 0) == LM_OK);
    LMT_CHECK(strcmp(take(s), "\r\n") == 0);
    LMT_CHECK(run(s, "334 again\r\n", 0, ev, sizeof ev) == LM_EAGAIN);
    LMT_CHECK(lm_smtp_cmd_auth_cancel(s) == LM_OK);
    LMT_CHECK(strcmp(take(s), "*\r\n") == 0);
    LMT_CHECK(run(s, "501 cancelled\r\n", 0, ev, sizeof ev) == LM_EAGAIN);
    LMT_CHECK(lm_smtp_cmd_auth(s, "PLAIN", 5, "", 0, 1) == LM_OK);
    LMT_CHECK(strcmp(take(s), "AUTH PLAIN =\r\n") == 0);
    lm_smtp_free(s);
    LMT_CHECK(lmt_live == 0);
}

static void test_starttls(void)
{
    char ev[1024];
    lm_smtp *s = ready("250-STARTTLS\r\n250 SIZE 100\r\n");
    LMT_CHECK(lm_smtp_starttls_begin(s) == LM_ESTATE);
    LMT_CHECK(lm_smtp_cmd_starttls(s) == LM_OK);
    LMT_CHECK(strcmp(take(s), "STARTTLS\r\n") == 0);
    LMT_CHECK(run(s, "220 go ahead\r\n", 0, ev, sizeof ev) == LM_EAGAIN);
    LMT_CHECK(lm_smtp_state(s) == LM_SMTP_ST_TLS_READY);
    LMT_CHECK(lm_smtp_starttls_begin(s) == LM_OK);
    LMT_CHECK(lm_smtp_state(s) == LM_SMTP_ST_HELLO);
    LMT_CHECK(!lm_smtp_has(s, LM_SMTP_EXT_STARTTLS) && lm_smtp_size_limit(s) == 0);
    LMT_CHECK(lm_smtp_cmd_mail(s, "a@b", 3, "", 0) == LM_ESTATE);
    lm_smtp_free(s);
    /* injected bytes after the 220, in the same read */
    s = ready("250 STARTTLS\r\n");
    LMT_CHECK(lm_smtp_cmd_starttls(s) == LM_OK);
    take(s);
    LMT_CHECK(run(s, "220 go ahead\r\n250-evil\r\n", 0, ev, sizeof ev) == LM_EAGAIN ||
              lm_smtp_error(s, NULL) == LM_EPROTO);
    LMT_CHECK(lm_smtp_starttls_begin(s) == LM_EPROTO);
    LMT_CHECK(lm_smtp_state(s) == LM_SMTP_ST_FAILED);
    lm_smtp_free(s);
    /* or in a later read before the handshake */
    s = ready("250 STARTTLS\r\n");
    LMT_CHECK(lm_smtp_cmd_starttls(s) == LM_OK);
    take(s);
    LMT_CHECK(run(s, "220 go ahead\r\n", 0, ev, sizeof ev) == LM_EAGAIN);
    LMT_CHECK(lm_smtp_feed(s, "x", 1) == LM_EPROTO);
    lm_smtp_free(s);
    LMT_CHECK(lmt_live == 0);
}

/* Every allocation of a short dialogue failed in turn: an error, never a
 * crash or a leak. */
static void test_failing_alloc(void)
{
    int n;
    for (n = 1; n <= 12; n++) {
        lm_alloc a = lmt_alloc();
        lm_smtp *s = NULL;
        lm_smtp_reply r;
        int rc;
        lmt_alloc_count = 0;
        lmt_fail_at = n;
        rc = lm_smtp_new(&s, NULL, &a);
        if (rc == LM_OK) {
            rc = lm_smtp_feed(s, "220 hi\r\n", 8);
            if (rc == LM_OK)
                rc = lm_smtp_next_event(s, &r);
            if (rc == LM_OK)
                rc = lm_smtp_cmd_ehlo(s, "c", 1);
            if (rc == LM_OK)
                take(s);
            if (rc == LM_OK)
                rc = lm_smtp_feed(s, "250-x\r\n250 AUTH PLAIN\r\n", 23);
            if (rc == LM_OK)
                rc = lm_smtp_next_event(s, &r);
            if (rc == LM_OK)
                rc = lm_smtp_cmd_auth(s, "PLAIN", 5, "\0u\0p", 4, 1);
            LMT_CHECK(rc == LM_OK || rc == LM_ENOMEM);
            lm_smtp_free(s);
        } else {
            LMT_CHECK(rc == LM_ENOMEM && s == NULL);
        }
        LMT_CHECK(lmt_live == 0);
    }
    lmt_fail_at = 0;
}

int main(void)
{
    LMT_RUN(test_split_invariance);
    LMT_RUN(test_early_talker);
    LMT_RUN(test_reply_errors);
    LMT_RUN(test_limits);
    LMT_RUN(test_commands);
    LMT_RUN(test_body);
    LMT_RUN(test_auth);
    LMT_RUN(test_starttls);
    LMT_RUN(test_failing_alloc);
    return lmt_report("smtp");
}
