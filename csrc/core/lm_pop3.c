/* lm_pop3.c: the POP3 client engine (lm_pop3.h): states, the queue of
 * outstanding commands, response framing and the commands themselves.
 * The syntax of single lines lives in lm_pop3_parse.c. */
#include "lm_pop3.h"

#include <string.h>

#include "lm_b64.h"
#include "lm_buf.h"
#include "lm_dot.h"
#include "lm_line.h"
#include "lm_md5.h"
#include "lm_sasl.h"

/* What the engine is reading. */
enum {
    P_STATUS,    /* a status line (or a challenge during AUTH) */
    P_LINES,     /* the lines of LIST, UIDL or CAPA */
    P_BODY,      /* the body of RETR or TOP, through lm_dot */
    P_CHALLENGE, /* a challenge was handed out; waiting for its answer */
    P_STLS       /* the +OK to STLS was handed out; waiting for stls_begin */
};

typedef struct pending_cmd {
    int cmd;
    uint64_t num; /* message number, 0 for none */
} pending_cmd;

struct lm_pop3 {
    lm_alloc a;
    lm_pop3_opts o;
    lm_line in;
    lm_buf out;
    lm_buf held;          /* a deferred AUTH initial response line (secret) */
    lm_buf chal;          /* the last challenge, decoded */
    unsigned char *chunk; /* LM_DOT_UNSTUFF_BOUND(LM_POP3_CHUNK) bytes */
    int state;            /* LM_POP3_ST_*: changed only by set_state */
    int phase;            /* P_* */
    int err;              /* sticky error or LM_OK */
    const char *why;      /* its reason */
    const char *refusal;  /* why the last command was refused */
    uint64_t in_off;      /* input bytes consumed */
    uint64_t err_off;
    pending_cmd q[LM_POP3_QUEUE_MAX];
    unsigned qhead, qlen;
    lm_dot_unstuffer dot;
    uint64_t body;        /* body bytes of the current RETR/TOP */
    uint64_t entries;     /* lines of the current list */
    uint64_t last_num;    /* last message number of the current list */
    int body_done;        /* the body's "." line was read: END comes next */
    unsigned caps;
    int tls;
    int user_ok;          /* USER was accepted: PASS may follow */
    int out_secret;       /* out holds a credential: wipe once sent */
    int ts_state;
    size_t ts_len;
    char ts[LM_POP3_TIMESTAMP_MAX];
};

void lm_pop3_opts_default(lm_pop3_opts *o)
{
    o->max_line = 8192;
    o->max_buffered = 1u << 20;
    o->max_body = (uint64_t)4 << 30;
    o->max_entries = 10000000;
    o->max_pipeline = 64;
}

static void fill_opts(lm_pop3_opts *o, const lm_pop3_opts *given)
{
    lm_pop3_opts_default(o);
    if (!given)
        return;
    if (given->max_line)
        o->max_line = given->max_line < 64 ? 64 : given->max_line;
    if (given->max_buffered)
        o->max_buffered = given->max_buffered;
    if (o->max_buffered < o->max_line + LM_POP3_CHUNK)
        o->max_buffered = o->max_line + LM_POP3_CHUNK;
    if (given->max_body)
        o->max_body = given->max_body;
    if (given->max_entries)
        o->max_entries = given->max_entries;
    if (given->max_pipeline)
        o->max_pipeline = given->max_pipeline > LM_POP3_QUEUE_MAX ? LM_POP3_QUEUE_MAX
                                                                  : given->max_pipeline;
}

int lm_pop3_new(lm_pop3 **pp, const lm_pop3_opts *o, const lm_alloc *a)
{
    lm_pop3 *p = lm_malloc(a, sizeof *p);
    int rc = LM_OK;
    *pp = NULL;
    if (!p)
        return LM_ENOMEM;
    memset(p, 0, sizeof *p);
    p->a = *a;
    fill_opts(&p->o, o);
    p->chunk = lm_malloc(a, LM_DOT_UNSTUFF_BOUND(LM_POP3_CHUNK));
    if (!p->chunk) {
        lm_free(a, p, sizeof *p);
        return LM_ENOMEM;
    }
    lm_line_init(&p->in, a, p->o.max_line, p->o.max_buffered);
    lm_buf_init(&p->out, a, (size_t)1 << 24);
    lm_buf_init(&p->held, a, (size_t)1 << 20);
    lm_buf_init(&p->chal, a, (size_t)1 << 20);
    /* Room for the credential lines up front, so they are not copied by a
     * reallocation that would leave them behind in freed memory. */
    if (!lm_buf_reserve(&p->out, 4096, &rc)) {
        lm_pop3_free(p);
        return rc;
    }
    lm_dot_unstuff_init(&p->dot);
    p->why = "";
    p->refusal = "";
    *pp = p;
    return LM_OK;
}

void lm_pop3_free(lm_pop3 *p)
{
    if (!p)
        return;
    lm_buf_wipe(&p->out);
    lm_buf_wipe(&p->held);
    lm_buf_free(&p->out);
    lm_buf_free(&p->held);
    lm_buf_free(&p->chal);
    lm_line_free(&p->in);
    lm_free(&p->a, p->chunk, LM_DOT_UNSTUFF_BOUND(LM_POP3_CHUNK));
    lm_free(&p->a, p, sizeof *p);
}

/* ---- small helpers ---- */

static int fail(lm_pop3 *p, int rc, const char *why)
{
    if (p->err == LM_OK) {
        p->err = rc;
        p->why = why;
        p->err_off = p->in_off;
    }
    return p->err;
}

/* The one place the state changes (RFC 1939 3). */
static void set_state(lm_pop3 *p, int state)
{
    p->state = state;
    if (state != LM_POP3_ST_AUTHORIZATION)
        p->user_ok = 0;
}

static pending_cmd *head(lm_pop3 *p)
{
    return p->qlen ? &p->q[p->qhead] : NULL;
}

static void pop_cmd(lm_pop3 *p)
{
    p->qhead = (p->qhead + 1) % LM_POP3_QUEUE_MAX;
    p->qlen--;
}

static void wipe(void *s, size_t n)
{
    volatile unsigned char *v = s;
    while (n--)
        *v++ = 0;
}

static int ieq(const char *s, size_t n, const char *lit)
{
    size_t i;
    if (strlen(lit) != n)
        return 0;
    for (i = 0; i < n; i++) {
        char c = s[i];
        if (c >= 'a' && c <= 'z')
            c = (char)(c - 'a' + 'A');
        if (c != lit[i])
            return 0;
    }
    return 1;
}

const char *lm_pop3_state_name(int state)
{
    static const char *const names[] = {"GREETING", "AUTHORIZATION", "TRANSACTION",
                                        "UPDATE", "CLOSED"};
    return state >= 0 && state <= LM_POP3_ST_CLOSED ? names[state] : "?";
}

const char *lm_pop3_cmd_name(int cmd)
{
    static const char *const names[] = {"greeting", "CAPA", "STLS", "USER", "PASS", "APOP",
                                        "AUTH", "STAT", "LIST", "UIDL", "RETR", "TOP",
                                        "DELE", "RSET", "NOOP", "QUIT"};
    return cmd >= 0 && cmd < LM_POP3_CMD_COUNT_ ? names[cmd] : "?";
}

/* ---- accessors ---- */

int lm_pop3_state(const lm_pop3 *p)
{
    return p->state;
}

unsigned lm_pop3_outstanding(const lm_pop3 *p)
{
    return p->qlen;
}

unsigned lm_pop3_caps(const lm_pop3 *p)
{
    return p->caps;
}

int lm_pop3_tls(const lm_pop3 *p)
{
    return p->tls;
}

int lm_pop3_timestamp(const lm_pop3 *p, const char **ts, size_t *n)
{
    if (p->ts_state == LM_POP3_TS_VALID) {
        if (ts)
            *ts = p->ts;
        if (n)
            *n = p->ts_len;
    }
    return p->ts_state;
}

int lm_pop3_error(const lm_pop3 *p, const char **why, uint64_t *offset)
{
    if (why)
        *why = p->why;
    if (offset)
        *offset = p->err_off;
    return p->err;
}

const char *lm_pop3_refusal(const lm_pop3 *p)
{
    return p->refusal;
}

/* ---- output ---- */

void lm_pop3_pending(const lm_pop3 *p, const unsigned char **data, size_t *n)
{
    *data = lm_buf_data(&p->out);
    *n = lm_buf_size(&p->out);
}

void lm_pop3_consume(lm_pop3 *p, size_t n)
{
    size_t have = lm_buf_size(&p->out);
    lm_buf_consume(&p->out, n < have ? n : have);
    if (p->out_secret && lm_buf_size(&p->out) == 0) {
        lm_buf_wipe(&p->out);
        p->out_secret = 0;
    }
}

static int emit(lm_pop3 *p, const void *line, size_t n, int secret)
{
    int rc = lm_buf_append(&p->out, line, n);
    if (rc == LM_OK && secret)
        p->out_secret = 1;
    return rc;
}

/* Base64 of data and CRLF (an empty line for no data) into b. */
static int emit_b64(lm_buf *b, const void *data, size_t n)
{
    size_t len = 0;
    int rc = LM_OK;
    char *w;
    if (n > ((size_t)1 << 24))
        return LM_ETOOLONG;
    w = (char *)lm_buf_reserve(b, LM_B64_ENCODE_BOUND(n, 0) + 2, &rc);
    if (!w)
        return rc;
    if (n)
        lm_b64_encode(data, n, 0, w, &len);
    memcpy(w + len, "\r\n", 2);
    lm_buf_commit(b, len + 2);
    return LM_OK;
}

/* A command line under construction (RFC 2449 4: at most 255 octets). */
typedef struct cmdline {
    char s[LM_POP3_CMD_MAX];
    size_t n;
    int over;
} cmdline;

static void cl_put(cmdline *c, const void *s, size_t n)
{
    if (c->over || n > sizeof c->s - c->n) {
        c->over = 1;
        return;
    }
    memcpy(c->s + c->n, s, n);
    c->n += n;
}

static void cl_str(cmdline *c, const char *s)
{
    cl_put(c, s, strlen(s));
}

static void cl_num(cmdline *c, uint64_t v)
{
    char rev[24], out[24];
    int k = 0, i;
    do {
        rev[k++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    for (i = 0; i < k; i++)
        out[i] = rev[k - 1 - i];
    cl_put(c, out, (size_t)k);
}

/* ---- command admission ---- */

#define IN_AUTH (1u << LM_POP3_ST_AUTHORIZATION)
#define IN_TRANS (1u << LM_POP3_ST_TRANSACTION)

/* RFC 1939 4-6, RFC 2449 5 (CAPA in both), RFC 2595 4 (STLS). */
static const unsigned allowed_in[LM_POP3_CMD_COUNT_] = {
    0,                  /* greeting */
    IN_AUTH | IN_TRANS, /* CAPA */
    IN_AUTH,            /* STLS */
    IN_AUTH,            /* USER */
    IN_AUTH,            /* PASS */
    IN_AUTH,            /* APOP */
    IN_AUTH,            /* AUTH */
    IN_TRANS,           /* STAT */
    IN_TRANS,           /* LIST */
    IN_TRANS,           /* UIDL */
    IN_TRANS,           /* RETR */
    IN_TRANS,           /* TOP */
    IN_TRANS,           /* DELE */
    IN_TRANS,           /* RSET */
    IN_TRANS,           /* NOOP */
    IN_AUTH | IN_TRANS, /* QUIT */
};

static int refuse(lm_pop3 *p, int rc, const char *why)
{
    p->refusal = why;
    return rc;
}

/* May cmd be queued now? */
static int admit(lm_pop3 *p, int cmd)
{
    if (p->err)
        return p->err;
    if (p->phase == P_CHALLENGE)
        return refuse(p, LM_ESTATE, "an AUTH challenge is waiting for its answer");
    if (p->phase == P_STLS)
        return refuse(p, LM_ESTATE, "the STLS go-ahead is waiting for the TLS handshake");
    if (!(allowed_in[cmd] & (1u << p->state)))
        return refuse(p, LM_ESTATE, "command not allowed in the current state");
    if (p->qlen) {
        if (p->state != LM_POP3_ST_TRANSACTION || !(p->caps & LM_POP3_CAP_PIPELINING))
            return refuse(p, LM_ESTATE,
                          "a response is outstanding and pipelining is not available");
        if (p->qlen >= p->o.max_pipeline)
            return refuse(p, LM_ESTATE, "too many commands outstanding");
    }
    if (cmd == LM_POP3_CMD_STLS && p->tls)
        return refuse(p, LM_ESTATE, "TLS is already active");
    if (cmd == LM_POP3_CMD_PASS && !p->user_ok)
        return refuse(p, LM_ESTATE, "PASS needs an accepted USER first");
    if (cmd == LM_POP3_CMD_APOP && p->ts_state != LM_POP3_TS_VALID)
        return refuse(p, LM_ESTATE, "the greeting holds no valid APOP timestamp");
    return LM_OK;
}

static void push_cmd(lm_pop3 *p, int cmd, uint64_t num)
{
    pending_cmd *c = &p->q[(p->qhead + p->qlen) % LM_POP3_QUEUE_MAX];
    c->cmd = cmd;
    c->num = num;
    p->qlen++;
    if (cmd == LM_POP3_CMD_QUIT)
        set_state(p, p->state == LM_POP3_ST_TRANSACTION ? LM_POP3_ST_UPDATE
                                                        : LM_POP3_ST_CLOSED);
}

/* Queues a finished command line (or refuses an overlong one). */
static int send_line(lm_pop3 *p, int cmd, uint64_t num, cmdline *c, int secret)
{
    int rc;
    cl_put(c, "\r\n", 2);
    if (c->over) {
        wipe(c->s, sizeof c->s);
        return refuse(p, LM_ETOOLONG, "command line longer than 255 octets");
    }
    rc = emit(p, c->s, c->n, secret);
    wipe(c->s, sizeof c->s);
    if (rc != LM_OK)
        return fail(p, rc, "cannot queue the command (output buffer)");
    push_cmd(p, cmd, num);
    return LM_OK;
}

static int simple(lm_pop3 *p, int cmd, const char *verb)
{
    cmdline c = {{0}, 0, 0};
    int rc = admit(p, cmd);
    if (rc != LM_OK)
        return rc;
    cl_str(&c, verb);
    return send_line(p, cmd, 0, &c, 0);
}

static int with_number(lm_pop3 *p, int cmd, const char *verb, uint64_t n, int optional)
{
    cmdline c = {{0}, 0, 0};
    int rc = admit(p, cmd);
    if (rc != LM_OK)
        return rc;
    if ((n == 0 && !optional) || n > LM_POP3_MAX_NUMBER)
        return refuse(p, LM_EINVAL, "message number out of range");
    cl_str(&c, verb);
    if (n) {
        cl_str(&c, " ");
        cl_num(&c, n);
    }
    return send_line(p, cmd, n, &c, 0);
}

/* ---- commands ---- */

int lm_pop3_cmd_capa(lm_pop3 *p)
{
    return simple(p, LM_POP3_CMD_CAPA, "CAPA");
}

int lm_pop3_cmd_stls(lm_pop3 *p)
{
    return simple(p, LM_POP3_CMD_STLS, "STLS");
}

int lm_pop3_cmd_stat(lm_pop3 *p)
{
    return simple(p, LM_POP3_CMD_STAT, "STAT");
}

int lm_pop3_cmd_rset(lm_pop3 *p)
{
    return simple(p, LM_POP3_CMD_RSET, "RSET");
}

int lm_pop3_cmd_noop(lm_pop3 *p)
{
    return simple(p, LM_POP3_CMD_NOOP, "NOOP");
}

int lm_pop3_cmd_quit(lm_pop3 *p)
{
    return simple(p, LM_POP3_CMD_QUIT, "QUIT");
}

int lm_pop3_cmd_list(lm_pop3 *p, uint64_t n)
{
    return with_number(p, LM_POP3_CMD_LIST, "LIST", n, 1);
}

int lm_pop3_cmd_uidl(lm_pop3 *p, uint64_t n)
{
    return with_number(p, LM_POP3_CMD_UIDL, "UIDL", n, 1);
}

int lm_pop3_cmd_retr(lm_pop3 *p, uint64_t n)
{
    return with_number(p, LM_POP3_CMD_RETR, "RETR", n, 0);
}

int lm_pop3_cmd_dele(lm_pop3 *p, uint64_t n)
{
    return with_number(p, LM_POP3_CMD_DELE, "DELE", n, 0);
}

int lm_pop3_cmd_top(lm_pop3 *p, uint64_t n, uint64_t lines)
{
    cmdline c = {{0}, 0, 0};
    int rc = admit(p, LM_POP3_CMD_TOP);
    if (rc != LM_OK)
        return rc;
    if (n == 0 || n > LM_POP3_MAX_NUMBER || lines > LM_POP3_MAX_NUMBER)
        return refuse(p, LM_EINVAL, "message number or line count out of range");
    cl_str(&c, "TOP ");
    cl_num(&c, n);
    cl_str(&c, " ");
    cl_num(&c, lines);
    return send_line(p, LM_POP3_CMD_TOP, n, &c, 0);
}

int lm_pop3_cmd_user(lm_pop3 *p, const char *name, size_t n)
{
    cmdline c = {{0}, 0, 0};
    int rc = admit(p, LM_POP3_CMD_USER);
    if (rc != LM_OK)
        return rc;
    if (lm_sasl_check_text(name, n) != LM_OK)
        return refuse(p, LM_EINVAL, "user name is empty or contains CR, LF or NUL");
    cl_str(&c, "USER ");
    cl_put(&c, name, n);
    return send_line(p, LM_POP3_CMD_USER, 0, &c, 1);
}

int lm_pop3_cmd_pass(lm_pop3 *p, const char *pass, size_t n)
{
    cmdline c = {{0}, 0, 0};
    int rc = admit(p, LM_POP3_CMD_PASS);
    if (rc != LM_OK)
        return rc;
    if (lm_sasl_check_text(pass, n) != LM_OK)
        return refuse(p, LM_EINVAL, "password is empty or contains CR, LF or NUL");
    cl_str(&c, "PASS ");
    cl_put(&c, pass, n);
    return send_line(p, LM_POP3_CMD_PASS, 0, &c, 1);
}

int lm_pop3_cmd_apop(lm_pop3 *p, const char *name, size_t n, const char *secret, size_t sn)
{
    static const char hex[] = "0123456789abcdef";
    cmdline c = {{0}, 0, 0};
    unsigned char d[LM_MD5_DIGEST_LEN];
    char digest[2 * LM_MD5_DIGEST_LEN];
    lm_md5_ctx m;
    int i, rc = admit(p, LM_POP3_CMD_APOP);
    if (rc != LM_OK)
        return rc;
    /* The name is followed by SP and the digest, so it cannot hold one. */
    if (lm_sasl_check_text(name, n) != LM_OK || memchr(name, ' ', n))
        return refuse(p, LM_EINVAL, "user name is empty or contains SP, CR, LF or NUL");
    if (lm_sasl_check_text(secret, sn) != LM_OK)
        return refuse(p, LM_EINVAL, "password is empty or contains CR, LF or NUL");
    lm_md5_init(&m);
    lm_md5_update(&m, p->ts, p->ts_len);
    lm_md5_update(&m, secret, sn);
    lm_md5_final(&m, d);
    wipe(&m, sizeof m);
    for (i = 0; i < LM_MD5_DIGEST_LEN; i++) {
        digest[2 * i] = hex[d[i] >> 4];
        digest[2 * i + 1] = hex[d[i] & 15];
    }
    cl_str(&c, "APOP ");
    cl_put(&c, name, n);
    cl_str(&c, " ");
    cl_put(&c, digest, sizeof digest);
    wipe(d, sizeof d);
    wipe(digest, sizeof digest);
    return send_line(p, LM_POP3_CMD_APOP, 0, &c, 1);
}

int lm_pop3_cmd_auth(lm_pop3 *p, const char *mech, const void *ir, size_t irn, int has_ir)
{
    size_t mn = strlen(mech), b64n;
    cmdline c = {{0}, 0, 0};
    int rc = admit(p, LM_POP3_CMD_AUTH);
    if (rc != LM_OK)
        return rc;
    if (lm_pop3_check_mech(mech, mn) != LM_OK)
        return refuse(p, LM_EINVAL, "not a SASL mechanism name");
    if (has_ir && irn > ((size_t)1 << 16))
        return refuse(p, LM_ETOOLONG, "initial response too long");
    b64n = !has_ir ? 0 : irn ? lm_b64_encoded_len(irn, 0) : 1;
    lm_buf_wipe(&p->held);
    cl_str(&c, "AUTH ");
    cl_put(&c, mech, mn);
    if (has_ir && c.n + 1 + b64n + 2 <= LM_POP3_CMD_MAX) {
        /* RFC 5034 4: the initial response on the command line; "=" for an
         * empty one. */
        cl_str(&c, irn ? " " : " =\r\n");
        rc = emit(p, c.s, c.n, 1);
        if (rc == LM_OK && irn)
            rc = emit_b64(&p->out, ir, irn);
    } else {
        /* Too long for the 255-octet line: sent on the first challenge. */
        cl_str(&c, "\r\n");
        rc = has_ir ? emit_b64(&p->held, ir, irn) : LM_OK;
        if (rc == LM_OK)
            rc = emit(p, c.s, c.n, 1);
    }
    if (rc != LM_OK)
        return fail(p, rc, "cannot queue the command (output buffer)");
    push_cmd(p, LM_POP3_CMD_AUTH, 0);
    return LM_OK;
}

/* Runs a lm_sasl builder into scratch memory, then AUTH with the result. */
typedef int (*sasl_build)(const void *args, unsigned char *out, size_t cap, size_t *outlen);

static int auth_built(lm_pop3 *p, const char *mech, size_t bound, sasl_build build,
                      const void *args)
{
    unsigned char *buf;
    size_t len = 0;
    int rc = admit(p, LM_POP3_CMD_AUTH);
    if (rc != LM_OK)
        return rc;
    if (bound > ((size_t)1 << 16))
        return refuse(p, LM_ETOOLONG, "credentials too long");
    buf = lm_malloc(&p->a, bound);
    if (!buf)
        return LM_ENOMEM;
    rc = build(args, buf, bound, &len);
    if (rc == LM_OK)
        rc = lm_pop3_cmd_auth(p, mech, buf, len, 1);
    else
        p->refusal = "credentials the mechanism cannot carry (empty, NUL, control bytes)";
    wipe(buf, bound);
    lm_free(&p->a, buf, bound);
    return rc;
}

typedef struct sasl_args {
    const char *a, *b, *c, *d;
    size_t an, bn, cn, dn;
    unsigned port;
} sasl_args;

static int build_plain(const void *v, unsigned char *out, size_t cap, size_t *len)
{
    const sasl_args *s = v;
    return lm_sasl_plain(s->a, s->an, s->b, s->bn, s->c, s->cn, out, cap, len);
}

static int build_xoauth2(const void *v, unsigned char *out, size_t cap, size_t *len)
{
    const sasl_args *s = v;
    return lm_sasl_xoauth2(s->a, s->an, s->b, s->bn, out, cap, len);
}

static int build_oauthbearer(const void *v, unsigned char *out, size_t cap, size_t *len)
{
    const sasl_args *s = v;
    return lm_sasl_oauthbearer(s->a, s->an, s->b, s->bn, s->port, s->c, s->cn, out, cap, len);
}

int lm_pop3_cmd_auth_plain(lm_pop3 *p, const char *authzid, size_t azn, const char *user,
                           size_t un, const char *pass, size_t pn)
{
    sasl_args s = {authzid, user, pass, NULL, azn, un, pn, 0, 0};
    if (azn > 4096 || un > 4096 || pn > 4096)
        return refuse(p, LM_ETOOLONG, "credentials too long");
    return auth_built(p, "PLAIN", LM_SASL_PLAIN_BOUND(azn, un, pn), build_plain, &s);
}

int lm_pop3_cmd_auth_xoauth2(lm_pop3 *p, const char *user, size_t un, const char *token,
                             size_t tn)
{
    sasl_args s = {user, token, NULL, NULL, un, tn, 0, 0, 0};
    if (un > 4096 || tn > 32768)
        return refuse(p, LM_ETOOLONG, "credentials too long");
    return auth_built(p, "XOAUTH2", LM_SASL_XOAUTH2_BOUND(un, tn), build_xoauth2, &s);
}

int lm_pop3_cmd_auth_oauthbearer(lm_pop3 *p, const char *user, size_t un, const char *host,
                                 size_t hn, unsigned port, const char *token, size_t tn)
{
    sasl_args s = {user, host, token, NULL, un, hn, tn, 0, port};
    if (un > 4096 || hn > 1024 || tn > 32768)
        return refuse(p, LM_ETOOLONG, "credentials too long");
    return auth_built(p, "OAUTHBEARER", LM_SASL_OAUTHBEARER_BOUND(un, hn, tn),
                      build_oauthbearer, &s);
}

static int admit_answer(lm_pop3 *p)
{
    if (p->err)
        return p->err;
    if (p->phase != P_CHALLENGE)
        return refuse(p, LM_ESTATE, "no AUTH challenge is waiting for an answer");
    return LM_OK;
}

int lm_pop3_auth_reply(lm_pop3 *p, const void *data, size_t n)
{
    int rc = admit_answer(p);
    if (rc != LM_OK)
        return rc;
    rc = emit_b64(&p->out, data, n);
    if (rc != LM_OK)
        return refuse(p, rc, "answer too long");
    p->out_secret = 1;
    p->phase = P_STATUS;
    return LM_OK;
}

int lm_pop3_auth_cram_md5(lm_pop3 *p, const char *user, size_t un, const char *pass,
                          size_t pn)
{
    unsigned char buf[LM_SASL_CRAM_MD5_BOUND(512)];
    size_t len = 0;
    int rc = admit_answer(p);
    if (rc != LM_OK)
        return rc;
    if (un > 512)
        return refuse(p, LM_ETOOLONG, "user name too long");
    rc = lm_sasl_cram_md5(user, un, pass, pn, (const char *)lm_buf_data(&p->chal),
                          lm_buf_size(&p->chal), buf, sizeof buf, &len);
    if (rc != LM_OK) {
        wipe(buf, sizeof buf);
        return refuse(p, rc, "user name is empty or contains control bytes");
    }
    rc = lm_pop3_auth_reply(p, buf, len);
    wipe(buf, sizeof buf);
    return rc;
}

int lm_pop3_auth_cancel(lm_pop3 *p)
{
    int rc = admit_answer(p);
    if (rc != LM_OK)
        return rc;
    rc = emit(p, "*\r\n", 3, 0);
    if (rc == LM_OK)
        p->phase = P_STATUS;
    return rc;
}

int lm_pop3_stls_begin(lm_pop3 *p)
{
    if (p->err)
        return p->err;
    if (p->phase != P_STLS)
        return refuse(p, LM_ESTATE, "no STLS go-ahead to act on");
    /* RFC 2595 4 / RFC 3207 4: nothing may be taken from before the
     * handshake; bytes already here were injected or are an attack. */
    if (lm_line_buffered(&p->in) > 0)
        return fail(p, LM_EPROTO, "bytes received after the STLS go-ahead, before TLS");
    lm_line_clear(&p->in);
    p->caps = 0;
    p->tls = 1;
    p->phase = P_STATUS;
    return LM_OK;
}

/* ---- input ---- */

int lm_pop3_feed(lm_pop3 *p, const void *data, size_t n)
{
    int rc;
    if (p->err)
        return p->err;
    rc = lm_line_feed(&p->in, data, n);
    if (rc == LM_ETOOLONG)
        return fail(p, rc, "too much unread input buffered");
    if (rc != LM_OK)
        return fail(p, rc, "out of memory");
    return LM_OK;
}

int lm_pop3_eof(lm_pop3 *p)
{
    if (p->err)
        return p->err;
    if (p->state == LM_POP3_ST_GREETING)
        return fail(p, LM_ECLOSED, "connection closed before the greeting");
    if (p->phase == P_BODY)
        return fail(p, LM_ECLOSED, "connection closed inside a multi-line response "
                                   "(before its terminating \".\" line)");
    if (p->qlen || p->phase != P_STATUS)
        return fail(p, LM_ECLOSED, "connection closed before the response was complete");
    return LM_OK;
}

/* The next CRLF line; LM_EAGAIN, or a sticky error. */
static int next_line(lm_pop3 *p, const char **line, size_t *len)
{
    int bare = 0;
    int rc = lm_line_next(&p->in, line, len, &bare);
    if (rc == LM_EAGAIN)
        return rc;
    if (rc == LM_ETOOLONG)
        return fail(p, rc, "response line longer than max_line");
    if (rc != LM_OK)
        return fail(p, rc, "line framing failed");
    if (bare)
        return fail(p, LM_EPROTO, "response line ended by a bare LF (RFC 1939 3: CRLF)");
    p->in_off += *len + 2;
    return LM_OK;
}

static void event_status(lm_pop3_event *ev, int type, int cmd, const lm_pop3_status *st)
{
    ev->type = type;
    ev->cmd = cmd;
    ev->text = st->text;
    ev->len = st->len;
    ev->code = st->code;
    ev->code_len = st->code_len;
}

static int greeting(lm_pop3 *p, const lm_pop3_status *st, lm_pop3_event *ev)
{
    const char *ts = NULL;
    size_t tn = 0;
    event_status(ev, st->kind, LM_POP3_CMD_GREETING, st);
    if (st->kind != LM_POP3_EV_OK) {
        if (st->kind != LM_POP3_EV_ERR)
            return fail(p, LM_EPROTO, "greeting is not +OK or -ERR");
        set_state(p, LM_POP3_ST_CLOSED);
        return LM_OK;
    }
    p->ts_state = lm_pop3_find_timestamp(st->text, st->len, &ts, &tn);
    if (p->ts_state == LM_POP3_TS_VALID) {
        memcpy(p->ts, ts, tn);
        p->ts_len = tn;
    }
    set_state(p, LM_POP3_ST_AUTHORIZATION);
    return LM_OK;
}

/* A challenge during AUTH (RFC 5034 4). */
static int challenge(lm_pop3 *p, const lm_pop3_status *st, lm_pop3_event *ev)
{
    size_t len = 0;
    int rc = LM_OK;
    unsigned char *w;
    if (lm_buf_size(&p->held)) {
        /* The server's empty challenge calls for the deferred response. */
        rc = lm_buf_append(&p->out, lm_buf_data(&p->held), lm_buf_size(&p->held));
        lm_buf_wipe(&p->held);
        if (rc != LM_OK)
            return fail(p, rc, "out of memory");
        p->out_secret = 1;
        return LM_EAGAIN;
    }
    lm_buf_clear(&p->chal);
    w = lm_buf_reserve(&p->chal, LM_B64_DECODE_BOUND(st->len), &rc);
    if (!w)
        return fail(p, rc, "AUTH challenge too long");
    if (lm_b64_decode(st->text, st->len, 1, w, &len, NULL) != LM_OK)
        return fail(p, LM_EPROTO, "AUTH challenge is not valid base64");
    lm_buf_commit(&p->chal, len);
    ev->type = LM_POP3_EV_CHALLENGE;
    ev->cmd = LM_POP3_CMD_AUTH;
    ev->text = (const char *)lm_buf_data(&p->chal);
    ev->len = len;
    p->phase = P_CHALLENGE;
    return LM_OK;
}

static int answered_err(lm_pop3 *p, pending_cmd *h, const lm_pop3_status *st,
                        lm_pop3_event *ev)
{
    event_status(ev, LM_POP3_EV_ERR, h->cmd, st);
    switch (h->cmd) {
    case LM_POP3_CMD_USER:
    case LM_POP3_CMD_PASS:
        p->user_ok = 0;
        break;
    case LM_POP3_CMD_AUTH:
        lm_buf_wipe(&p->held);
        break;
    case LM_POP3_CMD_QUIT:
        set_state(p, LM_POP3_ST_CLOSED);
        break;
    default:
        break;
    }
    pop_cmd(p);
    return LM_OK;
}

/* Starts reading the multi-line part of h's response. */
static void begin_multi(lm_pop3 *p, pending_cmd *h, lm_pop3_event *ev)
{
    ev->multi = 1;
    p->entries = 0;
    p->last_num = 0;
    if (h->cmd == LM_POP3_CMD_RETR || h->cmd == LM_POP3_CMD_TOP) {
        p->phase = P_BODY;
        p->body = 0;
        p->body_done = 0;
        lm_dot_unstuff_init(&p->dot);
    } else {
        p->phase = P_LINES;
        if (h->cmd == LM_POP3_CMD_CAPA)
            p->caps = 0;
    }
}

/* The +OK of a single-line LIST n / UIDL n / STAT carries data. */
static int ok_data(lm_pop3 *p, pending_cmd *h, lm_pop3_event *ev)
{
    if (h->cmd == LM_POP3_CMD_STAT) {
        if (lm_pop3_parse_pair(ev->text, ev->len, 1, &ev->num, &ev->size, &ev->arg,
                               &ev->arg_len) != LM_OK)
            return fail(p, LM_EPROTO, "malformed STAT response");
    } else if (h->cmd == LM_POP3_CMD_LIST) {
        if (lm_pop3_parse_pair(ev->text, ev->len, 1, &ev->num, &ev->size, &ev->arg,
                               &ev->arg_len) != LM_OK)
            return fail(p, LM_EPROTO, "malformed LIST response");
        if (ev->num != h->num)
            return fail(p, LM_EPROTO, "LIST response names another message");
    } else {
        if (lm_pop3_parse_uid_line(ev->text, ev->len, &ev->num, &ev->arg, &ev->arg_len) !=
            LM_OK)
            return fail(p, LM_EPROTO, "malformed UIDL response (or an invalid UID)");
        if (ev->num != h->num)
            return fail(p, LM_EPROTO, "UIDL response names another message");
    }
    return LM_OK;
}

static int answered_ok(lm_pop3 *p, pending_cmd *h, const lm_pop3_status *st,
                       lm_pop3_event *ev)
{
    int rc = LM_OK;
    event_status(ev, LM_POP3_EV_OK, h->cmd, st);
    switch (h->cmd) {
    case LM_POP3_CMD_STAT:
        rc = ok_data(p, h, ev);
        break;
    case LM_POP3_CMD_LIST:
    case LM_POP3_CMD_UIDL:
        if (h->num)
            rc = ok_data(p, h, ev);
        else
            begin_multi(p, h, ev);
        break;
    case LM_POP3_CMD_CAPA:
    case LM_POP3_CMD_RETR:
    case LM_POP3_CMD_TOP:
        begin_multi(p, h, ev);
        break;
    case LM_POP3_CMD_STLS:
        p->phase = P_STLS;
        break;
    case LM_POP3_CMD_USER:
        p->user_ok = 1;
        break;
    case LM_POP3_CMD_PASS:
    case LM_POP3_CMD_APOP:
    case LM_POP3_CMD_AUTH:
        lm_buf_wipe(&p->held);
        set_state(p, LM_POP3_ST_TRANSACTION);
        break;
    case LM_POP3_CMD_QUIT:
        set_state(p, LM_POP3_ST_CLOSED);
        break;
    default:
        break;
    }
    if (rc != LM_OK)
        return rc;
    if (!ev->multi)
        pop_cmd(p);
    return LM_OK;
}

static int status_event(lm_pop3 *p, lm_pop3_event *ev)
{
    const char *line;
    size_t len;
    lm_pop3_status st;
    pending_cmd *h = head(p);
    int rc;
    if (p->state != LM_POP3_ST_GREETING && !h) {
        if (lm_line_buffered(&p->in) > 0)
            return fail(p, LM_EPROTO, "data from the server when no response was expected");
        return LM_EAGAIN;
    }
    rc = next_line(p, &line, &len);
    if (rc != LM_OK)
        return rc;
    if (lm_pop3_parse_status(line, len, h && h->cmd == LM_POP3_CMD_AUTH, &st) != LM_OK)
        return fail(p, LM_EPROTO, "not a POP3 status line (+OK or -ERR)");
    if (p->state == LM_POP3_ST_GREETING)
        return greeting(p, &st, ev);
    if (st.kind == LM_POP3_EV_CHALLENGE)
        return challenge(p, &st, ev);
    if (st.kind == LM_POP3_EV_ERR)
        return answered_err(p, h, &st, ev);
    return answered_ok(p, h, &st, ev);
}

static void note_capability(lm_pop3 *p, const char *tag, size_t n)
{
    static const struct {
        const char *name;
        unsigned bit;
    } known[] = {{"PIPELINING", LM_POP3_CAP_PIPELINING}, {"STLS", LM_POP3_CAP_STLS},
                 {"UIDL", LM_POP3_CAP_UIDL},             {"TOP", LM_POP3_CAP_TOP},
                 {"USER", LM_POP3_CAP_USER},             {"SASL", LM_POP3_CAP_SASL}};
    size_t i;
    for (i = 0; i < sizeof known / sizeof known[0]; i++)
        if (ieq(tag, n, known[i].name))
            p->caps |= known[i].bit;
}

static int list_line(lm_pop3 *p, pending_cmd *h, const char *s, size_t n, lm_pop3_event *ev)
{
    ev->cmd = h->cmd;
    if (h->cmd == LM_POP3_CMD_CAPA) {
        ev->type = LM_POP3_EV_CAPA;
        if (lm_pop3_parse_capa(s, n, &ev->text, &ev->len, &ev->arg, &ev->arg_len) != LM_OK)
            return fail(p, LM_EPROTO, "malformed CAPA line");
        note_capability(p, ev->text, ev->len);
        return LM_OK;
    }
    if (h->cmd == LM_POP3_CMD_LIST) {
        ev->type = LM_POP3_EV_LIST;
        if (lm_pop3_parse_pair(s, n, 1, &ev->num, &ev->size, &ev->arg, &ev->arg_len) != LM_OK)
            return fail(p, LM_EPROTO, "malformed LIST line");
    } else {
        ev->type = LM_POP3_EV_UIDL;
        if (lm_pop3_parse_uid_line(s, n, &ev->num, &ev->arg, &ev->arg_len) != LM_OK)
            return fail(p, LM_EPROTO, "malformed UIDL line (or an invalid UID)");
    }
    if (ev->num == 0 || ev->num <= p->last_num)
        return fail(p, LM_EPROTO, "message numbers in a listing must increase");
    p->last_num = ev->num;
    return LM_OK;
}

/* One line of LIST, UIDL or CAPA; "." ends the list (RFC 1939 3). */
static int lines_event(lm_pop3 *p, lm_pop3_event *ev)
{
    const char *line;
    size_t len;
    pending_cmd *h = head(p);
    int rc = next_line(p, &line, &len);
    if (rc != LM_OK)
        return rc;
    if (len == 1 && line[0] == '.') {
        ev->type = LM_POP3_EV_END;
        ev->cmd = h->cmd;
        p->phase = P_STATUS;
        pop_cmd(p);
        return LM_OK;
    }
    if (len && line[0] == '.') {
        line++;
        len--;
    }
    if (++p->entries > p->o.max_entries)
        return fail(p, LM_ETOOLONG, "listing longer than max_entries lines");
    return list_line(p, h, line, len, ev);
}

/* Body bytes of RETR/TOP through the unstuffer, at most one chunk each. */
static int body_event(lm_pop3 *p, lm_pop3_event *ev)
{
    pending_cmd *h = head(p);
    for (;;) {
        const unsigned char *data;
        size_t n, take, out = 0, used = 0;
        int rc;
        if (p->body_done) {
            p->body_done = 0;
            p->phase = P_STATUS;
            ev->type = LM_POP3_EV_END;
            ev->cmd = h->cmd;
            pop_cmd(p);
            return LM_OK;
        }
        lm_line_raw(&p->in, &data, &n);
        if (n == 0)
            return LM_EAGAIN;
        take = n < LM_POP3_CHUNK ? n : LM_POP3_CHUNK;
        rc = lm_dot_unstuff_step(&p->dot, data, take, p->chunk, &out, &used);
        lm_line_consume_raw(&p->in, used);
        p->in_off += used;
        if (rc == LM_OK) {
            lm_dot_unstuff_finish(&p->dot);
            p->body_done = 1;
        }
        if (out > p->o.max_body - p->body)
            return fail(p, LM_ETOOLONG, "message longer than the maximum message size");
        p->body += out;
        if (out) {
            ev->type = LM_POP3_EV_DATA;
            ev->cmd = h->cmd;
            ev->text = (const char *)p->chunk;
            ev->len = out;
            return LM_OK;
        }
    }
}

int lm_pop3_next_event(lm_pop3 *p, lm_pop3_event *ev)
{
    if (p->err)
        return p->err;
    memset(ev, 0, sizeof *ev);
    ev->text = ev->arg = "";
    switch (p->phase) {
    case P_BODY:
        return body_event(p, ev);
    case P_LINES:
        return lines_event(p, ev);
    case P_CHALLENGE:
    case P_STLS:
        return LM_EAGAIN;
    default:
        return status_event(p, ev);
    }
}
