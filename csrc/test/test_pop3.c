/* test_pop3.c: the POP3 engine alone. The parsers against RFC 1939/2449
 * examples and hostile input; whole dialogues fed whole, split in two at
 * every point and byte by byte, which must give the same events and the
 * same client bytes; every allocation failed in turn; the state and
 * pipelining rules; STLS injection; the RFC 1939 7 APOP and RFC 2195
 * CRAM-MD5 examples; and a 1 GiB body in bounded memory. */
#include "../core/lm_md5.h"
#include "../core/lm_pop3.h"
#include "lmt.h"
#include "lmt_alloc.h"

#include <stdlib.h>

/* ---- parsers ---- */

static void test_status(void)
{
    lm_pop3_status st;
    LMT_CHECK(lm_pop3_parse_status("+OK", 3, 0, &st) == LM_OK && st.kind == LM_POP3_EV_OK &&
              st.len == 0);
    LMT_CHECK(lm_pop3_parse_status("+OK 2 320", 9, 0, &st) == LM_OK && st.len == 5 &&
              memcmp(st.text, "2 320", 5) == 0 && st.code == NULL);
    LMT_CHECK(lm_pop3_parse_status("-ERR [IN-USE] locked", 20, 0, &st) == LM_OK &&
              st.kind == LM_POP3_EV_ERR && st.code_len == 6 &&
              memcmp(st.code, "IN-USE", 6) == 0);
    LMT_CHECK(lm_pop3_parse_status("-ERR [SYS/TEMP] x", 17, 0, &st) == LM_OK &&
              st.code_len == 8);
    /* not codes: empty, a space, a dangling "/" */
    LMT_CHECK(lm_pop3_parse_status("-ERR [] x", 9, 0, &st) == LM_OK && st.code == NULL);
    LMT_CHECK(lm_pop3_parse_status("-ERR [A B] x", 12, 0, &st) == LM_OK && st.code == NULL);
    LMT_CHECK(lm_pop3_parse_status("-ERR [SYS/] x", 13, 0, &st) == LM_OK && st.code == NULL);
    LMT_CHECK(lm_pop3_parse_status("+OKAY", 5, 0, &st) == LM_EPROTO);
    LMT_CHECK(lm_pop3_parse_status("-ERROR", 6, 0, &st) == LM_EPROTO);
    LMT_CHECK(lm_pop3_parse_status("+ok", 3, 0, &st) == LM_EPROTO);
    LMT_CHECK(lm_pop3_parse_status("", 0, 0, &st) == LM_EPROTO);
    LMT_CHECK(lm_pop3_parse_status("+ abc", 5, 0, &st) == LM_EPROTO);
    LMT_CHECK(lm_pop3_parse_status("+ abc", 5, 1, &st) == LM_OK &&
              st.kind == LM_POP3_EV_CHALLENGE && st.len == 3);
    LMT_CHECK(lm_pop3_parse_status("+", 1, 1, &st) == LM_OK && st.len == 0);
    LMT_CHECK(lm_pop3_parse_status("+OK", 3, 1, &st) == LM_OK && st.kind == LM_POP3_EV_OK);
}

static void test_numbers(void)
{
    uint64_t a = 0, b = 0;
    const char *r = NULL, *uid = NULL;
    size_t rl = 0, ul = 0;
    LMT_CHECK(lm_pop3_parse_number("0", 1, &a) == LM_OK && a == 0);
    LMT_CHECK(lm_pop3_parse_number("9007199254740991", 16, &a) == LM_OK &&
              a == LM_POP3_MAX_NUMBER);
    LMT_CHECK(lm_pop3_parse_number("9007199254740992", 16, &a) == LM_EPROTO);
    LMT_CHECK(lm_pop3_parse_number("18446744073709551617", 20, &a) == LM_EPROTO);
    LMT_CHECK(lm_pop3_parse_number("-1", 2, &a) == LM_EPROTO);
    LMT_CHECK(lm_pop3_parse_number("+1", 2, &a) == LM_EPROTO);
    LMT_CHECK(lm_pop3_parse_number("1 ", 2, &a) == LM_EPROTO);
    LMT_CHECK(lm_pop3_parse_number("", 0, &a) == LM_EPROTO);
    LMT_CHECK(lm_pop3_parse_number("0x10", 4, &a) == LM_EPROTO);
    LMT_CHECK(lm_pop3_parse_pair("2 320", 5, 0, &a, &b, &r, &rl) == LM_OK && a == 2 &&
              b == 320 && rl == 0);
    LMT_CHECK(lm_pop3_parse_pair("2 320 extra", 11, 1, &a, &b, &r, &rl) == LM_OK &&
              rl == 5 && memcmp(r, "extra", 5) == 0);
    LMT_CHECK(lm_pop3_parse_pair("2 320 extra", 11, 0, &a, &b, &r, &rl) == LM_EPROTO);
    LMT_CHECK(lm_pop3_parse_pair("2  320", 6, 1, &a, &b, NULL, NULL) == LM_EPROTO);
    LMT_CHECK(lm_pop3_parse_pair("2 -320", 6, 1, &a, &b, NULL, NULL) == LM_EPROTO);
    LMT_CHECK(lm_pop3_parse_pair("2 320x", 6, 1, &a, &b, NULL, NULL) == LM_EPROTO);
    LMT_CHECK(lm_pop3_parse_pair("2", 1, 1, &a, &b, NULL, NULL) == LM_EPROTO);
    LMT_CHECK(lm_pop3_parse_uid_line("1 whqtswO00WBw418f9t5JxYwZ", 26, &a, &uid, &ul) ==
                  LM_OK &&
              a == 1 && ul == 24);
    LMT_CHECK(lm_pop3_parse_uid_line("1 a b", 5, &a, &uid, &ul) == LM_EPROTO);
    LMT_CHECK(lm_pop3_parse_uid_line("1 ", 2, &a, &uid, &ul) == LM_EPROTO);
    LMT_CHECK(lm_pop3_parse_uid_line("1 a\x7f", 4, &a, &uid, &ul) == LM_EPROTO);
    LMT_CHECK(lm_pop3_parse_uid_line("1 a\x80", 4, &a, &uid, &ul) == LM_EPROTO);
    {
        char line[80];
        memcpy(line, "7 ", 2);
        memset(line + 2, 'u', 71);
        LMT_CHECK(lm_pop3_parse_uid_line(line, 72, &a, &uid, &ul) == LM_OK && ul == 70);
        LMT_CHECK(lm_pop3_parse_uid_line(line, 73, &a, &uid, &ul) == LM_EPROTO);
    }
}

static void test_timestamp(void)
{
    const char *ts = NULL;
    size_t n = 0;
    const char *g = "POP3 server ready <1896.697170952@dbc.mtview.ca.us>";
    const char *dovecot = "Dovecot ready. <4616.3.6b0fcebc.YB/+AIeKRc7VZKJs66EStg==@vm>";
    char big[400];
    LMT_CHECK(lm_pop3_find_timestamp(g, strlen(g), &ts, &n) == LM_POP3_TS_VALID && n == 33 &&
              memcmp(ts, "<1896.697170952@dbc.mtview.ca.us>", 33) == 0);
    LMT_CHECK(lm_pop3_find_timestamp(dovecot, strlen(dovecot), &ts, &n) == LM_POP3_TS_VALID);
    LMT_CHECK(lm_pop3_find_timestamp("ready", 5, &ts, &n) == LM_POP3_TS_NONE);
    LMT_CHECK(lm_pop3_find_timestamp("ready >", 7, &ts, &n) == LM_POP3_TS_NONE);
    LMT_CHECK(lm_pop3_find_timestamp("<a@b", 4, &ts, &n) == LM_POP3_TS_MALFORMED);
    LMT_CHECK(lm_pop3_find_timestamp("<a b@c>", 7, &ts, &n) == LM_POP3_TS_MALFORMED);
    LMT_CHECK(lm_pop3_find_timestamp("<ab@c> <d@e>", 12, &ts, &n) == LM_POP3_TS_MALFORMED);
    LMT_CHECK(lm_pop3_find_timestamp("<abc>", 5, &ts, &n) == LM_POP3_TS_MALFORMED);
    LMT_CHECK(lm_pop3_find_timestamp("<@abc>", 6, &ts, &n) == LM_POP3_TS_MALFORMED);
    LMT_CHECK(lm_pop3_find_timestamp("<abc@>", 6, &ts, &n) == LM_POP3_TS_MALFORMED);
    LMT_CHECK(lm_pop3_find_timestamp("<a\x01@b.c>", 8, &ts, &n) == LM_POP3_TS_MALFORMED);
    LMT_CHECK(lm_pop3_find_timestamp("<a\xc3\xa9@b.c>", 9, &ts, &n) == LM_POP3_TS_MALFORMED);
    big[0] = '<';
    memset(big + 1, 'a', 300);
    memcpy(big + 301, "@b>", 3);
    LMT_CHECK(lm_pop3_find_timestamp(big, 304, &ts, &n) == LM_POP3_TS_MALFORMED);
    LMT_CHECK(lm_pop3_find_timestamp(big + 300 - 250, 254, &ts, &n) == LM_POP3_TS_NONE);
}

static void test_capa_mech(void)
{
    const char *t, *a;
    size_t tn, an;
    LMT_CHECK(lm_pop3_parse_capa("SASL PLAIN LOGIN", 16, &t, &tn, &a, &an) == LM_OK &&
              tn == 4 && an == 11 && memcmp(a, "PLAIN LOGIN", 11) == 0);
    LMT_CHECK(lm_pop3_parse_capa("TOP", 3, &t, &tn, &a, &an) == LM_OK && tn == 3 && an == 0);
    LMT_CHECK(lm_pop3_parse_capa(" TOP", 4, &t, &tn, &a, &an) == LM_EPROTO);
    LMT_CHECK(lm_pop3_parse_capa("", 0, &t, &tn, &a, &an) == LM_EPROTO);
    LMT_CHECK(lm_pop3_parse_capa("X a\x01", 4, &t, &tn, &a, &an) == LM_EPROTO);
    LMT_CHECK(lm_pop3_check_mech("CRAM-MD5", 8) == LM_OK);
    LMT_CHECK(lm_pop3_check_mech("SCRAM-SHA-256-PLUS", 18) == LM_OK);
    LMT_CHECK(lm_pop3_check_mech("plain", 5) == LM_EINVAL);
    LMT_CHECK(lm_pop3_check_mech("A B", 3) == LM_EINVAL);
    LMT_CHECK(lm_pop3_check_mech("ABCDEFGHIJKLMNOPQRSTU", 21) == LM_EINVAL);
    LMT_CHECK(lm_pop3_check_mech("", 0) == LM_EINVAL);
}

/* ---- a scripted client over the engine ---- */

/* The log of a dialogue: events and client bytes, as text. */
typedef struct logbuf {
    char s[1 << 16];
    size_t n;
} logbuf;

static void lput(logbuf *l, const char *s, size_t n)
{
    if (n > sizeof l->s - l->n)
        n = sizeof l->s - l->n;
    memcpy(l->s + l->n, s, n);
    l->n += n;
}

static void lstr(logbuf *l, const char *s)
{
    lput(l, s, strlen(s));
}

static void lnum(logbuf *l, uint64_t v)
{
    char b[32];
    snprintf(b, sizeof b, "%llu", (unsigned long long)v);
    lstr(l, b);
}

/* Moves the engine's output into the log as "C:..." */
static void drain_out(lm_pop3 *p, logbuf *l)
{
    const unsigned char *d;
    size_t n;
    lm_pop3_pending(p, &d, &n);
    if (n) {
        lstr(l, "C:");
        lput(l, (const char *)d, n);
        lm_pop3_consume(p, n);
    }
}

static const char *const EV[] = {"?", "ok", "err", "challenge", "capa", "list", "uidl",
                                 "data", "end"};

static void log_event(logbuf *l, const lm_pop3_event *ev)
{
    if (ev->type == LM_POP3_EV_DATA) {
        lput(l, ev->text, ev->len); /* bodies are logged as bytes, unsplit */
        return;
    }
    lstr(l, "E:");
    lstr(l, EV[ev->type]);
    lstr(l, " ");
    lstr(l, lm_pop3_cmd_name(ev->cmd));
    lstr(l, " [");
    lput(l, ev->text, ev->len);
    lstr(l, "]");
    if (ev->code) {
        lstr(l, " code=");
        lput(l, ev->code, ev->code_len);
    }
    if (ev->num || ev->size) {
        lstr(l, " ");
        lnum(l, ev->num);
        lstr(l, "/");
        lnum(l, ev->size);
    }
    if (ev->arg_len) {
        lstr(l, " arg=");
        lput(l, ev->arg, ev->arg_len);
    }
    lstr(l, ev->multi ? " multi\n" : "\n");
}

/* The scripted client: reacts to events with the next commands. */
typedef void (*reactor)(lm_pop3 *p, const lm_pop3_event *ev, int *rc);

/* Feeds chunks (split at the given points), pulling events after each
 * feed; returns the final status and fills the log. */
static int run_split(const char *server, size_t n, const size_t *cuts, size_t ncuts,
                     reactor react, logbuf *l, int eof)
{
    lm_alloc a = lmt_alloc();
    lm_pop3 *p;
    size_t start = 0, i;
    int rc = lm_pop3_new(&p, NULL, &a), final = LM_OK;
    l->n = 0;
    if (rc != LM_OK)
        return rc;
    for (i = 0; i <= ncuts && final == LM_OK; i++) {
        size_t end = i < ncuts ? cuts[i] : n;
        lm_pop3_event ev;
        rc = lm_pop3_feed(p, server + start, end - start);
        start = end;
        if (rc != LM_OK) {
            final = rc;
            break;
        }
        while ((rc = lm_pop3_next_event(p, &ev)) == LM_OK) {
            int r2 = LM_OK;
            log_event(l, &ev);
            react(p, &ev, &r2);
            if (r2 != LM_OK) {
                lstr(l, "REFUSED ");
                lstr(l, lm_errname(r2));
                lstr(l, "\n");
            }
            drain_out(p, l);
        }
        if (rc != LM_EAGAIN)
            final = rc;
        drain_out(p, l);
    }
    if (final == LM_OK && eof)
        final = lm_pop3_eof(p);
    if (final != LM_OK) {
        const char *why;
        lm_pop3_error(p, &why, NULL);
        lstr(l, "ERROR ");
        lstr(l, lm_errname(final));
        lstr(l, " ");
        lstr(l, why);
        lstr(l, "\n");
    }
    lm_pop3_free(p);
    return final;
}

/* Runs server whole, split in two at every point, and byte by byte; the
 * logs must agree. Returns the final status; *out gets the log. */
static int run_all_splits(const char *server, reactor react, logbuf *out, int eof)
{
    static logbuf other;
    size_t n = strlen(server), i, *cuts;
    int rc = run_split(server, n, NULL, 0, react, out, eof), rc2;
    for (i = 1; i < n; i++) {
        size_t cut = i;
        rc2 = run_split(server, n, &cut, 1, react, &other, eof);
        LMT_CHECK(rc2 == rc);
        LMT_CHECK(other.n == out->n && memcmp(other.s, out->s, out->n) == 0);
        if (other.n != out->n || memcmp(other.s, out->s, out->n) != 0) {
            fprintf(stderr, "split at %zu differs:\n%.*s\n---- whole:\n%.*s\n", i,
                    (int)other.n, other.s, (int)out->n, out->s);
            break;
        }
    }
    cuts = malloc(n * sizeof *cuts);
    for (i = 0; i + 1 < n; i++)
        cuts[i] = i + 1;
    rc2 = run_split(server, n, cuts, n ? n - 1 : 0, react, &other, eof);
    free(cuts);
    LMT_CHECK(rc2 == rc);
    LMT_CHECK(other.n == out->n && memcmp(other.s, out->s, out->n) == 0);
    return rc;
}

static int contains(const logbuf *l, const char *s)
{
    size_t n = strlen(s), i;
    for (i = 0; i + n <= l->n; i++)
        if (memcmp(l->s + i, s, n) == 0)
            return 1;
    return 0;
}

/* USER/PASS then a pipelined transaction. */
static void react_basic(lm_pop3 *p, const lm_pop3_event *ev, int *rc)
{
    if (ev->cmd == LM_POP3_CMD_GREETING && ev->type == LM_POP3_EV_OK)
        *rc = lm_pop3_cmd_capa(p);
    else if (ev->cmd == LM_POP3_CMD_CAPA && ev->type == LM_POP3_EV_END)
        *rc = lm_pop3_cmd_user(p, "alice", 5);
    else if (ev->cmd == LM_POP3_CMD_USER && ev->type == LM_POP3_EV_OK)
        *rc = lm_pop3_cmd_pass(p, "s3cret pw", 9);
    else if (ev->cmd == LM_POP3_CMD_PASS && ev->type == LM_POP3_EV_OK) {
        /* PIPELINING was advertised: all at once */
        if ((*rc = lm_pop3_cmd_stat(p)) == LM_OK && (*rc = lm_pop3_cmd_list(p, 0)) == LM_OK &&
            (*rc = lm_pop3_cmd_uidl(p, 0)) == LM_OK && (*rc = lm_pop3_cmd_list(p, 2)) == LM_OK &&
            (*rc = lm_pop3_cmd_uidl(p, 2)) == LM_OK && (*rc = lm_pop3_cmd_retr(p, 1)) == LM_OK &&
            (*rc = lm_pop3_cmd_top(p, 2, 0)) == LM_OK && (*rc = lm_pop3_cmd_dele(p, 1)) == LM_OK)
            *rc = lm_pop3_cmd_quit(p);
    }
}

static const char BASIC[] =
    "+OK POP3 ready <1896.697170952@dbc.mtview.ca.us>\r\n"
    "+OK Capability list follows\r\n"
    "TOP\r\nUSER\r\nUIDL\r\nPIPELINING\r\nSASL PLAIN CRAM-MD5\r\nIMPLEMENTATION x y\r\n.\r\n"
    "+OK\r\n"
    "+OK Logged in.\r\n"
    "+OK 2 320\r\n"
    "+OK 2 messages\r\n1 120\r\n2 200\r\n.\r\n"
    "+OK\r\n1 whqtswO00WBw418f9t5JxYwZ\r\n2 QhdPYR:00WBw1Ph7x7\r\n.\r\n"
    "+OK 2 200\r\n"
    "+OK 2 QhdPYR:00WBw1Ph7x7\r\n"
    "+OK 120 octets\r\nSubject: a\r\n\r\n..dot line\r\n..\r\n.x\r\nbare\nlf and \r cr\r\n"
    ".\r\n"
    "+OK\r\nSubject: b\r\n\r\n.\r\n"
    "+OK message 1 deleted\r\n"
    "+OK bye\r\n";

static void test_dialogue(void)
{
    logbuf l;
    int rc = run_all_splits(BASIC, react_basic, &l, 1);
    LMT_CHECK(rc == LM_OK);
    LMT_CHECK(contains(&l, "E:ok greeting [POP3 ready <1896.697170952@dbc.mtview.ca.us>]\n"
                           "C:CAPA\r\n"));
    LMT_CHECK(contains(&l, "E:capa CAPA [SASL] arg=PLAIN CRAM-MD5\n"));
    LMT_CHECK(contains(&l, "C:USER alice\r\n"));
    LMT_CHECK(contains(&l, "C:PASS s3cret pw\r\n"));
    LMT_CHECK(contains(&l, "C:STAT\r\nLIST\r\nUIDL\r\nLIST 2\r\nUIDL 2\r\nRETR 1\r\nTOP 2 0\r\n"
                           "DELE 1\r\nQUIT\r\n"));
    LMT_CHECK(contains(&l, "E:ok STAT [2 320] 2/320\n"));
    LMT_CHECK(contains(&l, "E:list LIST [] 1/120\nE:list LIST [] 2/200\nE:end LIST []\n"));
    LMT_CHECK(contains(&l, "E:uidl UIDL [] 2/0 arg=QhdPYR:00WBw1Ph7x7\n"));
    LMT_CHECK(contains(&l, "E:ok LIST [2 200] 2/200\n"));
    LMT_CHECK(contains(&l, "E:ok UIDL [2 QhdPYR:00WBw1Ph7x7] 2/0 arg=QhdPYR:00WBw1Ph7x7\n"));
    /* dot-unstuffed once; bare LF and CR are data; CRLF kept */
    LMT_CHECK(contains(&l, "E:ok RETR [120 octets] multi\n"
                           "Subject: a\r\n\r\n.dot line\r\n.\r\nx\r\nbare\nlf and \r cr\r\n"
                           "E:end RETR []\n"));
    LMT_CHECK(contains(&l, "E:ok TOP [] multi\nSubject: b\r\n\r\nE:end TOP []\n"));
    LMT_CHECK(contains(&l, "E:ok QUIT [bye]\n"));
    LMT_CHECK(!contains(&l, "REFUSED"));
}

/* Two events with nothing between: the engine must have the state right. */
static void test_states(void)
{
    lm_alloc a = lmt_alloc();
    lm_pop3 *p;
    lm_pop3_event ev;
    const unsigned char *d;
    size_t n;
    const char *ts;
    LMT_CHECK(lm_pop3_new(&p, NULL, &a) == LM_OK);
    LMT_CHECK(lm_pop3_state(p) == LM_POP3_ST_GREETING);
    LMT_CHECK(lm_pop3_cmd_capa(p) == LM_ESTATE);
    LMT_CHECK(lm_pop3_next_event(p, &ev) == LM_EAGAIN);
    lm_pop3_feed(p, "+OK hi\r\n", 8);
    LMT_CHECK(lm_pop3_next_event(p, &ev) == LM_OK && ev.cmd == LM_POP3_CMD_GREETING);
    LMT_CHECK(lm_pop3_state(p) == LM_POP3_ST_AUTHORIZATION);
    LMT_CHECK(lm_pop3_timestamp(p, &ts, &n) == LM_POP3_TS_NONE);
    LMT_CHECK(lm_pop3_cmd_stat(p) == LM_ESTATE);
    LMT_CHECK(lm_pop3_cmd_retr(p, 1) == LM_ESTATE);
    LMT_CHECK(lm_pop3_cmd_pass(p, "x", 1) == LM_ESTATE);
    LMT_CHECK(strstr(lm_pop3_refusal(p), "USER") != NULL);
    LMT_CHECK(lm_pop3_cmd_apop(p, "u", 1, "x", 1) == LM_ESTATE);
    LMT_CHECK(lm_pop3_cmd_user(p, "a\r\nDELE 1", 10) == LM_EINVAL);
    LMT_CHECK(lm_pop3_cmd_user(p, "a\0b", 3) == LM_EINVAL);
    LMT_CHECK(lm_pop3_cmd_user(p, "", 0) == LM_EINVAL);
    {
        char big[300];
        memset(big, 'u', sizeof big);
        LMT_CHECK(lm_pop3_cmd_user(p, big, 249) == LM_ETOOLONG); /* 5 + 249 + 2 = 256 */
    }
    lm_pop3_pending(p, &d, &n);
    LMT_CHECK(n == 0);
    LMT_CHECK(lm_pop3_cmd_user(p, "alice", 5) == LM_OK);
    LMT_CHECK(lm_pop3_cmd_capa(p) == LM_ESTATE); /* no pipelining before login */
    LMT_CHECK(lm_pop3_outstanding(p) == 1);
    lm_pop3_feed(p, "+OK\r\n", 5);
    LMT_CHECK(lm_pop3_next_event(p, &ev) == LM_OK && ev.cmd == LM_POP3_CMD_USER);
    LMT_CHECK(lm_pop3_cmd_pass(p, "pw", 2) == LM_OK);
    lm_pop3_pending(p, &d, &n);
    LMT_CHECK(n == 21 && memcmp(d + 12, "PASS pw\r\n", 9) == 0);
    lm_pop3_consume(p, n);
    /* the storage that held the password is wiped once it is sent */
    LMT_CHECK(d[12] == 0 && d[17] == 0);
    lm_pop3_feed(p, "+OK\r\n", 5);
    LMT_CHECK(lm_pop3_next_event(p, &ev) == LM_OK && ev.cmd == LM_POP3_CMD_PASS);
    LMT_CHECK(lm_pop3_state(p) == LM_POP3_ST_TRANSACTION);
    LMT_CHECK(lm_pop3_cmd_user(p, "x", 1) == LM_ESTATE);
    LMT_CHECK(lm_pop3_cmd_stls(p) == LM_ESTATE);
    LMT_CHECK(lm_pop3_cmd_retr(p, 0) == LM_EINVAL);
    LMT_CHECK(lm_pop3_cmd_dele(p, LM_POP3_MAX_NUMBER + 1) == LM_EINVAL);
    LMT_CHECK(lm_pop3_cmd_stat(p) == LM_OK);
    /* no CAPA with PIPELINING was read: one at a time */
    LMT_CHECK(lm_pop3_cmd_noop(p) == LM_ESTATE);
    lm_pop3_feed(p, "+OK 0 0\r\n", 9);
    LMT_CHECK(lm_pop3_next_event(p, &ev) == LM_OK && ev.num == 0 && ev.size == 0);
    LMT_CHECK(lm_pop3_cmd_quit(p) == LM_OK);
    LMT_CHECK(lm_pop3_state(p) == LM_POP3_ST_UPDATE);
    LMT_CHECK(lm_pop3_cmd_noop(p) == LM_ESTATE);
    lm_pop3_feed(p, "+OK\r\n", 5);
    LMT_CHECK(lm_pop3_next_event(p, &ev) == LM_OK && ev.cmd == LM_POP3_CMD_QUIT);
    LMT_CHECK(lm_pop3_state(p) == LM_POP3_ST_CLOSED);
    LMT_CHECK(lm_pop3_eof(p) == LM_OK);
    lm_pop3_free(p);
    LMT_CHECK(lmt_live == 0);
}

/* Feeds server and pulls events until something other than LM_OK. */
static int feed_pull(lm_pop3 *p, const char *server, lm_pop3_event *ev)
{
    int rc = lm_pop3_feed(p, server, strlen(server));
    if (rc != LM_OK)
        return rc;
    while ((rc = lm_pop3_next_event(p, ev)) == LM_OK)
        ;
    return rc;
}

/* A logged-in engine (USER/PASS done), with CAPA read from capa. */
static lm_pop3 *logged_in(const char *capa)
{
    lm_alloc a = lmt_alloc();
    lm_pop3 *p;
    lm_pop3_event ev;
    const unsigned char *d;
    size_t n;
    if (lm_pop3_new(&p, NULL, &a) != LM_OK)
        return NULL;
    feed_pull(p, "+OK\r\n", &ev);
    if (capa) {
        lm_pop3_cmd_capa(p);
        feed_pull(p, capa, &ev);
    }
    lm_pop3_cmd_user(p, "u", 1);
    feed_pull(p, "+OK\r\n", &ev);
    lm_pop3_cmd_pass(p, "p", 1);
    feed_pull(p, "+OK\r\n", &ev);
    lm_pop3_pending(p, &d, &n);
    lm_pop3_consume(p, n);
    return p;
}

static int after_retr(const char *body, int *eof_rc)
{
    lm_pop3 *p = logged_in(NULL);
    lm_pop3_event ev;
    int rc;
    lm_pop3_cmd_retr(p, 1);
    rc = feed_pull(p, body, &ev);
    if (eof_rc)
        *eof_rc = lm_pop3_eof(p);
    lm_pop3_free(p);
    return rc;
}

static void test_hostile(void)
{
    int e = 0;
    /* unterminated: EOF before ".\r\n" is never a complete message */
    LMT_CHECK(after_retr("+OK\r\nSubject: x\r\n\r\nbody\r\n", &e) == LM_EAGAIN &&
              e == LM_ECLOSED);
    LMT_CHECK(after_retr("+OK\r\nSubject: x\r\n.\n", &e) == LM_EAGAIN && e == LM_ECLOSED);
    LMT_CHECK(after_retr("+OK\r\nx\r\n.\r", &e) == LM_EAGAIN && e == LM_ECLOSED);
    LMT_CHECK(after_retr("+OK\r\nx\r\n.\r\n", &e) == LM_EAGAIN && e == LM_OK);
    /* data after the last expected response */
    LMT_CHECK(after_retr("+OK\r\nx\r\n.\r\n+OK injected\r\n", NULL) == LM_EPROTO);
    /* status line syntax */
    LMT_CHECK(after_retr("OK\r\n", NULL) == LM_EPROTO);
    LMT_CHECK(after_retr("+OK\n", NULL) == LM_EPROTO);
    {
        lm_pop3 *p = logged_in(NULL);
        lm_pop3_event ev;
        const char *why;
        static char line[9000];
        memset(line, 'x', sizeof line);
        memcpy(line, "+OK ", 4);
        line[sizeof line - 1] = 0;
        lm_pop3_cmd_noop(p);
        LMT_CHECK(feed_pull(p, line, &ev) == LM_ETOOLONG);
        LMT_CHECK(lm_pop3_error(p, &why, NULL) == LM_ETOOLONG && strstr(why, "max_line"));
        /* sticky */
        LMT_CHECK(lm_pop3_next_event(p, &ev) == LM_ETOOLONG);
        LMT_CHECK(lm_pop3_cmd_noop(p) == LM_ETOOLONG);
        lm_pop3_free(p);
    }
}

static int list_result(const char *cmdkind, const char *server)
{
    lm_pop3 *p = logged_in(NULL);
    lm_pop3_event ev;
    int rc;
    if (cmdkind[0] == 'L')
        lm_pop3_cmd_list(p, cmdkind[1] ? 3 : 0);
    else if (cmdkind[0] == 'U')
        lm_pop3_cmd_uidl(p, cmdkind[1] ? 3 : 0);
    else
        lm_pop3_cmd_stat(p);
    rc = feed_pull(p, server, &ev);
    lm_pop3_free(p);
    return rc;
}

static void test_hostile_lists(void)
{
    LMT_CHECK(list_result("L", "+OK\r\n1 10\r\n2 20\r\n.\r\n") == LM_EAGAIN);
    LMT_CHECK(list_result("L", "+OK\r\n1 10\r\n1 20\r\n.\r\n") == LM_EPROTO);
    LMT_CHECK(list_result("L", "+OK\r\n2 10\r\n1 20\r\n.\r\n") == LM_EPROTO);
    LMT_CHECK(list_result("L", "+OK\r\n0 10\r\n.\r\n") == LM_EPROTO);
    LMT_CHECK(list_result("L", "+OK\r\n-1 10\r\n.\r\n") == LM_EPROTO);
    LMT_CHECK(list_result("L", "+OK\r\n1 99999999999999999999\r\n.\r\n") == LM_EPROTO);
    LMT_CHECK(list_result("L", "+OK\r\n1 1e9\r\n.\r\n") == LM_EPROTO);
    LMT_CHECK(list_result("L", "+OK\r\n1\r\n.\r\n") == LM_EPROTO);
    LMT_CHECK(list_result("L1", "+OK 3 100\r\n") == LM_EAGAIN);
    LMT_CHECK(list_result("L1", "+OK 4 100\r\n") == LM_EPROTO);
    LMT_CHECK(list_result("S", "+OK 2\r\n") == LM_EPROTO);
    LMT_CHECK(list_result("S", "+OK 2 -1\r\n") == LM_EPROTO);
    LMT_CHECK(list_result("S", "+OK 9007199254740991 9007199254740991\r\n") == LM_EAGAIN);
    LMT_CHECK(list_result("S", "+OK 9007199254740992 1\r\n") == LM_EPROTO);
    LMT_CHECK(list_result("U", "+OK\r\n1 abc\r\n2 d e\r\n.\r\n") == LM_EPROTO);
    LMT_CHECK(list_result("U", "+OK\r\n1 abc\r\n2 \x01x\r\n.\r\n") == LM_EPROTO);
    LMT_CHECK(list_result("U", "+OK\r\n1 abc \r\n.\r\n") == LM_EPROTO);
    LMT_CHECK(list_result("U", "+OK\r\n1 \r\n.\r\n") == LM_EPROTO);
    LMT_CHECK(list_result("U", "+OK\r\n1 ../../etc/passwd\r\n.\r\n") == LM_EAGAIN);
    LMT_CHECK(list_result("U1", "+OK 3 abc\r\n") == LM_EAGAIN);
    LMT_CHECK(list_result("U1", "+OK 2 abc\r\n") == LM_EPROTO);
    LMT_CHECK(list_result("U1", "-ERR no such message\r\n") == LM_EAGAIN);
}

static void test_pipelining_rules(void)
{
    lm_pop3 *p = logged_in("+OK\r\nPIPELINING\r\n.\r\n");
    lm_pop3_event ev;
    int i, rc = LM_OK;
    LMT_CHECK(lm_pop3_caps(p) & LM_POP3_CAP_PIPELINING);
    for (i = 0; i < 64 && rc == LM_OK; i++)
        rc = lm_pop3_cmd_noop(p);
    LMT_CHECK(rc == LM_OK && lm_pop3_outstanding(p) == 64);
    LMT_CHECK(lm_pop3_cmd_noop(p) == LM_ESTATE);
    for (i = 0; i < 64; i++)
        lm_pop3_feed(p, "+OK\r\n", 5);
    for (i = 0; i < 64; i++)
        LMT_CHECK(lm_pop3_next_event(p, &ev) == LM_OK && ev.cmd == LM_POP3_CMD_NOOP);
    LMT_CHECK(lm_pop3_next_event(p, &ev) == LM_EAGAIN);
    lm_pop3_free(p);
    LMT_CHECK(lmt_live == 0);
}

static void test_stls(void)
{
    lm_alloc a = lmt_alloc();
    lm_pop3 *p;
    lm_pop3_event ev;
    const char *why;
    /* injected response after the go-ahead */
    lm_pop3_new(&p, NULL, &a);
    feed_pull(p, "+OK\r\n", &ev);
    lm_pop3_cmd_capa(p);
    feed_pull(p, "+OK\r\nSTLS\r\nPIPELINING\r\n.\r\n", &ev);
    LMT_CHECK(lm_pop3_caps(p) == (LM_POP3_CAP_STLS | LM_POP3_CAP_PIPELINING));
    LMT_CHECK(lm_pop3_cmd_stls(p) == LM_OK);
    LMT_CHECK(lm_pop3_feed(p, "+OK Begin TLS\r\n-ERR injected\r\n", 30) == LM_OK);
    LMT_CHECK(lm_pop3_next_event(p, &ev) == LM_OK && ev.cmd == LM_POP3_CMD_STLS &&
              ev.type == LM_POP3_EV_OK);
    LMT_CHECK(lm_pop3_next_event(p, &ev) == LM_EAGAIN);
    LMT_CHECK(lm_pop3_cmd_user(p, "u", 1) == LM_ESTATE);
    LMT_CHECK(lm_pop3_stls_begin(p) == LM_EPROTO);
    LMT_CHECK(lm_pop3_error(p, &why, NULL) == LM_EPROTO && strstr(why, "STLS"));
    lm_pop3_free(p);
    /* clean go-ahead: capabilities are forgotten */
    lm_pop3_new(&p, NULL, &a);
    feed_pull(p, "+OK\r\n", &ev);
    lm_pop3_cmd_capa(p);
    feed_pull(p, "+OK\r\nSTLS\r\n.\r\n", &ev);
    LMT_CHECK(lm_pop3_stls_begin(p) == LM_ESTATE);
    lm_pop3_cmd_stls(p);
    LMT_CHECK(feed_pull(p, "+OK\r\n", &ev) == LM_EAGAIN);
    LMT_CHECK(lm_pop3_stls_begin(p) == LM_OK);
    LMT_CHECK(lm_pop3_caps(p) == 0 && lm_pop3_tls(p) == 1);
    LMT_CHECK(lm_pop3_cmd_stls(p) == LM_ESTATE);
    LMT_CHECK(lm_pop3_cmd_capa(p) == LM_OK);
    lm_pop3_free(p);
    LMT_CHECK(lmt_live == 0);
}

static void out_is(lm_pop3 *p, const char *want)
{
    const unsigned char *d;
    size_t n;
    lm_pop3_pending(p, &d, &n);
    LMT_CHECK(n == strlen(want) && memcmp(d, want, n) == 0);
    if (n != strlen(want) || memcmp(d, want, n) != 0)
        fprintf(stderr, "  got: %.*s\n  want: %s\n", (int)n, (const char *)d, want);
    lm_pop3_consume(p, n);
}

static void test_logins(void)
{
    lm_alloc a = lmt_alloc();
    lm_pop3 *p;
    lm_pop3_event ev;
    char token[400];
    /* RFC 1939 7 example */
    lm_pop3_new(&p, NULL, &a);
    feed_pull(p, "+OK POP3 server ready <1896.697170952@dbc.mtview.ca.us>\r\n", &ev);
    LMT_CHECK(lm_pop3_timestamp(p, NULL, NULL) == LM_POP3_TS_VALID);
    LMT_CHECK(lm_pop3_cmd_apop(p, "my name", 7, "tanstaaf", 8) == LM_EINVAL);
    LMT_CHECK(lm_pop3_cmd_apop(p, "mrose", 5, "tanstaaf", 8) == LM_OK);
    out_is(p, "APOP mrose c4c9334bac560ecc979e58001b3e22fb\r\n");
    feed_pull(p, "+OK maildrop has 1 message (369 octets)\r\n", &ev);
    LMT_CHECK(lm_pop3_state(p) == LM_POP3_ST_TRANSACTION);
    lm_pop3_free(p);
    /* a hostile timestamp: APOP is refused */
    lm_pop3_new(&p, NULL, &a);
    feed_pull(p, "+OK ready <a b@c>\r\n", &ev);
    LMT_CHECK(lm_pop3_timestamp(p, NULL, NULL) == LM_POP3_TS_MALFORMED);
    LMT_CHECK(lm_pop3_cmd_apop(p, "u", 1, "p", 1) == LM_ESTATE);
    /* RFC 2195 2 example through AUTH CRAM-MD5 */
    LMT_CHECK(lm_pop3_cmd_auth(p, "CRAM-MD5", NULL, 0, 0) == LM_OK);
    out_is(p, "AUTH CRAM-MD5\r\n");
    LMT_CHECK(lm_pop3_auth_reply(p, "x", 1) == LM_ESTATE);
    LMT_CHECK(lm_pop3_feed(p, "+ PDE4OTYuNjk3MTcwOTUyQHBvc3RvZmZpY2UucmVzdG9uLm1jaS5uZXQ+\r\n",
                           60) == LM_OK);
    LMT_CHECK(lm_pop3_next_event(p, &ev) == LM_OK && ev.type == LM_POP3_EV_CHALLENGE &&
              ev.len == 42 && memcmp(ev.text, "<1896.697170952@postoffice", 26) == 0);
    LMT_CHECK(lm_pop3_cmd_noop(p) == LM_ESTATE);
    LMT_CHECK(lm_pop3_auth_cram_md5(p, "tim", 3, "tanstaaftanstaaf", 16) == LM_OK);
    out_is(p, "dGltIGI5MTNhNjAyYzdlZGE3YTQ5NWI0ZTZlNzMzNGQzODkw\r\n");
    feed_pull(p, "-ERR [AUTH] bad\r\n", &ev);
    LMT_CHECK(lm_pop3_state(p) == LM_POP3_ST_AUTHORIZATION);
    /* PLAIN with its initial response on the line (RFC 4616 / 5034) */
    LMT_CHECK(lm_pop3_cmd_auth_plain(p, "", 0, "tim", 3, "tanstaaf", 8) == LM_OK);
    out_is(p, "AUTH PLAIN AHRpbQB0YW5zdGFhZg==\r\n");
    LMT_CHECK(lm_pop3_auth_cancel(p) == LM_ESTATE);
    feed_pull(p, "-ERR no\r\n", &ev);
    LMT_CHECK(lm_pop3_cmd_auth_plain(p, "", 0, "", 0, "x", 1) == LM_EINVAL);
    /* XOAUTH2 too long for the line: two steps */
    memset(token, 'T', sizeof token);
    LMT_CHECK(lm_pop3_cmd_auth_xoauth2(p, "u@x", 3, token, sizeof token) == LM_OK);
    out_is(p, "AUTH XOAUTH2\r\n");
    LMT_CHECK(feed_pull(p, "+ \r\n", &ev) == LM_EAGAIN);
    {
        const unsigned char *d;
        size_t n;
        lm_pop3_pending(p, &d, &n);
        LMT_CHECK(n == 566);
        LMT_CHECK(memcmp(d, "dXNlcj11QHgBYXV0aD1CZWFyZXIg", 28) == 0);
        LMT_CHECK(d[n - 2] == '\r' && d[n - 1] == '\n');
        lm_pop3_consume(p, n);
    }
    /* the server's error challenge is answered with an empty line */
    LMT_CHECK(lm_pop3_feed(p, "+ eyJzdGF0dXMiOiI0MDEifQ==\r\n", 28) == LM_OK);
    LMT_CHECK(lm_pop3_next_event(p, &ev) == LM_OK && ev.type == LM_POP3_EV_CHALLENGE &&
              ev.len == 16 && memcmp(ev.text, "{\"status\":\"401\"}", 16) == 0);
    LMT_CHECK(lm_pop3_auth_reply(p, "", 0) == LM_OK);
    out_is(p, "\r\n");
    feed_pull(p, "-ERR [AUTH] invalid token\r\n", &ev);
    /* short XOAUTH2 goes on the line */
    LMT_CHECK(lm_pop3_cmd_auth_xoauth2(p, "u", 1, "t", 1) == LM_OK);
    out_is(p, "AUTH XOAUTH2 dXNlcj11AWF1dGg9QmVhcmVyIHQBAQ==\r\n");
    /* a challenge that is not base64 */
    LMT_CHECK(feed_pull(p, "+ !!!\r\n", &ev) == LM_EPROTO);
    lm_pop3_free(p);
    /* a generic mechanism with an empty initial response */
    lm_pop3_new(&p, NULL, &a);
    feed_pull(p, "+OK\r\n", &ev);
    LMT_CHECK(lm_pop3_cmd_auth(p, "lower", NULL, 0, 0) == LM_EINVAL);
    LMT_CHECK(lm_pop3_cmd_auth(p, "EXTERNAL", "", 0, 1) == LM_OK);
    out_is(p, "AUTH EXTERNAL =\r\n");
    feed_pull(p, "+OK\r\n", &ev);
    LMT_CHECK(lm_pop3_state(p) == LM_POP3_ST_TRANSACTION);
    lm_pop3_free(p);
    LMT_CHECK(lmt_live == 0);
}

/* Every allocation failed in turn: ENOMEM comes back, nothing leaks. */
static void test_alloc_failures(void)
{
    int i;
    for (i = 1; i < 40; i++) {
        logbuf *l = malloc(sizeof *l);
        lmt_alloc_count = 0;
        lmt_fail_at = i;
        run_split(BASIC, strlen(BASIC), NULL, 0, react_basic, l, 1);
        LMT_CHECK(lmt_live == 0);
        free(l);
    }
    lmt_fail_at = 0;
}

static void test_limits(void)
{
    lm_alloc a = lmt_alloc();
    lm_pop3_opts o;
    lm_pop3 *p;
    lm_pop3_event ev;
    int rc, i;
    memset(&o, 0, sizeof o);
    o.max_body = 10;
    o.max_entries = 3;
    lm_pop3_new(&p, &o, &a);
    feed_pull(p, "+OK\r\n", &ev);
    lm_pop3_cmd_user(p, "u", 1);
    feed_pull(p, "+OK\r\n", &ev);
    lm_pop3_cmd_pass(p, "p", 1);
    feed_pull(p, "+OK\r\n", &ev);
    lm_pop3_cmd_list(p, 0);
    LMT_CHECK(feed_pull(p, "+OK\r\n1 1\r\n2 2\r\n3 3\r\n.\r\n", &ev) == LM_EAGAIN);
    lm_pop3_cmd_retr(p, 1);
    LMT_CHECK(feed_pull(p, "+OK\r\n0123456789\r\n.\r\n", &ev) == LM_ETOOLONG);
    lm_pop3_free(p);
    lm_pop3_new(&p, &o, &a);
    feed_pull(p, "+OK\r\n", &ev);
    lm_pop3_cmd_capa(p);
    LMT_CHECK(feed_pull(p, "+OK\r\nA\r\nB\r\nC\r\nD\r\n.\r\n", &ev) == LM_ETOOLONG);
    lm_pop3_free(p);
    /* input must be drained: max_buffered holds */
    lm_pop3_new(&p, NULL, &a);
    rc = LM_OK;
    for (i = 0; i < 40 && rc == LM_OK; i++) {
        static char chunk[65536];
        rc = lm_pop3_feed(p, chunk, sizeof chunk);
    }
    LMT_CHECK(rc == LM_ETOOLONG);
    lm_pop3_free(p);
    LMT_CHECK(lmt_live == 0);
}

/* A 1 GiB body (64 MiB under valgrind) through RETR in bounded memory. */
static void test_huge_body(void)
{
    const long long total = getenv("LMAIL_VALGRIND") ? 64LL << 20 : 1LL << 30;
    static char chunk[65536];
    lm_pop3 *p;
    lm_pop3_event ev;
    long long fed = 0, got = 0;
    size_t i;
    int rc = LM_OK, ended = 0;
    for (i = 0; i < sizeof chunk; i += 64) {
        memset(chunk + i, 'a' + (int)(i / 64 % 26), 62);
        chunk[i] = '.'; /* every line is stuffed: the reader works on each */
        chunk[i + 1] = '.';
        chunk[i + 62] = '\r';
        chunk[i + 63] = '\n';
    }
    p = logged_in(NULL);
    lmt_peak_bytes = lmt_live_bytes;
    lm_pop3_cmd_retr(p, 1);
    lm_pop3_feed(p, "+OK\r\n", 5);
    LMT_CHECK(lm_pop3_next_event(p, &ev) == LM_OK && ev.multi);
    while (fed < total && rc == LM_OK) {
        rc = lm_pop3_feed(p, chunk, sizeof chunk);
        fed += (long long)sizeof chunk;
        while ((rc = lm_pop3_next_event(p, &ev)) == LM_OK)
            got += (long long)ev.len;
        if (rc == LM_EAGAIN)
            rc = LM_OK;
    }
    lm_pop3_feed(p, ".\r\n", 3);
    while (lm_pop3_next_event(p, &ev) == LM_OK)
        if (ev.type == LM_POP3_EV_END)
            ended = 1;
        else
            got += (long long)ev.len;
    LMT_CHECK(rc == LM_OK && ended);
    LMT_CHECK(got == total / 64 * 63);
    LMT_CHECK(lmt_peak_bytes < (4L << 20));
    lm_pop3_free(p);
    LMT_CHECK(lmt_live == 0);
}

int main(void)
{
    LMT_RUN(test_status);
    LMT_RUN(test_numbers);
    LMT_RUN(test_timestamp);
    LMT_RUN(test_capa_mech);
    LMT_RUN(test_dialogue);
    LMT_RUN(test_states);
    LMT_RUN(test_hostile);
    LMT_RUN(test_hostile_lists);
    LMT_RUN(test_pipelining_rules);
    LMT_RUN(test_stls);
    LMT_RUN(test_logins);
    LMT_RUN(test_alloc_failures);
    LMT_RUN(test_limits);
    LMT_RUN(test_huge_body);
    return lmt_report("pop3");
}
