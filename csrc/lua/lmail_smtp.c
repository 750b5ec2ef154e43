/* lmail_smtp.c: binding of the SMTP engine (csrc/core/lm_smtp.h) and of the
 * SASL messages it carries (csrc/core/lm_sasl.h) as lmail.core.smtp;
 * lua/lmail/smtp.lua drives it over a transport. The engine never sees a
 * transport: bytes go in with feed and come out of pending/body/bdat as Lua
 * strings. Misuse (a bad argument, a command not allowed now) raises;
 * sticky engine failures return nil, message, code. */
#include "lmail_aux.h"

#include <string.h>

#include "../core/lm_b64.h"
#include "../core/lm_sasl.h"
#include "../core/lm_smtp.h"
#include "lmail_pieces.h"

#define ENGINE_MT "lmail.smtp.engine"
/* Bigger than this, a clean BDAT chunk goes out as the caller's own
 * string instead of a copy. */
#define ZERO_COPY_MIN 16384
#define MAX_SECRET 65536

/* scratch: where bdat builds "commands + BDAT line + chunk" as one
 * string; kept between calls (freed when it grew past SCRATCH_KEEP). */
#define SCRATCH_KEEP (8u << 20)

typedef struct smtp_engine {
    lm_smtp *s; /* NULL once closed */
    char *scratch;
    size_t cap;
} smtp_engine;

static void scratch_free(lua_State *L, smtp_engine *e)
{
    lm_alloc a = lmail_lua_alloc(L);
    lm_free(&a, e->scratch, e->cap);
    e->scratch = NULL;
    e->cap = 0;
}

static char *scratch_get(lua_State *L, smtp_engine *e, size_t n)
{
    lm_alloc a = lmail_lua_alloc(L);
    char *p;
    if (e->cap >= n)
        return e->scratch;
    p = a.fn(a.ud, e->scratch, e->scratch ? e->cap : 0, n);
    if (!p)
        return NULL;
    e->scratch = p;
    e->cap = n;
    return p;
}

static lm_smtp *check_engine(lua_State *L, const char *what)
{
    smtp_engine *e = luaL_checkudata(L, 1, ENGINE_MT);
    if (!e->s)
        luaL_error(L, "%s: engine is closed", what);
    return e->s;
}

/* nil, message, code for a sticky failure, naming the reply offset. */
static int engine_fail(lua_State *L, lm_smtp *s, int rc)
{
    uint64_t off = 0;
    lm_smtp_error(s, &off);
    lua_pushnil(L);
    if (rc == LM_EPROTO)
        lua_pushfstring(L, "smtp: the server broke the protocol (its reply at byte %d)",
                        (int)off);
    else if (rc == LM_ETOOLONG)
        lua_pushfstring(L, "smtp: a server reply exceeds the limits (at byte %d)", (int)off);
    else
        lua_pushfstring(L, "smtp: %s", lm_strerror(rc));
    lua_pushstring(L, lm_errname(rc));
    return 3;
}

/* true, or raises for misuse, or nil, msg, code for a sticky failure. */
static int cmd_result(lua_State *L, lm_smtp *s, int rc, const char *what)
{
    if (rc == LM_OK) {
        lua_pushboolean(L, 1);
        return 1;
    }
    if (rc == LM_EINVAL)
        return luaL_error(L, "%s: argument refused (control character, space or bad syntax)",
                          what);
    if (rc == LM_ESTATE)
        return luaL_error(L, "%s: not allowed in state %s", what,
                          lm_smtp_state_name(lm_smtp_state(s)));
    return engine_fail(L, s, rc);
}

/* core.smtp.new([opts]) -> engine
 * opts: max_line, max_reply_lines, max_reply_bytes, max_pending, allow_bare_lf */
static int smtp_new(lua_State *L)
{
    lm_smtp_opts o;
    lm_alloc a = lmail_lua_alloc(L);
    smtp_engine *e;
    memset(&o, 0, sizeof o);
    if (!lua_isnoneornil(L, 1)) {
        luaL_checktype(L, 1, LUA_TTABLE);
        o.max_line = (size_t)lmail_opt_limit(L, 1, "max_line", "smtp.new");
        o.max_reply_lines = (size_t)lmail_opt_limit(L, 1, "max_reply_lines", "smtp.new");
        o.max_reply_bytes = (size_t)lmail_opt_limit(L, 1, "max_reply_bytes", "smtp.new");
        o.max_pending = (size_t)lmail_opt_limit(L, 1, "max_pending", "smtp.new");
        lua_getfield(L, 1, "allow_bare_lf");
        o.allow_bare_lf = lua_toboolean(L, -1);
        lua_pop(L, 1);
    }
    e = lua_newuserdatauv(L, sizeof *e, 0);
    e->s = NULL;
    e->scratch = NULL;
    e->cap = 0;
    luaL_getmetatable(L, ENGINE_MT);
    lua_setmetatable(L, -2);
    if (lm_smtp_new(&e->s, &o, &a) != LM_OK)
        return luaL_error(L, "smtp.new: out of memory");
    return 1;
}

/* core.smtp.check_path(addr [, allow_empty]) -> true, has_8bit | nil, reason */
static int smtp_check_path(lua_State *L)
{
    size_t n;
    const char *p = luaL_checklstring(L, 1, &n);
    if (lm_smtp_check_path(p, n, lua_toboolean(L, 2)) == LM_OK) {
        lua_pushboolean(L, 1);
        lua_pushboolean(L, lm_smtp_has_8bit(p, n));
        return 2;
    }
    lua_pushnil(L);
    if (n == 0)
        lua_pushliteral(L, "is empty");
    else if (memchr(p, '\r', n) || memchr(p, '\n', n))
        lua_pushliteral(L, "contains CR/LF");
    else if (memchr(p, 0, n))
        lua_pushliteral(L, "contains NUL");
    else
        lua_pushliteral(L, "is not a valid address (control character, space, '<' or '>')");
    return 2;
}

/* core.smtp.check_params(s) -> boolean */
static int smtp_check_params(lua_State *L)
{
    size_t n;
    const char *p = luaL_checklstring(L, 1, &n);
    lua_pushboolean(L, lm_smtp_check_params(p, n) == LM_OK);
    return 1;
}

/* core.smtp.has_8bit(s) -> boolean */
static int smtp_has_8bit(lua_State *L)
{
    size_t n;
    const char *p = luaL_checklstring(L, 1, &n);
    lua_pushboolean(L, lm_smtp_has_8bit(p, n));
    return 1;
}

/* core.smtp.scan(message) -> has_8bit, wire_size (lm_smtp_wire_size) */
static int smtp_scan(lua_State *L)
{
    size_t n;
    const char *p = luaL_checklstring(L, 1, &n);
    lua_pushboolean(L, lm_smtp_has_8bit(p, n));
    lua_pushinteger(L, (lua_Integer)lm_smtp_wire_size(p, n));
    return 2;
}

/* engine:feed(bytes) -> true | nil, msg, code */
static int engine_feed(lua_State *L)
{
    lm_smtp *s = check_engine(L, "engine:feed");
    size_t n;
    const char *p = luaL_checklstring(L, 2, &n);
    int rc = lm_smtp_feed(s, p, n);
    if (rc != LM_OK)
        return engine_fail(L, s, rc);
    lua_pushboolean(L, 1);
    return 1;
}

/* engine:next() -> {code =, enhanced =, text =, stage =, lines =} | false
 *                | nil, msg, code */
static int engine_next(lua_State *L)
{
    lm_smtp *s = check_engine(L, "engine:next");
    lm_smtp_reply r;
    int rc = lm_smtp_next_event(s, &r);
    if (rc == LM_EAGAIN) {
        lua_pushboolean(L, 0);
        return 1;
    }
    if (rc != LM_OK)
        return engine_fail(L, s, rc);
    lua_createtable(L, 0, 5);
    lua_pushinteger(L, r.code);
    lua_setfield(L, -2, "code");
    if (r.enhanced[0]) {
        lua_pushstring(L, r.enhanced);
        lua_setfield(L, -2, "enhanced");
    }
    lua_pushlstring(L, r.text, r.text_len);
    lua_setfield(L, -2, "text");
    lua_pushstring(L, lm_smtp_cmd_name(r.cmd));
    lua_setfield(L, -2, "stage");
    lua_pushinteger(L, r.lines);
    lua_setfield(L, -2, "lines");
    return 1;
}

/* engine:pending() -> the queued command bytes (possibly ""), now consumed */
static int engine_pending(lua_State *L)
{
    lm_smtp *s = check_engine(L, "engine:pending");
    const unsigned char *p;
    size_t n;
    lm_smtp_pending(s, &p, &n);
    lua_pushlstring(L, (const char *)p, n);
    lm_smtp_consume(s, n);
    return 1;
}

/* engine:outstanding() -> replies still expected */
static int engine_outstanding(lua_State *L)
{
    lm_smtp *s = check_engine(L, "engine:outstanding");
    lua_pushinteger(L, (lua_Integer)lm_smtp_outstanding(s));
    return 1;
}

/* engine:state() -> "READY", "BODY", ... */
static int engine_state(lua_State *L)
{
    lm_smtp *s = check_engine(L, "engine:state");
    lua_pushstring(L, lm_smtp_state_name(lm_smtp_state(s)));
    return 1;
}

/* engine:ehlo(name) / engine:helo(name) -> true | nil, msg, code */
static int engine_ehlo(lua_State *L)
{
    lm_smtp *s = check_engine(L, "engine:ehlo");
    size_t n;
    const char *p = luaL_checklstring(L, 2, &n);
    return cmd_result(L, s, lm_smtp_cmd_ehlo(s, p, n), "engine:ehlo");
}

static int engine_helo(lua_State *L)
{
    lm_smtp *s = check_engine(L, "engine:helo");
    size_t n;
    const char *p = luaL_checklstring(L, 2, &n);
    return cmd_result(L, s, lm_smtp_cmd_helo(s, p, n), "engine:helo");
}

/* engine:mail(addr [, params]) / engine:rcpt(addr [, params]) -> true | nil, msg, code
 * params: space-separated esmtp-params ("SIZE=100 BODY=8BITMIME") */
static int engine_mail(lua_State *L)
{
    lm_smtp *s = check_engine(L, "engine:mail");
    size_t an, pn;
    const char *a = luaL_checklstring(L, 2, &an);
    const char *p = luaL_optlstring(L, 3, "", &pn);
    return cmd_result(L, s, lm_smtp_cmd_mail(s, a, an, p, pn), "engine:mail");
}

static int engine_rcpt(lua_State *L)
{
    lm_smtp *s = check_engine(L, "engine:rcpt");
    size_t an, pn;
    const char *a = luaL_checklstring(L, 2, &an);
    const char *p = luaL_optlstring(L, 3, "", &pn);
    return cmd_result(L, s, lm_smtp_cmd_rcpt(s, a, an, p, pn), "engine:rcpt");
}

/* engine:vrfy(arg) -> true | nil, msg, code */
static int engine_vrfy(lua_State *L)
{
    lm_smtp *s = check_engine(L, "engine:vrfy");
    size_t n;
    const char *p = luaL_checklstring(L, 2, &n);
    return cmd_result(L, s, lm_smtp_cmd_vrfy(s, p, n), "engine:vrfy");
}

/* engine:data() engine:rset() engine:noop() engine:quit() engine:starttls()
 * -> true | nil, msg, code */
#define SIMPLE_CMD(fname, call)                                                 \
    static int fname(lua_State *L)                                              \
    {                                                                           \
        lm_smtp *s = check_engine(L, "engine:" #call);                          \
        return cmd_result(L, s, lm_smtp_cmd_##call(s), "engine:" #call);        \
    }
SIMPLE_CMD(engine_data, data)
SIMPLE_CMD(engine_rset, rset)
SIMPLE_CMD(engine_noop, noop)
SIMPLE_CMD(engine_quit, quit)
SIMPLE_CMD(engine_starttls, starttls)

/* engine:starttls_begin() -> true | nil, msg, "EPROTO" (bytes after the 220) */
static int engine_starttls_begin(lua_State *L)
{
    lm_smtp *s = check_engine(L, "engine:starttls_begin");
    int rc = lm_smtp_starttls_begin(s);
    if (rc == LM_EPROTO)
        return lmail_fail(L, "smtp: the server sent data after its STARTTLS go-ahead "
                             "(response injection, RFC 3207 section 4)", "EPROTO");
    return cmd_result(L, s, rc, "engine:starttls_begin");
}

/* A secret-holding scratch block from the Lua allocator; wiped and freed
 * by secret_free. Nothing that can raise runs while one is held. */
static unsigned char *secret_alloc(lua_State *L, size_t n)
{
    lm_alloc a = lmail_lua_alloc(L);
    return lm_malloc(&a, n ? n : 1);
}

static void secret_free(lua_State *L, unsigned char *p, size_t n)
{
    lm_alloc a = lmail_lua_alloc(L);
    volatile unsigned char *v = p;
    size_t i;
    for (i = 0; i < n; i++)
        v[i] = 0;
    lm_free(&a, p, n ? n : 1);
}

/* Queues AUTH mech with the SASL message built by the caller in buf. */
static int auth_with(lua_State *L, lm_smtp *s, const char *mech, unsigned char *buf,
                     size_t cap, int rc, size_t len, const char *what)
{
    if (rc == LM_OK)
        rc = lm_smtp_cmd_auth(s, mech, strlen(mech), buf, len, 1);
    secret_free(L, buf, cap);
    if (rc == LM_EINVAL)
        return luaL_error(L, "%s: the user name or secret cannot be sent with %s "
                             "(empty, NUL or control characters)", what, mech);
    return cmd_result(L, s, rc, what);
}

static const char *check_secret(lua_State *L, int idx, size_t *n)
{
    const char *p = luaL_checklstring(L, idx, n);
    luaL_argcheck(L, *n <= MAX_SECRET, idx, "too long");
    return p;
}

/* engine:auth(mech) -> true | nil, msg, code: AUTH without an initial
 * response (LOGIN, CRAM-MD5, others) */
static int engine_auth(lua_State *L)
{
    lm_smtp *s = check_engine(L, "engine:auth");
    size_t n;
    const char *m = luaL_checklstring(L, 2, &n);
    return cmd_result(L, s, lm_smtp_cmd_auth(s, m, n, NULL, 0, 0), "engine:auth");
}

/* engine:auth_plain(user, password [, authzid]) -> true | nil, msg, code
 * AUTH PLAIN with its initial response (RFC 4616, RFC 4954 4) */
static int engine_auth_plain(lua_State *L)
{
    lm_smtp *s = check_engine(L, "engine:auth_plain");
    size_t un, pn, zn, len = 0, cap;
    const char *u = check_secret(L, 2, &un), *p = check_secret(L, 3, &pn);
    const char *z = luaL_optlstring(L, 4, "", &zn);
    unsigned char *buf;
    int rc;
    luaL_argcheck(L, zn <= MAX_SECRET, 4, "too long");
    cap = LM_SASL_PLAIN_BOUND(zn, un, pn);
    buf = secret_alloc(L, cap);
    if (!buf)
        return lmail_fail(L, "smtp: out of memory", "ENOMEM");
    rc = lm_sasl_plain(z, zn, u, un, p, pn, buf, cap, &len);
    return auth_with(L, s, "PLAIN", buf, cap, rc, len, "engine:auth_plain");
}

/* engine:auth_xoauth2(user, token) -> true | nil, msg, code */
static int engine_auth_xoauth2(lua_State *L)
{
    lm_smtp *s = check_engine(L, "engine:auth_xoauth2");
    size_t un, tn, len = 0, cap;
    const char *u = check_secret(L, 2, &un), *t = check_secret(L, 3, &tn);
    unsigned char *buf;
    int rc;
    cap = LM_SASL_XOAUTH2_BOUND(un, tn);
    buf = secret_alloc(L, cap);
    if (!buf)
        return lmail_fail(L, "smtp: out of memory", "ENOMEM");
    rc = lm_sasl_xoauth2(u, un, t, tn, buf, cap, &len);
    return auth_with(L, s, "XOAUTH2", buf, cap, rc, len, "engine:auth_xoauth2");
}

/* engine:auth_oauthbearer(user, token [, host, port]) -> true | nil, msg, code
 * (RFC 7628 3.1) */
static int engine_auth_oauthbearer(lua_State *L)
{
    lm_smtp *s = check_engine(L, "engine:auth_oauthbearer");
    size_t un, tn, hn, len = 0, cap;
    const char *u = check_secret(L, 2, &un), *t = check_secret(L, 3, &tn);
    const char *h = luaL_optlstring(L, 4, "", &hn);
    lua_Integer port = luaL_optinteger(L, 5, 0);
    unsigned char *buf;
    int rc;
    luaL_argcheck(L, hn <= 255, 4, "too long");
    luaL_argcheck(L, port >= 0 && port <= 65535, 5, "must be 0..65535");
    cap = LM_SASL_OAUTHBEARER_BOUND(un, hn, tn);
    buf = secret_alloc(L, cap);
    if (!buf)
        return lmail_fail(L, "smtp: out of memory", "ENOMEM");
    rc = lm_sasl_oauthbearer(u, un, h, hn, (unsigned)port, t, tn, buf, cap, &len);
    return auth_with(L, s, "OAUTHBEARER", buf, cap, rc, len, "engine:auth_oauthbearer");
}

/* engine:auth_response(bytes) -> true | nil, msg, code: the answer to a
 * 334, base64-encoded onto the line (LOGIN's user name and password, or ""
 * to end an OAuth error exchange) */
static int engine_auth_response(lua_State *L)
{
    lm_smtp *s = check_engine(L, "engine:auth_response");
    size_t n;
    const char *p = check_secret(L, 2, &n);
    return cmd_result(L, s, lm_smtp_cmd_auth_response(s, p, n), "engine:auth_response");
}

/* engine:auth_cram(user, password, challenge) -> true | nil, msg, code
 * challenge: the 334 text, still base64 (RFC 2195 2). The digest is made
 * here so the password stays out of Lua strings other than the caller's. */
static int engine_auth_cram(lua_State *L)
{
    lm_smtp *s = check_engine(L, "engine:auth_cram");
    size_t un, pn, cn, len = 0, cap, dn = 0;
    const char *u = check_secret(L, 2, &un), *p = check_secret(L, 3, &pn);
    const char *c = check_secret(L, 4, &cn);
    unsigned char *buf;
    int rc;
    cap = LM_SASL_CRAM_MD5_BOUND(un) + LM_B64_DECODE_BOUND(cn);
    buf = secret_alloc(L, cap);
    if (!buf)
        return lmail_fail(L, "smtp: out of memory", "ENOMEM");
    rc = lm_b64_decode(c, cn, 0, buf + LM_SASL_CRAM_MD5_BOUND(un), &dn, NULL);
    if (rc == LM_OK)
        rc = lm_sasl_cram_md5(u, un, p, pn, (const char *)buf + LM_SASL_CRAM_MD5_BOUND(un), dn,
                              buf, LM_SASL_CRAM_MD5_BOUND(un), &len);
    if (rc == LM_OK)
        rc = lm_smtp_cmd_auth_response(s, buf, len);
    secret_free(L, buf, cap);
    if (rc == LM_EINVAL)
        return luaL_error(L, "engine:auth_cram: bad user name or challenge");
    return cmd_result(L, s, rc, "engine:auth_cram");
}

/* engine:auth_cancel() -> true | nil, msg, code ("*") */
static int engine_auth_cancel(lua_State *L)
{
    lm_smtp *s = check_engine(L, "engine:auth_cancel");
    return cmd_result(L, s, lm_smtp_cmd_auth_cancel(s), "engine:auth_cancel");
}

static size_t body_piece(void *st, const char *in, size_t n, char *out)
{
    size_t w = 0;
    lm_smtp_body(st, in, n, 0, out, &w);
    return w;
}

static size_t body_fin(void *st, char *out)
{
    size_t w = 0;
    lm_smtp_body(st, "", 0, 1, out, &w);
    return w;
}

static size_t body_bound(size_t n)
{
    return 2 * n;
}

/* engine:body(chunk [, final]) -> bytes to send | nil, msg, code
 * Only after the 354: the chunk dot-stuffed and CRLF-normalised; with
 * final the end of the body and the "." line follow in the same string. */
static int engine_body(lua_State *L)
{
    static const codec_ops ops = {body_piece, body_bound, NULL, 0};
    static const codec_ops fin_ops = {body_piece, body_bound, body_fin, 5};
    lm_smtp *s = check_engine(L, "engine:body");
    size_t n;
    const char *p = luaL_checklstring(L, 2, &n);
    const unsigned char *q;
    size_t pn;
    int rc;
    lm_smtp_pending(s, &q, &pn);
    if (lm_smtp_state(s) != LM_SMTP_ST_BODY || pn)
        return cmd_result(L, s, lm_smtp_error(s, NULL) ? lm_smtp_error(s, NULL) : LM_ESTATE,
                          "engine:body");
    luaL_argcheck(L, n <= ((size_t)-1) / 4, 2, "too long");
    lmail_push_pieces(L, s, lua_toboolean(L, 3) ? &fin_ops : &ops, p, n, n + n / 16 + 64);
    /* the end of the body records the reply it awaits; if even that could
     * not be had, the bytes (without their ".") must not go out */
    rc = lm_smtp_error(s, NULL);
    if (rc != LM_OK)
        return cmd_result(L, s, rc, "engine:body");
    return 1;
}

/* engine:bdat(chunk [, last]) -> head, body [, tail] | nil, msg, code
 * (CHUNKING): write head, body and tail in this order. head holds the
 * pending commands and "BDAT n[ LAST]"; a chunk that needs CRLF
 * normalisation (or is small) comes normalised inside head, with body "";
 * a big clean chunk comes back as body itself, uncopied, and tail is
 * "\r\n" when the message needs a final line break after it. */
static int engine_bdat(lua_State *L)
{
    lm_smtp *s = check_engine(L, "engine:bdat");
    smtp_engine *e = lua_touserdata(L, 1);
    size_t n, w = 0, pn, gap;
    const char *p = luaL_checklstring(L, 2, &n);
    const unsigned char *q;
    char *out;
    int last = lua_toboolean(L, 3), rc;
    luaL_argcheck(L, n <= ((size_t)-1) / 4, 2, "too long");
    if (n >= ZERO_COPY_MIN && lm_smtp_clean(s, p, n, 0)) {
        rc = lm_smtp_bdat(s, p, n, last, NULL, &w);
        if (rc != LM_OK)
            return cmd_result(L, s, rc, "engine:bdat");
        lua_settop(L, 2);
        engine_pending(L);
        lua_pushvalue(L, 2);
        if (w)
            lua_pushliteral(L, "\r\n");
        return w ? 3 : 2;
    }
    /* normalise behind a gap that then takes the commands and the BDAT line */
    lm_smtp_pending(s, &q, &pn);
    gap = pn + 40;
    out = scratch_get(L, e, gap + LM_SMTP_BDAT_BOUND(n));
    if (!out)
        return lmail_fail(L, "smtp: out of memory", "ENOMEM");
    rc = lm_smtp_bdat(s, p, n, last, out + gap, &w);
    if (rc != LM_OK)
        return cmd_result(L, s, rc, "engine:bdat");
    lm_smtp_pending(s, &q, &pn);
    memcpy(out + gap - pn, q, pn);
    lua_pushlstring(L, out + gap - pn, pn + w);
    lm_smtp_consume(s, pn);
    if (e->cap > SCRATCH_KEEP)
        scratch_free(L, e);
    lua_pushliteral(L, "");
    return 2;
}

/* engine:clean(chunk [, dots]) -> boolean: whether the body path would
 * leave chunk unchanged at this point */
static int engine_clean(lua_State *L)
{
    lm_smtp *s = check_engine(L, "engine:clean");
    size_t n;
    const char *p = luaL_checklstring(L, 2, &n);
    lua_pushboolean(L, lm_smtp_clean(s, p, n, lua_toboolean(L, 3)));
    return 1;
}

/* engine:capabilities() -> {PIPELINING = true, SIZE = n, AUTH = {"PLAIN", ...},
 * KEYWORD = "params" | true, ...} from the last successful EHLO */
static int engine_capabilities(lua_State *L)
{
    lm_smtp *s = check_engine(L, "engine:capabilities");
    size_t it = 0, kn, pn;
    const char *kw, *p;
    int nauth = 0;
    lua_newtable(L);
    while (lm_smtp_cap_next(s, &it, &kw, &kn, &p, &pn) == LM_OK) {
        if (kn == 4 && memcmp(kw, "AUTH", 4) == 0) {
            size_t i = 0;
            lua_getfield(L, -1, "AUTH");
            if (!lua_istable(L, -1)) {
                lua_pop(L, 1);
                lua_newtable(L);
                lua_pushvalue(L, -1);
                lua_setfield(L, -3, "AUTH");
            }
            while (i < pn) {
                size_t j = i, k;
                while (j < pn && p[j] != ' ')
                    j++;
                if (j > i) {
                    luaL_Buffer b;
                    luaL_buffinit(L, &b);
                    for (k = i; k < j; k++)
                        luaL_addchar(&b, (char)(p[k] >= 'a' && p[k] <= 'z' ? p[k] - 32 : p[k]));
                    luaL_pushresult(&b);
                    lua_rawseti(L, -2, ++nauth);
                }
                i = j + 1;
            }
            lua_pop(L, 1);
            continue;
        }
        lua_pushlstring(L, kw, kn);
        if (kn == 4 && memcmp(kw, "SIZE", 4) == 0)
            lua_pushnumber(L, (lua_Number)lm_smtp_size_limit(s));
        else if (pn)
            lua_pushlstring(L, p, pn);
        else
            lua_pushboolean(L, 1);
        lua_rawset(L, -3);
    }
    return 1;
}

/* engine:auth_offered(mech) -> boolean */
static int engine_auth_offered(lua_State *L)
{
    lm_smtp *s = check_engine(L, "engine:auth_offered");
    size_t n;
    const char *m = luaL_checklstring(L, 2, &n);
    lua_pushboolean(L, lm_smtp_auth_offered(s, m, n));
    return 1;
}

/* engine:close() -> true; also __gc and __close. Idempotent. */
static int engine_close(lua_State *L)
{
    smtp_engine *e = luaL_checkudata(L, 1, ENGINE_MT);
    lm_smtp_free(e->s);
    e->s = NULL;
    scratch_free(L, e);
    lua_pushboolean(L, 1);
    return 1;
}

/* engine:isclosed() -> boolean */
static int engine_isclosed(lua_State *L)
{
    smtp_engine *e = luaL_checkudata(L, 1, ENGINE_MT);
    lua_pushboolean(L, e->s == NULL);
    return 1;
}

void lmail_open_smtp(lua_State *L)
{
    static const luaL_Reg methods[] = {
        {"feed", engine_feed},
        {"next", engine_next},
        {"pending", engine_pending},
        {"outstanding", engine_outstanding},
        {"state", engine_state},
        {"ehlo", engine_ehlo},
        {"helo", engine_helo},
        {"mail", engine_mail},
        {"rcpt", engine_rcpt},
        {"data", engine_data},
        {"rset", engine_rset},
        {"noop", engine_noop},
        {"vrfy", engine_vrfy},
        {"quit", engine_quit},
        {"starttls", engine_starttls},
        {"starttls_begin", engine_starttls_begin},
        {"auth", engine_auth},
        {"auth_plain", engine_auth_plain},
        {"auth_xoauth2", engine_auth_xoauth2},
        {"auth_oauthbearer", engine_auth_oauthbearer},
        {"auth_response", engine_auth_response},
        {"auth_cram", engine_auth_cram},
        {"auth_cancel", engine_auth_cancel},
        {"body", engine_body},
        {"bdat", engine_bdat},
        {"clean", engine_clean},
        {"capabilities", engine_capabilities},
        {"auth_offered", engine_auth_offered},
        {"close", engine_close},
        {"isclosed", engine_isclosed},
        {NULL, NULL},
    };
    static const luaL_Reg meta[] = {
        {"__gc", engine_close}, {"__close", engine_close}, {NULL, NULL}};
    static const luaL_Reg fns[] = {
        {"new", smtp_new},
        {"check_path", smtp_check_path},
        {"check_params", smtp_check_params},
        {"has_8bit", smtp_has_8bit},
        {"scan", smtp_scan},
        {NULL, NULL},
    };
    lmail_define_class(L, ENGINE_MT, methods, meta);
    lmail_register(L, "smtp", fns);
}
