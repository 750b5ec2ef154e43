/* lmail_pop3.c: binding of the POP3 engine (csrc/core/lm_pop3.h) as
 * lmail.core.pop3; lua/lmail/pop3.lua drives it over a transport. The
 * binding only translates: Lua strings in, Lua values out, engine refusals
 * and failures as nil, message, code. */
#include "lmail_aux.h"

#include <stdio.h>
#include <string.h>

#include "../core/lm_pop3.h"

#define ENGINE_MT "lmail.pop3.engine"

typedef struct pop3_engine {
    lm_pop3 *p; /* NULL once closed */
} pop3_engine;

static lm_pop3 *check_engine(lua_State *L, const char *what)
{
    pop3_engine *e = luaL_checkudata(L, 1, ENGINE_MT);
    if (!e->p)
        luaL_error(L, "%s: engine is closed", what);
    return e->p;
}

/* nil, "pop3: <why> (at byte N)", code for the sticky error. */
static int engine_fail(lua_State *L, lm_pop3 *p, int rc)
{
    const char *why;
    uint64_t off = 0;
    if (lm_pop3_error(p, &why, &off) != LM_OK && why[0]) {
        char at[32];
        snprintf(at, sizeof at, "%llu", (unsigned long long)off);
        lua_pushnil(L);
        lua_pushfstring(L, "pop3: %s (at byte %s)", why, at);
        lua_pushstring(L, lm_errname(rc));
        return 3;
    }
    return lmail_fail_rc(L, "pop3", rc);
}

/* true, or nil, message, code for a command the engine refused. */
static int command_result(lua_State *L, lm_pop3 *p, const char *what, int rc)
{
    if (rc == LM_OK) {
        lua_pushboolean(L, 1);
        return 1;
    }
    if (lm_pop3_error(p, NULL, NULL) != LM_OK)
        return engine_fail(L, p, rc);
    lua_pushnil(L);
    lua_pushfstring(L, "%s: %s", what,
                    lm_pop3_refusal(p)[0] ? lm_pop3_refusal(p) : lm_strerror(rc));
    lua_pushstring(L, lm_errname(rc));
    return 3;
}

/* core.pop3.new([opts]) -> engine
 * opts: max_line, max_buffered, max_message_size, max_entries, max_pipeline */
static int pop3_new(lua_State *L)
{
    lm_pop3_opts o;
    lm_alloc a = lmail_lua_alloc(L);
    pop3_engine *e;
    int rc;
    memset(&o, 0, sizeof o);
    if (!lua_isnoneornil(L, 1)) {
        luaL_checktype(L, 1, LUA_TTABLE);
        o.max_line = (size_t)lmail_opt_limit(L, 1, "max_line", "pop3.new");
        o.max_buffered = (size_t)lmail_opt_limit(L, 1, "max_buffered", "pop3.new");
        o.max_body = lmail_opt_limit(L, 1, "max_message_size", "pop3.new");
        o.max_entries = lmail_opt_limit(L, 1, "max_entries", "pop3.new");
        o.max_pipeline = (unsigned)lmail_opt_limit(L, 1, "max_pipeline", "pop3.new");
    }
    e = lua_newuserdatauv(L, sizeof *e, 0);
    e->p = NULL;
    luaL_getmetatable(L, ENGINE_MT);
    lua_setmetatable(L, -2);
    rc = lm_pop3_new(&e->p, &o, &a);
    if (rc != LM_OK)
        return luaL_error(L, "pop3.new: %s", lm_strerror(rc));
    return 1;
}

/* engine:feed(bytes) -> true | nil, msg, code */
static int eng_feed(lua_State *L)
{
    lm_pop3 *p = check_engine(L, "engine:feed");
    size_t n;
    const char *s = luaL_checklstring(L, 2, &n);
    int rc = lm_pop3_feed(p, s, n);
    if (rc != LM_OK)
        return engine_fail(L, p, rc);
    lua_pushboolean(L, 1);
    return 1;
}

/* engine:eof() -> true | nil, msg, "ECLOSED" (a response was unfinished) */
static int eng_eof(lua_State *L)
{
    lm_pop3 *p = check_engine(L, "engine:eof");
    int rc = lm_pop3_eof(p);
    if (rc != LM_OK)
        return engine_fail(L, p, rc);
    lua_pushboolean(L, 1);
    return 1;
}

static void push_opt_string(lua_State *L, const char *s, size_t n)
{
    if (s)
        lua_pushlstring(L, s, n);
    else
        lua_pushnil(L);
}

/* The "+OK" of STAT, LIST n and UIDL n carries two values. */
static int push_ok(lua_State *L, const lm_pop3_event *ev)
{
    lua_pushstring(L, "ok");
    lua_pushstring(L, lm_pop3_cmd_name(ev->cmd));
    lua_pushlstring(L, ev->text, ev->len);
    push_opt_string(L, ev->code, ev->code_len);
    lua_pushboolean(L, ev->multi);
    if (ev->cmd == LM_POP3_CMD_STAT || (!ev->multi && ev->cmd == LM_POP3_CMD_LIST)) {
        lua_pushinteger(L, (lua_Integer)ev->num);
        lua_pushinteger(L, (lua_Integer)ev->size);
        return 7;
    }
    if (!ev->multi && ev->cmd == LM_POP3_CMD_UIDL) {
        lua_pushinteger(L, (lua_Integer)ev->num);
        lua_pushlstring(L, ev->arg, ev->arg_len);
        return 7;
    }
    return 5;
}

/* engine:next() -> kind, ... | false (more input needed) | nil, msg, code
 *   "ok", cmd, text, code, multi [, a, b]   (STAT: count, octets; LIST n:
 *                                            n, octets; UIDL n: n, uid)
 *   "err", cmd, text, code       "challenge", bytes    "capa", tag, args
 *   "list", n, octets            "uidl", n, uid        "data", bytes
 *   "end", cmd
 * cmd is "greeting", "CAPA", "USER", ...; code is the RFC 2449 response
 * code ("IN-USE", "SYS/TEMP", ...) or nil. */
static int eng_next(lua_State *L)
{
    lm_pop3 *p = check_engine(L, "engine:next");
    lm_pop3_event ev;
    int rc = lm_pop3_next_event(p, &ev);
    if (rc == LM_EAGAIN) {
        lua_pushboolean(L, 0);
        return 1;
    }
    if (rc != LM_OK)
        return engine_fail(L, p, rc);
    switch (ev.type) {
    case LM_POP3_EV_OK:
        return push_ok(L, &ev);
    case LM_POP3_EV_ERR:
        lua_pushstring(L, "err");
        lua_pushstring(L, lm_pop3_cmd_name(ev.cmd));
        lua_pushlstring(L, ev.text, ev.len);
        push_opt_string(L, ev.code, ev.code_len);
        return 4;
    case LM_POP3_EV_CHALLENGE:
        lua_pushstring(L, "challenge");
        lua_pushlstring(L, ev.text, ev.len);
        return 2;
    case LM_POP3_EV_CAPA:
        lua_pushstring(L, "capa");
        lua_pushlstring(L, ev.text, ev.len);
        lua_pushlstring(L, ev.arg, ev.arg_len);
        return 3;
    case LM_POP3_EV_LIST:
        lua_pushstring(L, "list");
        lua_pushinteger(L, (lua_Integer)ev.num);
        lua_pushinteger(L, (lua_Integer)ev.size);
        return 3;
    case LM_POP3_EV_UIDL:
        lua_pushstring(L, "uidl");
        lua_pushinteger(L, (lua_Integer)ev.num);
        lua_pushlstring(L, ev.arg, ev.arg_len);
        return 3;
    case LM_POP3_EV_DATA:
        lua_pushstring(L, "data");
        lua_pushlstring(L, ev.text, ev.len);
        return 2;
    default:
        lua_pushstring(L, "end");
        lua_pushstring(L, lm_pop3_cmd_name(ev.cmd));
        return 2;
    }
}

/* engine:pending() -> bytes to send (possibly ""); they count as sent */
static int eng_pending(lua_State *L)
{
    lm_pop3 *p = check_engine(L, "engine:pending");
    const unsigned char *d;
    size_t n;
    lm_pop3_pending(p, &d, &n);
    lua_pushlstring(L, (const char *)d, n);
    lm_pop3_consume(p, n);
    return 1;
}

/* engine:state() -> "GREETING" | "AUTHORIZATION" | "TRANSACTION" | "UPDATE" | "CLOSED" */
static int eng_state(lua_State *L)
{
    lm_pop3 *p = check_engine(L, "engine:state");
    lua_pushstring(L, lm_pop3_state_name(lm_pop3_state(p)));
    return 1;
}

/* engine:outstanding() -> number of responses still expected */
static int eng_outstanding(lua_State *L)
{
    lm_pop3 *p = check_engine(L, "engine:outstanding");
    lua_pushinteger(L, (lua_Integer)lm_pop3_outstanding(p));
    return 1;
}

/* engine:capable(name) -> boolean, for the capabilities the engine tracks:
 * "PIPELINING", "STLS", "UIDL", "TOP", "USER", "SASL" (from the last CAPA) */
static int eng_capable(lua_State *L)
{
    static const char *const names[] = {"PIPELINING", "STLS", "UIDL", "TOP", "USER",
                                        "SASL", NULL};
    lm_pop3 *p = check_engine(L, "engine:capable");
    int i = luaL_checkoption(L, 2, NULL, names);
    lua_pushboolean(L, (lm_pop3_caps(p) & (1u << i)) != 0);
    return 1;
}

/* engine:tls() -> whether stls_begin has run */
static int eng_tls(lua_State *L)
{
    lm_pop3 *p = check_engine(L, "engine:tls");
    lua_pushboolean(L, lm_pop3_tls(p));
    return 1;
}

/* engine:timestamp() -> the APOP timestamp | nil, "none" | "malformed" */
static int eng_timestamp(lua_State *L)
{
    lm_pop3 *p = check_engine(L, "engine:timestamp");
    const char *ts;
    size_t n;
    int st = lm_pop3_timestamp(p, &ts, &n);
    if (st == LM_POP3_TS_VALID) {
        lua_pushlstring(L, ts, n);
        return 1;
    }
    lua_pushnil(L);
    lua_pushstring(L, st == LM_POP3_TS_MALFORMED ? "malformed" : "none");
    return 2;
}

/* engine:stls_begin() -> true | nil, msg, code ("EPROTO": bytes followed
 * the go-ahead) */
static int eng_stls_begin(lua_State *L)
{
    lm_pop3 *p = check_engine(L, "engine:stls_begin");
    return command_result(L, p, "STLS", lm_pop3_stls_begin(p));
}

typedef int (*simple_cmd)(lm_pop3 *);

static int run_simple(lua_State *L, const char *what, simple_cmd fn)
{
    lm_pop3 *p = check_engine(L, what);
    return command_result(L, p, what, fn(p));
}

/* engine:capa() / stls() / stat() / rset() / noop() / quit() -> true | nil, msg, code */
static int eng_capa(lua_State *L)
{
    return run_simple(L, "CAPA", lm_pop3_cmd_capa);
}

static int eng_stls(lua_State *L)
{
    return run_simple(L, "STLS", lm_pop3_cmd_stls);
}

static int eng_stat(lua_State *L)
{
    return run_simple(L, "STAT", lm_pop3_cmd_stat);
}

static int eng_rset(lua_State *L)
{
    return run_simple(L, "RSET", lm_pop3_cmd_rset);
}

static int eng_noop(lua_State *L)
{
    return run_simple(L, "NOOP", lm_pop3_cmd_noop);
}

static int eng_quit(lua_State *L)
{
    return run_simple(L, "QUIT", lm_pop3_cmd_quit);
}

static int eng_auth_cancel(lua_State *L)
{
    return run_simple(L, "AUTH", lm_pop3_auth_cancel);
}

/* A number argument: an integer (the engine checks the range and answers
 * EINVAL; a value below min is passed as one it refuses). Absent and
 * optional: 0. */
static uint64_t arg_number(lua_State *L, int idx, int optional, lua_Integer min)
{
    lua_Integer v;
    if (optional && lua_isnoneornil(L, idx))
        return 0;
    v = luaL_checkinteger(L, idx);
    return v < min ? UINT64_MAX : (uint64_t)v;
}

typedef int (*number_cmd)(lm_pop3 *, uint64_t);

static int run_number(lua_State *L, const char *what, number_cmd fn, int optional)
{
    lm_pop3 *p = check_engine(L, what);
    uint64_t n = arg_number(L, 2, optional, 1);
    return command_result(L, p, what, fn(p, n));
}

/* engine:list([n]) / uidl([n]) / retr(n) / dele(n) -> true | nil, msg, code */
static int eng_list(lua_State *L)
{
    return run_number(L, "LIST", lm_pop3_cmd_list, 1);
}

static int eng_uidl(lua_State *L)
{
    return run_number(L, "UIDL", lm_pop3_cmd_uidl, 1);
}

static int eng_retr(lua_State *L)
{
    return run_number(L, "RETR", lm_pop3_cmd_retr, 0);
}

static int eng_dele(lua_State *L)
{
    return run_number(L, "DELE", lm_pop3_cmd_dele, 0);
}

/* engine:top(n, lines) -> true | nil, msg, code */
static int eng_top(lua_State *L)
{
    lm_pop3 *p = check_engine(L, "TOP");
    uint64_t n = arg_number(L, 2, 0, 1), lines = arg_number(L, 3, 0, 0);
    return command_result(L, p, "TOP", lm_pop3_cmd_top(p, n, lines));
}

/* engine:user(name) / pass(password) -> true | nil, msg, code */
static int eng_user(lua_State *L)
{
    lm_pop3 *p = check_engine(L, "USER");
    size_t n;
    const char *s = luaL_checklstring(L, 2, &n);
    return command_result(L, p, "USER", lm_pop3_cmd_user(p, s, n));
}

static int eng_pass(lua_State *L)
{
    lm_pop3 *p = check_engine(L, "PASS");
    size_t n;
    const char *s = luaL_checklstring(L, 2, &n);
    return command_result(L, p, "PASS", lm_pop3_cmd_pass(p, s, n));
}

/* engine:apop(name, secret) -> true | nil, msg, code */
static int eng_apop(lua_State *L)
{
    lm_pop3 *p = check_engine(L, "APOP");
    size_t n, sn;
    const char *name = luaL_checklstring(L, 2, &n);
    const char *secret = luaL_checklstring(L, 3, &sn);
    return command_result(L, p, "APOP", lm_pop3_cmd_apop(p, name, n, secret, sn));
}

/* engine:auth(mech [, initial_response]) -> true | nil, msg, code */
static int eng_auth(lua_State *L)
{
    lm_pop3 *p = check_engine(L, "AUTH");
    const char *mech = luaL_checkstring(L, 2);
    size_t n = 0;
    const char *ir = luaL_optlstring(L, 3, NULL, &n);
    return command_result(L, p, "AUTH", lm_pop3_cmd_auth(p, mech, ir, n, ir != NULL));
}

/* engine:auth_plain(user, password [, authzid]) -> true | nil, msg, code */
static int eng_auth_plain(lua_State *L)
{
    lm_pop3 *p = check_engine(L, "AUTH PLAIN");
    size_t un, pn, azn = 0;
    const char *user = luaL_checklstring(L, 2, &un);
    const char *pass = luaL_checklstring(L, 3, &pn);
    const char *authz = luaL_optlstring(L, 4, "", &azn);
    return command_result(L, p, "AUTH PLAIN",
                          lm_pop3_cmd_auth_plain(p, authz, azn, user, un, pass, pn));
}

/* engine:auth_xoauth2(user, token) -> true | nil, msg, code */
static int eng_auth_xoauth2(lua_State *L)
{
    lm_pop3 *p = check_engine(L, "AUTH XOAUTH2");
    size_t un, tn;
    const char *user = luaL_checklstring(L, 2, &un);
    const char *token = luaL_checklstring(L, 3, &tn);
    return command_result(L, p, "AUTH XOAUTH2",
                          lm_pop3_cmd_auth_xoauth2(p, user, un, token, tn));
}

/* engine:auth_oauthbearer(user, token [, host, port]) -> true | nil, msg, code */
static int eng_auth_oauthbearer(lua_State *L)
{
    lm_pop3 *p = check_engine(L, "AUTH OAUTHBEARER");
    size_t un, tn, hn = 0;
    const char *user = luaL_checklstring(L, 2, &un);
    const char *token = luaL_checklstring(L, 3, &tn);
    const char *host = luaL_optlstring(L, 4, "", &hn);
    lua_Integer port = luaL_optinteger(L, 5, 0);
    luaL_argcheck(L, port >= 0 && port <= 65535, 5, "port must be 0..65535");
    return command_result(L, p, "AUTH OAUTHBEARER",
                          lm_pop3_cmd_auth_oauthbearer(p, user, un, host, hn, (unsigned)port,
                                                       token, tn));
}

/* engine:auth_reply(bytes) -> true | nil, msg, code (sent base64-encoded) */
static int eng_auth_reply(lua_State *L)
{
    lm_pop3 *p = check_engine(L, "AUTH");
    size_t n;
    const char *s = luaL_checklstring(L, 2, &n);
    return command_result(L, p, "AUTH", lm_pop3_auth_reply(p, s, n));
}

/* engine:auth_cram_md5(user, password) -> true | nil, msg, code */
static int eng_auth_cram_md5(lua_State *L)
{
    lm_pop3 *p = check_engine(L, "AUTH CRAM-MD5");
    size_t un, pn;
    const char *user = luaL_checklstring(L, 2, &un);
    const char *pass = luaL_checklstring(L, 3, &pn);
    return command_result(L, p, "AUTH CRAM-MD5", lm_pop3_auth_cram_md5(p, user, un, pass, pn));
}

/* engine:close() -> true; also __gc and __close. Idempotent. */
static int eng_close(lua_State *L)
{
    pop3_engine *e = luaL_checkudata(L, 1, ENGINE_MT);
    lm_pop3_free(e->p);
    e->p = NULL;
    lua_pushboolean(L, 1);
    return 1;
}

static int eng_tostring(lua_State *L)
{
    pop3_engine *e = luaL_checkudata(L, 1, ENGINE_MT);
    if (!e->p)
        lua_pushstring(L, ENGINE_MT " (closed)");
    else
        lua_pushfstring(L, ENGINE_MT " (%s)", lm_pop3_state_name(lm_pop3_state(e->p)));
    return 1;
}

void lmail_open_pop3(lua_State *L)
{
    static const luaL_Reg methods[] = {
        {"feed", eng_feed},
        {"eof", eng_eof},
        {"next", eng_next},
        {"pending", eng_pending},
        {"state", eng_state},
        {"outstanding", eng_outstanding},
        {"capable", eng_capable},
        {"tls", eng_tls},
        {"timestamp", eng_timestamp},
        {"capa", eng_capa},
        {"stls", eng_stls},
        {"stls_begin", eng_stls_begin},
        {"user", eng_user},
        {"pass", eng_pass},
        {"apop", eng_apop},
        {"auth", eng_auth},
        {"auth_plain", eng_auth_plain},
        {"auth_xoauth2", eng_auth_xoauth2},
        {"auth_oauthbearer", eng_auth_oauthbearer},
        {"auth_reply", eng_auth_reply},
        {"auth_cram_md5", eng_auth_cram_md5},
        {"auth_cancel", eng_auth_cancel},
        {"stat", eng_stat},
        {"list", eng_list},
        {"uidl", eng_uidl},
        {"retr", eng_retr},
        {"top", eng_top},
        {"dele", eng_dele},
        {"rset", eng_rset},
        {"noop", eng_noop},
        {"quit", eng_quit},
        {"close", eng_close},
        {NULL, NULL},
    };
    static const luaL_Reg meta[] = {
        {"__gc", eng_close},
        {"__close", eng_close},
        {"__tostring", eng_tostring},
        {NULL, NULL},
    };
    static const luaL_Reg fns[] = {
        {"new", pop3_new},
        {NULL, NULL},
    };
    lmail_define_class(L, ENGINE_MT, methods, meta);
    lmail_register(L, "pop3", fns);
}
