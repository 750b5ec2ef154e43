/* lm_smtp.c: the SMTP client engine (see lm_smtp.h for the contract). */
#include "lm_smtp.h"

#include <string.h>

#include "lm_b64.h"
#include "lm_buf.h"
#include "lm_dot.h"
#include "lm_eol.h"
#include "lm_line.h"

#define DEFAULT_MAX_LINE 2048
#define DEFAULT_MAX_LINES 256
#define DEFAULT_MAX_REPLY 65536
#define DEFAULT_MAX_PENDING (4u << 20)
#define MAX_PATH 512    /* generous next to RFC 5321 4.5.3.1.3's 256 */
#define MAX_ARG 512

struct lm_smtp {
    lm_alloc a;
    lm_line in;
    lm_buf out;      /* queued command bytes */
    lm_buf expect;   /* one LM_SMTP_CMD_* byte per reply still expected */
    lm_buf text;     /* the text of the reply being read */
    lm_buf caps;     /* "KEYWORD params\n" per EHLO line after the first */
    size_t max_lines, max_reply;
    int allow_bare_lf;
    int state;
    int err;          /* sticky LM_E* or LM_OK */
    uint64_t parsed;  /* server bytes parsed into whole lines */
    unsigned ext;
    uint64_t size_limit;
    int secret_out;   /* out holds a secret: wipe it once written */
    int barrier;      /* the last command queued ends a pipelined group */
    /* the reply being read */
    int r_code, r_lines;
    size_t r_bytes;
    char r_enh[16];
    /* the body */
    lm_dot_stuffer dot;
    lm_eol eol;
    int bdat_bol;     /* the BDAT bytes so far end with a line break */
};

static const char *const state_names[LM_SMTP_ST_COUNT_] = {
    "GREETING", "HELLO", "READY", "DATA_WAIT", "BODY", "AUTH_WAIT",
    "AUTH_CONT", "TLS_WAIT", "TLS_READY", "QUIT", "FAILED"};

static const char *const cmd_names[LM_SMTP_CMD_COUNT_] = {
    "NONE", "GREETING", "EHLO", "HELO", "MAIL", "RCPT", "DATA", "DATA_END", "BDAT",
    "BDAT", "RSET", "NOOP", "VRFY", "QUIT", "STARTTLS", "AUTH"};

const char *lm_smtp_state_name(int state)
{
    return state >= 0 && state < LM_SMTP_ST_COUNT_ ? state_names[state] : "?";
}

const char *lm_smtp_cmd_name(int cmd)
{
    return cmd >= 0 && cmd < LM_SMTP_CMD_COUNT_ ? cmd_names[cmd] : "?";
}

/* The one place the state changes. */
static void set_state(lm_smtp *s, int st)
{
    s->state = st;
}

static int fail(lm_smtp *s, int rc)
{
    if (s->err == LM_OK) {
        s->err = rc;
        set_state(s, LM_SMTP_ST_FAILED);
    }
    return s->err;
}

int lm_smtp_new(lm_smtp **out, const lm_smtp_opts *o, const lm_alloc *a)
{
    lm_smtp_opts d;
    lm_smtp *s;
    unsigned char tag = LM_SMTP_CMD_GREETING;
    memset(&d, 0, sizeof d);
    if (o)
        d = *o;
    *out = NULL;
    s = lm_malloc(a, sizeof *s);
    if (!s)
        return LM_ENOMEM;
    memset(s, 0, sizeof *s);
    s->a = *a;
    if (!d.max_line)
        d.max_line = DEFAULT_MAX_LINE;
    s->max_lines = d.max_reply_lines ? d.max_reply_lines : DEFAULT_MAX_LINES;
    s->max_reply = d.max_reply_bytes ? d.max_reply_bytes : DEFAULT_MAX_REPLY;
    if (!d.max_pending)
        d.max_pending = DEFAULT_MAX_PENDING;
    s->allow_bare_lf = d.allow_bare_lf;
    /* a whole reply may be waiting unread, plus one line past it */
    lm_line_init(&s->in, a, d.max_line, s->max_reply + d.max_line);
    lm_buf_init(&s->out, a, d.max_pending);
    lm_buf_init(&s->expect, a, d.max_pending);
    lm_buf_init(&s->text, a, s->max_reply + s->max_lines);
    lm_buf_init(&s->caps, a, s->max_reply + s->max_lines);
    lm_dot_stuff_init(&s->dot);
    lm_eol_init(&s->eol);
    s->bdat_bol = 1;
    set_state(s, LM_SMTP_ST_GREETING);
    if (lm_buf_append(&s->expect, &tag, 1) != LM_OK) {
        lm_smtp_free(s);
        return LM_ENOMEM;
    }
    *out = s;
    return LM_OK;
}

void lm_smtp_free(lm_smtp *s)
{
    lm_alloc a;
    if (!s)
        return;
    a = s->a;
    if (s->secret_out)
        lm_buf_wipe(&s->out);
    lm_line_free(&s->in);
    lm_buf_free(&s->out);
    lm_buf_free(&s->expect);
    lm_buf_free(&s->text);
    lm_buf_free(&s->caps);
    lm_free(&a, s, sizeof *s);
}

int lm_smtp_state(const lm_smtp *s)
{
    return s->state;
}

int lm_smtp_error(const lm_smtp *s, uint64_t *offset)
{
    if (offset)
        *offset = s->parsed;
    return s->err;
}

size_t lm_smtp_outstanding(const lm_smtp *s)
{
    return lm_buf_size(&s->expect);
}

/* ---- input ---- */

int lm_smtp_feed(lm_smtp *s, const void *data, size_t n)
{
    int rc;
    if (s->err)
        return s->err;
    if (n == 0)
        return LM_OK;
    if (s->state == LM_SMTP_ST_TLS_READY)
        return fail(s, LM_EPROTO); /* RFC 3207 4: nothing may follow the 220 */
    rc = lm_line_feed(&s->in, data, n);
    return rc == LM_OK ? LM_OK : fail(s, rc);
}

static int is_digit(int c)
{
    return c >= '0' && c <= '9';
}

/* Digits at p[*i..], 1..3 of them. */
static int digits3(const char *p, size_t n, size_t *i)
{
    size_t start = *i;
    while (*i < n && *i - start < 4 && is_digit((unsigned char)p[*i]))
        (*i)++;
    return *i > start && *i - start <= 3;
}

/* RFC 3463 2 / RFC 2034 4: "class.subject.detail" then SP or the end,
 * class being the first digit of the reply code. Returns its length. */
static size_t enhanced_len(const char *t, size_t n, int code)
{
    size_t i = 1;
    if (n < 5 || t[0] != (char)('0' + code / 100) || (t[0] != '2' && t[0] != '4' && t[0] != '5'))
        return 0;
    if (t[1] != '.')
        return 0;
    i = 2;
    if (!digits3(t, n, &i) || i >= n || t[i] != '.')
        return 0;
    i++;
    if (!digits3(t, n, &i) || (i < n && t[i] != ' '))
        return 0;
    return i;
}

/* Appends a line's text to the reply, taking off the enhanced code. */
static int add_text(lm_smtp *s, const char *t, size_t n)
{
    size_t el = strlen(s->r_enh);
    int rc;
    if (s->r_lines == 1 && n > 0) {
        size_t k = enhanced_len(t, n, s->r_code);
        if (k) {
            memcpy(s->r_enh, t, k);
            s->r_enh[k] = 0;
            el = k;
        }
    }
    if (el && n >= el && memcmp(t, s->r_enh, el) == 0 && (n == el || t[el] == ' ')) {
        t += el < n ? el + 1 : el;
        n -= el < n ? el + 1 : el;
    }
    if (s->r_lines > 1 && (rc = lm_buf_append(&s->text, "\n", 1)) != LM_OK)
        return rc;
    return lm_buf_append(&s->text, t, n);
}

/* One line of a reply (RFC 5321 4.2). *done when it was the last. */
static int reply_line(lm_smtp *s, const char *p, size_t n, int *done)
{
    int code;
    if (n < 3 || !is_digit((unsigned char)p[0]) || !is_digit((unsigned char)p[1]) ||
        !is_digit((unsigned char)p[2]) || p[0] < '2' || p[0] > '5' || p[1] > '5')
        return LM_EPROTO;
    if (n > 3 && p[3] != ' ' && p[3] != '-')
        return LM_EPROTO;
    if (memchr(p, 0, n))
        return LM_EPROTO;
    code = (p[0] - '0') * 100 + (p[1] - '0') * 10 + (p[2] - '0');
    if (s->r_lines == 0) {
        s->r_code = code;
        s->r_bytes = 0;
        s->r_enh[0] = 0;
        lm_buf_clear(&s->text);
    } else if (code != s->r_code) {
        return LM_EPROTO;
    }
    if (++s->r_lines > (int)s->max_lines || (s->r_bytes += n) > s->max_reply)
        return LM_ETOOLONG;
    *done = n == 3 || p[3] == ' ';
    return add_text(s, n > 3 ? p + 4 : p + 3, n > 3 ? n - 4 : 0);
}

/* ---- capabilities (RFC 5321 4.1.1.1) ---- */

static int upper(int c)
{
    return c >= 'a' && c <= 'z' ? c - 32 : c;
}

static int is_alnum(int c)
{
    return is_digit(c) || (upper(c) >= 'A' && upper(c) <= 'Z');
}

static int word_eq(const char *a, size_t an, const char *b)
{
    size_t i;
    if (an != strlen(b))
        return 0;
    for (i = 0; i < an; i++)
        if (upper((unsigned char)a[i]) != b[i])
            return 0;
    return 1;
}

static const struct {
    const char *kw;
    unsigned flag;
} known_ext[] = {
    {"PIPELINING", LM_SMTP_EXT_PIPELINING}, {"SIZE", LM_SMTP_EXT_SIZE},
    {"8BITMIME", LM_SMTP_EXT_8BITMIME},     {"SMTPUTF8", LM_SMTP_EXT_SMTPUTF8},
    {"DSN", LM_SMTP_EXT_DSN},               {"CHUNKING", LM_SMTP_EXT_CHUNKING},
    {"ENHANCEDSTATUSCODES", LM_SMTP_EXT_ENHANCEDSTATUSCODES},
    {"STARTTLS", LM_SMTP_EXT_STARTTLS},     {"AUTH", LM_SMTP_EXT_AUTH},
    {"BINARYMIME", LM_SMTP_EXT_BINARYMIME},
};

static uint64_t parse_size(const char *p, size_t n)
{
    uint64_t v = 0;
    size_t i;
    for (i = 0; i < n && is_digit((unsigned char)p[i]); i++) {
        unsigned d = (unsigned)(p[i] - '0');
        if (v > (UINT64_MAX - d) / 10)
            return UINT64_MAX;
        v = v * 10 + d;
    }
    return v;
}

/* One EHLO line: "KEYWORD [params]"; the old "AUTH=mechs" form counts as
 * AUTH. Lines that are not a keyword are ignored. */
static int add_cap(lm_smtp *s, const char *p, size_t n)
{
    size_t k = 0, i;
    const char *params;
    size_t pn;
    unsigned char *w;
    int rc;
    while (k < n && (is_alnum((unsigned char)p[k]) || (k > 0 && p[k] == '-')))
        k++;
    if (k == 0 || (k < n && p[k] != ' ' && p[k] != '='))
        return LM_OK;
    params = p + k;
    pn = n - k;
    while (pn && (*params == ' ' || *params == '=')) {
        params++;
        pn--;
    }
    for (i = 0; i < sizeof known_ext / sizeof known_ext[0]; i++)
        if (word_eq(p, k, known_ext[i].kw))
            s->ext |= known_ext[i].flag;
    if (word_eq(p, k, "SIZE"))
        s->size_limit = parse_size(params, pn);
    w = lm_buf_reserve(&s->caps, k + pn + 2, &rc);
    if (!w)
        return rc;
    for (i = 0; i < k; i++)
        w[i] = (unsigned char)upper((unsigned char)p[i]);
    w[k] = ' ';
    memcpy(w + k + 1, params, pn);
    w[k + 1 + pn] = '\n';
    lm_buf_commit(&s->caps, k + pn + 2);
    return LM_OK;
}

static int parse_caps(lm_smtp *s)
{
    const char *t = (const char *)lm_buf_data(&s->text);
    size_t n = lm_buf_size(&s->text), i = 0;
    const char *nl = memchr(t, '\n', n);
    lm_buf_clear(&s->caps);
    s->ext = 0;
    s->size_limit = 0;
    if (!nl)
        return LM_OK;
    i = (size_t)(nl - t) + 1;
    while (i < n) {
        const char *e = memchr(t + i, '\n', n - i);
        size_t len = e ? (size_t)(e - (t + i)) : n - i;
        int rc = add_cap(s, t + i, len);
        if (rc != LM_OK)
            return rc;
        i += len + 1;
    }
    return LM_OK;
}

unsigned lm_smtp_has(const lm_smtp *s, unsigned ext)
{
    return s->ext & ext;
}

uint64_t lm_smtp_size_limit(const lm_smtp *s)
{
    return s->size_limit;
}

int lm_smtp_cap_next(const lm_smtp *s, size_t *it, const char **kw, size_t *kn,
                     const char **params, size_t *pn)
{
    const char *t = (const char *)lm_buf_data(&s->caps);
    size_t n = lm_buf_size(&s->caps);
    const char *sp, *nl;
    if (*it >= n)
        return LM_EAGAIN;
    nl = memchr(t + *it, '\n', n - *it);
    sp = memchr(t + *it, ' ', (size_t)(nl - (t + *it)));
    *kw = t + *it;
    *kn = (size_t)(sp - *kw);
    *params = sp + 1;
    *pn = (size_t)(nl - *params);
    *it = (size_t)(nl - t) + 1;
    return LM_OK;
}

int lm_smtp_auth_offered(const lm_smtp *s, const char *mech, size_t mn)
{
    size_t it = 0, kn, pn;
    const char *kw, *p;
    while (lm_smtp_cap_next(s, &it, &kw, &kn, &p, &pn) == LM_OK) {
        size_t i = 0;
        if (kn != 4 || memcmp(kw, "AUTH", 4) != 0)
            continue;
        while (i < pn) {
            size_t j = i, k;
            while (j < pn && p[j] != ' ')
                j++;
            if (j - i == mn) {
                for (k = 0; k < mn && upper((unsigned char)p[i + k]) ==
                                          upper((unsigned char)mech[k]); k++)
                    ;
                if (k == mn)
                    return 1;
            }
            i = j + 1;
        }
    }
    return 0;
}

/* ---- replies ---- */

/* The state a reply leads to, and whether its code fits the command. */
static int apply_reply(lm_smtp *s, int cmd, int code)
{
    int klass = code / 100;
    if (klass == 3 && !((cmd == LM_SMTP_CMD_DATA && code == 354) ||
                        (cmd == LM_SMTP_CMD_AUTH && code == 334)))
        return LM_EPROTO;
    switch (cmd) {
    case LM_SMTP_CMD_GREETING:
        set_state(s, LM_SMTP_ST_HELLO);
        break;
    case LM_SMTP_CMD_EHLO:
    case LM_SMTP_CMD_HELO:
        if (klass != 2)
            break;
        set_state(s, LM_SMTP_ST_READY);
        if (cmd == LM_SMTP_CMD_HELO) {
            lm_buf_clear(&s->caps);
            s->ext = 0;
            s->size_limit = 0;
            break;
        }
        return parse_caps(s);
    case LM_SMTP_CMD_DATA:
        set_state(s, code == 354 ? LM_SMTP_ST_BODY : LM_SMTP_ST_READY);
        break;
    case LM_SMTP_CMD_AUTH:
        set_state(s, code == 334 ? LM_SMTP_ST_AUTH_CONT : LM_SMTP_ST_READY);
        break;
    case LM_SMTP_CMD_STARTTLS:
        set_state(s, code == 220 ? LM_SMTP_ST_TLS_READY : LM_SMTP_ST_READY);
        break;
    default:
        break;
    }
    return LM_OK;
}

/* The command a finished reply answers. */
static int match_reply(lm_smtp *s, int *cmd)
{
    if (lm_buf_size(&s->expect) == 0) {
        if (s->r_code != 421)
            return LM_EPROTO; /* nobody asked */
        *cmd = LM_SMTP_CMD_NONE;
        return LM_OK;
    }
    *cmd = lm_buf_data(&s->expect)[0];
    lm_buf_consume(&s->expect, 1);
    if (lm_buf_size(&s->expect) == 0)
        s->barrier = 0;
    return apply_reply(s, *cmd, s->r_code);
}

int lm_smtp_next_event(lm_smtp *s, lm_smtp_reply *r)
{
    for (;;) {
        const char *line;
        size_t len;
        int bare, done = 0, rc, cmd;
        if (s->err)
            return s->err;
        if (s->state == LM_SMTP_ST_TLS_READY && lm_line_buffered(&s->in))
            return fail(s, LM_EPROTO);
        rc = lm_line_next(&s->in, &line, &len, &bare);
        if (rc == LM_EAGAIN)
            return rc;
        if (rc != LM_OK)
            return fail(s, rc);
        if (bare && !s->allow_bare_lf)
            return fail(s, LM_EPROTO);
        rc = reply_line(s, line, len, &done);
        if (rc != LM_OK)
            return fail(s, rc);
        s->parsed += len + (bare ? 1 : 2);
        if (!done)
            continue;
        s->r_lines = 0;
        rc = match_reply(s, &cmd);
        if (rc != LM_OK)
            return fail(s, rc);
        r->code = s->r_code;
        r->cmd = cmd;
        r->lines = 0;
        memcpy(r->enhanced, s->r_enh, sizeof r->enhanced);
        r->text = (const char *)lm_buf_data(&s->text);
        r->text_len = lm_buf_size(&s->text);
        {
            size_t i;
            r->lines = 1;
            for (i = 0; i < r->text_len; i++)
                r->lines += r->text[i] == '\n';
        }
        return LM_OK;
    }
}

/* ---- output ---- */

void lm_smtp_pending(const lm_smtp *s, const unsigned char **p, size_t *n)
{
    *p = lm_buf_data(&s->out);
    *n = lm_buf_size(&s->out);
}

void lm_smtp_consume(lm_smtp *s, size_t n)
{
    size_t have = lm_buf_size(&s->out);
    lm_buf_consume(&s->out, n < have ? n : have);
    if (s->secret_out && lm_buf_size(&s->out) == 0) {
        lm_buf_wipe(&s->out);
        s->secret_out = 0;
    }
}

/* Whether cmd may be queued now (RFC 5321 3.1, 4.1.4; RFC 2920 3.1). */
static int may_queue(const lm_smtp *s, int cmd)
{
    int st = s->state;
    if (s->err)
        return s->err;
    if (st == LM_SMTP_ST_HELLO && cmd != LM_SMTP_CMD_EHLO && cmd != LM_SMTP_CMD_HELO &&
        cmd != LM_SMTP_CMD_RSET && cmd != LM_SMTP_CMD_NOOP && cmd != LM_SMTP_CMD_QUIT)
        return LM_ESTATE;
    if (st != LM_SMTP_ST_HELLO && st != LM_SMTP_ST_READY)
        return LM_ESTATE;
    if (lm_buf_size(&s->expect) &&
        (s->barrier || !(s->ext & LM_SMTP_EXT_PIPELINING)))
        return LM_ESTATE;
    return LM_OK;
}

typedef struct piece {
    const void *p;
    size_t n;
} piece;

/* Queues the pieces plus CRLF as one command line expecting one reply
 * tagged cmd: all of it or nothing. */
static int queue(lm_smtp *s, int cmd, int barrier, const piece *pc, int np)
{
    size_t total = 2, off = 0;
    unsigned char tag = (unsigned char)cmd, *w;
    int i, rc = LM_OK;
    for (i = 0; i < np; i++)
        total += pc[i].n;
    if (lm_buf_size(&s->expect) == 0 && lm_line_buffered(&s->in))
        return fail(s, LM_EPROTO); /* the server said something nobody asked for */
    if ((rc = lm_buf_append(&s->expect, &tag, 1)) != LM_OK)
        return fail(s, rc);
    w = lm_buf_reserve(&s->out, total, &rc);
    if (!w) {
        s->expect.len--;
        return fail(s, rc);
    }
    for (i = 0; i < np; i++) {
        if (pc[i].n)
            memcpy(w + off, pc[i].p, pc[i].n);
        off += pc[i].n;
    }
    memcpy(w + off, "\r\n", 2);
    lm_buf_commit(&s->out, total);
    s->barrier = barrier;
    return LM_OK;
}

static int simple(lm_smtp *s, int cmd, const char *verb, int barrier, int next_state)
{
    piece pc[1];
    int rc = may_queue(s, cmd);
    if (rc != LM_OK)
        return rc;
    pc[0].p = verb;
    pc[0].n = strlen(verb);
    rc = queue(s, cmd, barrier, pc, 1);
    if (rc == LM_OK && next_state >= 0)
        set_state(s, next_state);
    return rc;
}

/* ---- argument checks ---- */

static int is_ctl(unsigned c)
{
    return c < 0x20 || c == 0x7f;
}

int lm_smtp_check_path(const char *p, size_t n, int allow_empty)
{
    size_t i;
    int quoted = 0;
    if (n == 0)
        return allow_empty ? LM_OK : LM_EINVAL;
    if (n > MAX_PATH)
        return LM_EINVAL;
    for (i = 0; i < n; i++) {
        unsigned c = (unsigned char)p[i];
        if (is_ctl(c) || c == '<' || c == '>')
            return LM_EINVAL;
        if (quoted && c == '\\' && i + 1 < n) {
            if (is_ctl((unsigned char)p[++i]))
                return LM_EINVAL;
        } else if (c == '"') {
            quoted = !quoted;
        } else if (c == ' ' && !quoted) {
            return LM_EINVAL;
        }
    }
    return quoted ? LM_EINVAL : LM_OK;
}

/* RFC 5321 4.1.2: esmtp-param = esmtp-keyword ["=" esmtp-value]; values
 * may be UTF-8 (RFC 6531 3.3). */
int lm_smtp_check_params(const char *p, size_t n)
{
    size_t i = 0;
    while (i < n) {
        size_t k = i;
        while (k < n && (is_alnum((unsigned char)p[k]) || (k > i && p[k] == '-')))
            k++;
        if (k == i)
            return LM_EINVAL;
        if (k < n && p[k] == '=') {
            size_t v = ++k;
            while (k < n && p[k] != ' ') {
                unsigned c = (unsigned char)p[k++];
                if (c < 33 || c == '=' || c == 127)
                    return LM_EINVAL;
            }
            if (k == v)
                return LM_EINVAL;
        }
        if (k < n && (p[k] != ' ' || k + 1 == n))
            return LM_EINVAL;
        i = k + 1;
    }
    return LM_OK;
}

static int check_domain(const char *p, size_t n)
{
    size_t i;
    if (n == 0 || n > 255)
        return LM_EINVAL;
    for (i = 0; i < n; i++)
        if ((unsigned char)p[i] <= ' ' || (unsigned char)p[i] >= 0x7f)
            return LM_EINVAL;
    return LM_OK;
}

static int check_text(const char *p, size_t n)
{
    size_t i;
    if (n == 0 || n > MAX_ARG)
        return LM_EINVAL;
    for (i = 0; i < n; i++)
        if (is_ctl((unsigned char)p[i]))
            return LM_EINVAL;
    return LM_OK;
}

/* ---- commands ---- */

static int hello(lm_smtp *s, int cmd, const char *verb, const char *name, size_t n)
{
    piece pc[2];
    int rc = may_queue(s, cmd);
    if (rc != LM_OK)
        return rc;
    if (check_domain(name, n) != LM_OK)
        return LM_EINVAL;
    pc[0].p = verb;
    pc[0].n = 5;
    pc[1].p = name;
    pc[1].n = n;
    return queue(s, cmd, 1, pc, 2);
}

int lm_smtp_cmd_ehlo(lm_smtp *s, const char *name, size_t n)
{
    return hello(s, LM_SMTP_CMD_EHLO, "EHLO ", name, n);
}

int lm_smtp_cmd_helo(lm_smtp *s, const char *name, size_t n)
{
    return hello(s, LM_SMTP_CMD_HELO, "HELO ", name, n);
}

static int path_cmd(lm_smtp *s, int cmd, const char *verb, const char *addr, size_t an,
                    const char *params, size_t pn)
{
    piece pc[5];
    int rc = may_queue(s, cmd);
    if (rc != LM_OK)
        return rc;
    if (lm_smtp_check_path(addr, an, cmd == LM_SMTP_CMD_MAIL) != LM_OK ||
        lm_smtp_check_params(params, pn) != LM_OK)
        return LM_EINVAL;
    pc[0].p = verb;
    pc[0].n = strlen(verb);
    pc[1].p = addr;
    pc[1].n = an;
    pc[2].p = ">";
    pc[2].n = 1;
    pc[3].p = " ";
    pc[3].n = pn ? 1 : 0;
    pc[4].p = params;
    pc[4].n = pn;
    return queue(s, cmd, 0, pc, 5);
}

int lm_smtp_cmd_mail(lm_smtp *s, const char *addr, size_t an, const char *params,
                     size_t pn)
{
    return path_cmd(s, LM_SMTP_CMD_MAIL, "MAIL FROM:<", addr, an, params, pn);
}

int lm_smtp_cmd_rcpt(lm_smtp *s, const char *addr, size_t an, const char *params,
                     size_t pn)
{
    return path_cmd(s, LM_SMTP_CMD_RCPT, "RCPT TO:<", addr, an, params, pn);
}

int lm_smtp_cmd_data(lm_smtp *s)
{
    return simple(s, LM_SMTP_CMD_DATA, "DATA", 1, LM_SMTP_ST_DATA_WAIT);
}

int lm_smtp_cmd_rset(lm_smtp *s)
{
    return simple(s, LM_SMTP_CMD_RSET, "RSET", 0, -1);
}

int lm_smtp_cmd_noop(lm_smtp *s)
{
    return simple(s, LM_SMTP_CMD_NOOP, "NOOP", 1, -1);
}

int lm_smtp_cmd_quit(lm_smtp *s)
{
    return simple(s, LM_SMTP_CMD_QUIT, "QUIT", 1, LM_SMTP_ST_QUIT);
}

int lm_smtp_cmd_starttls(lm_smtp *s)
{
    return simple(s, LM_SMTP_CMD_STARTTLS, "STARTTLS", 1, LM_SMTP_ST_TLS_WAIT);
}

int lm_smtp_cmd_vrfy(lm_smtp *s, const char *arg, size_t n)
{
    piece pc[2];
    int rc = may_queue(s, LM_SMTP_CMD_VRFY);
    if (rc != LM_OK)
        return rc;
    if (check_text(arg, n) != LM_OK)
        return LM_EINVAL;
    pc[0].p = "VRFY ";
    pc[0].n = 5;
    pc[1].p = arg;
    pc[1].n = n;
    return queue(s, LM_SMTP_CMD_VRFY, 1, pc, 2);
}

/* Queues prefix + base64(data) as an AUTH line holding a secret. */
static int queue_secret(lm_smtp *s, const piece *pre, int np, const void *data, size_t n,
                        int empty_as_eq)
{
    size_t bn = lm_b64_encoded_len(n, 0), len;
    piece pc[4];
    char *b64;
    int i, rc;
    if (n > (1u << 20))
        return LM_EINVAL;
    b64 = lm_malloc(&s->a, bn + 1);
    if (!b64)
        return fail(s, LM_ENOMEM);
    lm_b64_encode(data, n, 0, b64, &len);
    for (i = 0; i < np; i++)
        pc[i] = pre[i];
    pc[np].p = n || !empty_as_eq ? b64 : "=";
    pc[np].n = n || !empty_as_eq ? len : 1;
    rc = queue(s, LM_SMTP_CMD_AUTH, 1, pc, np + 1);
    memset(b64, 0, bn + 1);
    lm_free(&s->a, b64, bn + 1);
    if (rc == LM_OK) {
        s->secret_out = 1;
        set_state(s, LM_SMTP_ST_AUTH_WAIT);
    }
    return rc;
}

int lm_smtp_cmd_auth(lm_smtp *s, const char *mech, size_t mn, const void *initial,
                     size_t n, int has_initial)
{
    piece pc[3];
    size_t i;
    int rc = may_queue(s, LM_SMTP_CMD_AUTH);
    if (rc != LM_OK)
        return rc;
    if (mn == 0 || mn > 20 || s->state != LM_SMTP_ST_READY)
        return mn == 0 || mn > 20 ? LM_EINVAL : LM_ESTATE;
    for (i = 0; i < mn; i++) {
        int c = (unsigned char)mech[i];
        if (!((c >= 'A' && c <= 'Z') || is_digit(c) || c == '-' || c == '_'))
            return LM_EINVAL;
    }
    pc[0].p = "AUTH ";
    pc[0].n = 5;
    pc[1].p = mech;
    pc[1].n = mn;
    if (!has_initial) {
        rc = queue(s, LM_SMTP_CMD_AUTH, 1, pc, 2);
        if (rc == LM_OK)
            set_state(s, LM_SMTP_ST_AUTH_WAIT);
        return rc;
    }
    pc[2].p = " ";
    pc[2].n = 1;
    return queue_secret(s, pc, 3, initial, n, 1);
}

int lm_smtp_cmd_auth_response(lm_smtp *s, const void *data, size_t n)
{
    if (s->err)
        return s->err;
    if (s->state != LM_SMTP_ST_AUTH_CONT)
        return LM_ESTATE;
    return queue_secret(s, NULL, 0, data, n, 0);
}

int lm_smtp_cmd_auth_cancel(lm_smtp *s)
{
    piece pc[1];
    int rc;
    if (s->err)
        return s->err;
    if (s->state != LM_SMTP_ST_AUTH_CONT)
        return LM_ESTATE;
    pc[0].p = "*";
    pc[0].n = 1;
    rc = queue(s, LM_SMTP_CMD_AUTH, 1, pc, 1);
    if (rc == LM_OK)
        set_state(s, LM_SMTP_ST_AUTH_WAIT);
    return rc;
}

int lm_smtp_starttls_begin(lm_smtp *s)
{
    if (s->err)
        return s->err;
    if (s->state != LM_SMTP_ST_TLS_READY)
        return LM_ESTATE;
    if (lm_line_buffered(&s->in))
        return fail(s, LM_EPROTO); /* RFC 3207 4: response injection */
    lm_line_clear(&s->in);
    lm_buf_clear(&s->caps);
    s->ext = 0;
    s->size_limit = 0;
    set_state(s, LM_SMTP_ST_HELLO);
    return LM_OK;
}

/* ---- the body ---- */

int lm_smtp_has_8bit(const void *in, size_t n)
{
    const unsigned char *p = in;
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t w;
        memcpy(&w, p + i, 8);
        if (w & 0x8080808080808080ull)
            return 1;
    }
    for (; i < n; i++)
        if (p[i] & 0x80)
            return 1;
    return 0;
}

size_t lm_smtp_wire_size(const void *in, size_t n)
{
    const unsigned char *p = in, *q, *end = p + n;
    size_t size = n;
    if (n == 0)
        return 0;
    for (q = p; (q = memchr(q, '\r', (size_t)(end - q))) != NULL; q++)
        if (q + 1 == end || q[1] != '\n')
            size++;
    for (q = p; (q = memchr(q, '\n', (size_t)(end - q))) != NULL; q++)
        if (q == p || q[-1] != '\r')
            size++;
    if (end[-1] != '\n' && end[-1] != '\r')
        size += 2;
    return size;
}

int lm_smtp_clean(const lm_smtp *s, const void *in, size_t n, int dots)
{
    const unsigned char *p = in, *q;
    size_t i;
    int cr = dots ? s->dot.cr : s->eol.cr;
    if (n == 0)
        return 1;
    if (p[0] == '\n' || p[n - 1] == '\r' || (cr && p[0] == '\n'))
        return 0;
    if (dots && s->dot.bol && p[0] == '.')
        return 0;
    for (i = 0; (q = memchr(p + i, '\r', n - i)) != NULL; i = (size_t)(q - p) + 2)
        if (q[1] != '\n')
            return 0;
    for (i = 0; (q = memchr(p + i, '\n', n - i)) != NULL; i = (size_t)(q - p) + 1) {
        if (q[-1] != '\r')
            return 0;
        if (dots && q + 1 < p + n && q[1] == '.')
            return 0;
    }
    return 1;
}

int lm_smtp_body(lm_smtp *s, const void *in, size_t n, int final, void *out,
                 size_t *outlen)
{
    size_t w = 0, f = 0;
    unsigned char tag = LM_SMTP_CMD_DATA_END;
    int rc;
    if (s->err)
        return s->err;
    if (s->state != LM_SMTP_ST_BODY || lm_buf_size(&s->out))
        return LM_ESTATE;
    if (final && (rc = lm_buf_append(&s->expect, &tag, 1)) != LM_OK)
        return fail(s, rc);
    lm_dot_stuff_step(&s->dot, in, n, out, &w);
    if (final) {
        lm_dot_stuff_finish(&s->dot, (unsigned char *)out + w, &f);
        set_state(s, LM_SMTP_ST_READY);
    }
    *outlen = w + f;
    return LM_OK;
}

/* "BDAT <n>[ LAST]" for n bytes. */
static int queue_bdat(lm_smtp *s, uint64_t n, int last)
{
    char num[24];
    int k = (int)sizeof num;
    piece pc[3];
    do {
        num[--k] = (char)('0' + n % 10);
        n /= 10;
    } while (n);
    pc[0].p = "BDAT ";
    pc[0].n = 5;
    pc[1].p = num + k;
    pc[1].n = sizeof num - (size_t)k;
    pc[2].p = " LAST";
    pc[2].n = last ? 5 : 0;
    return queue(s, last ? LM_SMTP_CMD_BDAT_LAST : LM_SMTP_CMD_BDAT, 0, pc, 3);
}

int lm_smtp_bdat(lm_smtp *s, const void *in, size_t n, int last, void *out,
                 size_t *outlen)
{
    size_t w = 0;
    int rc = may_queue(s, LM_SMTP_CMD_BDAT);
    if (rc != LM_OK)
        return rc;
    if (s->state != LM_SMTP_ST_READY || !(s->ext & LM_SMTP_EXT_CHUNKING))
        return LM_ESTATE;
    if (out) {
        lm_eol_step(&s->eol, in, n, out, &w);
        if (w)
            s->bdat_bol = ((unsigned char *)out)[w - 1] == '\n';
        if (last && !s->bdat_bol) {
            memcpy((unsigned char *)out + w, "\r\n", 2);
            w += 2;
        }
        *outlen = w;
    } else {
        if (!lm_smtp_clean(s, in, n, 0))
            return LM_EINVAL;
        if (n)
            s->bdat_bol = ((const unsigned char *)in)[n - 1] == '\n';
        *outlen = last && !s->bdat_bol ? 2 : 0;
        w = n + *outlen;
    }
    rc = queue_bdat(s, w, last);
    if (rc != LM_OK)
        return rc;
    if (last) {
        lm_eol_init(&s->eol);
        s->bdat_bol = 1;
    }
    return LM_OK;
}
