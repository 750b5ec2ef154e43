/* lmail_tls.c: binding of the TLS engine (csrc/tls/lm_tls.h) as
 * lmail.core.tls; lua/lmail/tls.lua drives it over a transport. The engine
 * never calls Lua and the binding never calls a transport: every
 * ciphertext byte goes through Lua strings, so no C memory is held while
 * Lua code runs. */
#include "lmail_aux.h"

#include <string.h>

#include "../tls/lm_tls.h"

#define CTX_MT "lmail.tls.context"
#define ENGINE_MT "lmail.tls.engine"

/* read(max) hands back at most this much per call (the contract allows
 * 1..max); a TLS record holds at most 16 KiB anyway (RFC 8446 5.1). */
#define READ_CHUNK 65536

typedef struct tls_context {
    lm_tls_ctx *ctx; /* NULL once closed */
} tls_context;

typedef struct tls_engine {
    lm_tls *t; /* NULL once closed */
} tls_engine;

static lm_tls_ctx *check_ctx(lua_State *L, int idx, const char *what)
{
    tls_context *c = luaL_checkudata(L, idx, CTX_MT);
    if (!c->ctx)
        luaL_error(L, "%s: context is closed", what);
    return c->ctx;
}

static lm_tls *check_engine(lua_State *L, const char *what)
{
    tls_engine *e = luaL_checkudata(L, 1, ENGINE_MT);
    if (!e->t)
        luaL_error(L, "%s: engine is closed", what);
    return e->t;
}

/* nil, message, code [, detail]; the detail table only for ECERT. */
static int engine_fail(lua_State *L, lm_tls *t, int rc)
{
    long v = lm_tls_verify_code(t);
    lua_pushnil(L);
    lua_pushstring(L, lm_tls_errmsg(t)[0] ? lm_tls_errmsg(t) : lm_strerror(rc));
    lua_pushstring(L, lm_errname(rc));
    if (rc != LM_ECERT)
        return 3;
    lua_createtable(L, 0, 2);
    lua_pushstring(L, lm_tls_verify_reason(v));
    lua_setfield(L, -2, "reason");
    lua_pushinteger(L, (lua_Integer)v);
    lua_setfield(L, -2, "verify_code");
    return 4;
}

/* opts[field]: nil or a string (raises otherwise); stays valid while opts
 * is on the stack. */
static const char *opt_string(lua_State *L, const char *field)
{
    const char *s;
    lua_getfield(L, 1, field);
    if (lua_isnil(L, -1)) {
        lua_pop(L, 1);
        return NULL;
    }
    if (lua_type(L, -1) != LUA_TSTRING)
        luaL_error(L, "tls.context: opts.%s must be a string", field);
    s = lua_tostring(L, -1);
    lua_pop(L, 1);
    return s;
}

/* core.tls.context(opts) -> context | nil, msg, code
 * opts: {cafile =, capath =, cert =, key =, insecure = boolean} */
static int tls_context_new(lua_State *L)
{
    lm_tls_ctx_opts o;
    tls_context *c;
    char err[LM_TLS_ERRMAX];
    int rc;
    luaL_checktype(L, 1, LUA_TTABLE);
    memset(&o, 0, sizeof o);
    o.cafile = opt_string(L, "cafile");
    o.capath = opt_string(L, "capath");
    o.cert = opt_string(L, "cert");
    o.key = opt_string(L, "key");
    lua_getfield(L, 1, "insecure");
    o.insecure = lua_toboolean(L, -1);
    lua_pop(L, 1);
    c = lua_newuserdatauv(L, sizeof *c, 0);
    c->ctx = NULL;
    luaL_getmetatable(L, CTX_MT);
    lua_setmetatable(L, -2);
    rc = lm_tls_ctx_new(&c->ctx, &o, err, sizeof err);
    if (rc != LM_OK)
        return lmail_fail(L, err[0] ? err : lm_strerror(rc), lm_errname(rc));
    return 1;
}

/* context:close() -> true; also __gc and __close. Idempotent. Engines made
 * from it keep working. */
static int ctx_close(lua_State *L)
{
    tls_context *c = luaL_checkudata(L, 1, CTX_MT);
    lm_tls_ctx_free(c->ctx);
    c->ctx = NULL;
    lua_pushboolean(L, 1);
    return 1;
}

/* core.tls.new(context, host | nil) -> engine | nil, msg, code
 * host may be nil only for an insecure context. */
static int tls_engine_new(lua_State *L)
{
    lm_tls_ctx *ctx = check_ctx(L, 1, "tls.new");
    const char *host = luaL_optstring(L, 2, NULL);
    tls_engine *e = lua_newuserdatauv(L, sizeof *e, 0);
    int rc;
    e->t = NULL;
    luaL_getmetatable(L, ENGINE_MT);
    lua_setmetatable(L, -2);
    rc = lm_tls_new(&e->t, ctx, host);
    if (rc == LM_EINVAL)
        return lmail_fail(L, "tls.new: host is required (and must be a valid name "
                             "or address) unless insecure", "EINVAL");
    if (rc != LM_OK)
        return lmail_fail_rc(L, "tls.new", rc);
    return 1;
}

/* engine:handshake() -> true (done) | false (feed more) | nil, msg, code [, detail]
 * Send engine:pending() after every call, failure included (alerts). */
static int engine_handshake(lua_State *L)
{
    lm_tls *t = check_engine(L, "engine:handshake");
    int rc = lm_tls_handshake(t);
    if (rc == LM_OK || rc == LM_EAGAIN) {
        lua_pushboolean(L, rc == LM_OK);
        return 1;
    }
    return engine_fail(L, t, rc);
}

/* engine:feed(ciphertext) -> true | nil, msg, code */
static int engine_feed(lua_State *L)
{
    lm_tls *t = check_engine(L, "engine:feed");
    size_t n;
    const char *s = luaL_checklstring(L, 2, &n);
    int rc = lm_tls_feed(t, s, n);
    if (rc != LM_OK)
        return lmail_fail_rc(L, "engine:feed", rc);
    lua_pushboolean(L, 1);
    return 1;
}

/* engine:pending() -> ciphertext to send (possibly "") */
static int engine_pending(lua_State *L)
{
    lm_tls *t = check_engine(L, "engine:pending");
    luaL_Buffer b;
    size_t n;
    luaL_buffinit(L, &b);
    while ((n = lm_tls_pending(t)) > 0) {
#if LUA_VERSION_NUM >= 502
        char *p = luaL_prepbuffsize(&b, n);
#else
        char *p = luaL_prepbuffer(&b);
        n = n < LUAL_BUFFERSIZE ? n : LUAL_BUFFERSIZE;
#endif
        luaL_addsize(&b, lm_tls_take(t, p, n));
    }
    luaL_pushresult(&b);
    return 1;
}

/* engine:write(plaintext [, i [, j]]) -> true | nil, msg, code
 * Encrypts plaintext:sub(i, j) without copying it; the ciphertext becomes
 * pending. Only after the handshake. */
static int engine_write(lua_State *L)
{
    lm_tls *t = check_engine(L, "engine:write");
    size_t n;
    const char *s = luaL_checklstring(L, 2, &n);
    lua_Integer i = luaL_optinteger(L, 3, 1), j = luaL_optinteger(L, 4, (lua_Integer)n);
    int rc;
    luaL_argcheck(L, i >= 1, 3, "must be >= 1");
    if (j > (lua_Integer)n)
        j = (lua_Integer)n;
    if (j < i) {
        lua_pushboolean(L, 1);
        return 1;
    }
    rc = lm_tls_write(t, s + i - 1, (size_t)(j - i + 1));
    if (rc == LM_ESTATE)
        return luaL_error(L, "engine:write: the handshake is not finished");
    if (rc != LM_OK)
        return engine_fail(L, t, rc);
    lua_pushboolean(L, 1);
    return 1;
}

/* engine:read(max) -> plaintext (1..max bytes) | false (feed more)
 *                   | nil, msg, code   ("ECLOSED": close_notify received) */
static int engine_read(lua_State *L)
{
    lm_tls *t = check_engine(L, "engine:read");
    lua_Integer max = luaL_checkinteger(L, 2);
    luaL_Buffer b;
    size_t got = 0;
    char *p;
    int rc;
    luaL_argcheck(L, max >= 1, 2, "must be >= 1");
    if (max > READ_CHUNK)
        max = READ_CHUNK;
    luaL_buffinit(L, &b);
#if LUA_VERSION_NUM >= 502
    p = luaL_prepbuffsize(&b, (size_t)max);
#else
    p = luaL_prepbuffer(&b);
    max = max < LUAL_BUFFERSIZE ? max : LUAL_BUFFERSIZE;
#endif
    rc = lm_tls_read(t, p, (size_t)max, &got);
    if (rc == LM_ESTATE)
        return luaL_error(L, "engine:read: the handshake is not finished");
    if (rc == LM_EAGAIN) {
        lua_pushboolean(L, 0);
        return 1;
    }
    if (rc != LM_OK)
        return engine_fail(L, t, rc);
    luaL_addsize(&b, got);
    luaL_pushresult(&b);
    return 1;
}

/* engine:shutdown() -> true | nil, msg, code   (queues close_notify) */
static int engine_shutdown(lua_State *L)
{
    lm_tls *t = check_engine(L, "engine:shutdown");
    int rc = lm_tls_shutdown(t);
    if (rc != LM_OK)
        return engine_fail(L, t, rc);
    lua_pushboolean(L, 1);
    return 1;
}

static void set_string(lua_State *L, const char *k, const char *v)
{
    lua_pushstring(L, v);
    lua_setfield(L, -2, k);
}

/* engine:info() -> {protocol =, cipher =, subject =, issuer =, verified =}
 *                | nil, msg, "ESTATE" before the handshake */
static int engine_info(lua_State *L)
{
    lm_tls *t = check_engine(L, "engine:info");
    lm_tls_info info;
    if (lm_tls_get_info(t, &info) != LM_OK)
        return lmail_fail(L, "engine:info: the handshake is not finished", "ESTATE");
    lua_createtable(L, 0, 5);
    set_string(L, "protocol", info.protocol);
    set_string(L, "cipher", info.cipher);
    set_string(L, "subject", info.subject);
    set_string(L, "issuer", info.issuer);
    lua_pushboolean(L, info.verified);
    lua_setfield(L, -2, "verified");
    return 1;
}

/* engine:close() -> true; also __gc and __close. Idempotent. */
static int engine_close(lua_State *L)
{
    tls_engine *e = luaL_checkudata(L, 1, ENGINE_MT);
    lm_tls_free(e->t);
    e->t = NULL;
    lua_pushboolean(L, 1);
    return 1;
}

/* engine:isclosed() -> boolean */
static int engine_isclosed(lua_State *L)
{
    tls_engine *e = luaL_checkudata(L, 1, ENGINE_MT);
    lua_pushboolean(L, e->t == NULL);
    return 1;
}

void lmail_open_tls(lua_State *L)
{
    static const luaL_Reg ctx_methods[] = {{"close", ctx_close}, {NULL, NULL}};
    static const luaL_Reg ctx_meta[] = {
        {"__gc", ctx_close}, {"__close", ctx_close}, {NULL, NULL}};
    static const luaL_Reg engine_methods[] = {
        {"handshake", engine_handshake}, {"feed", engine_feed},
        {"pending", engine_pending},     {"write", engine_write},
        {"read", engine_read},           {"shutdown", engine_shutdown},
        {"info", engine_info},           {"close", engine_close},
        {"isclosed", engine_isclosed},   {NULL, NULL}};
    static const luaL_Reg engine_meta[] = {
        {"__gc", engine_close}, {"__close", engine_close}, {NULL, NULL}};
    static const luaL_Reg fns[] = {
        {"context", tls_context_new}, {"new", tls_engine_new}, {NULL, NULL}};
    lmail_define_class(L, CTX_MT, ctx_methods, ctx_meta);
    lmail_define_class(L, ENGINE_MT, engine_methods, engine_meta);
    lmail_register(L, "tls", fns);
}
