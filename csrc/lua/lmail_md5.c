/* lmail_md5.c: binding of MD5 and HMAC-MD5 (csrc/core/lm_md5.h) as
 * lmail.core.md5; lua/lmail/md5.lua exposes it as lmail.md5.
 *
 * Nothing here allocates besides the result string (and the userdata of
 * md5.new): contexts and digests live on the C stack, so a one-shot call is
 * a type check, the hash and one lua_pushlstring. */
#include "lmail_aux.h"

#include "../core/lm_md5.h"

#define CTX_MT "lmail.md5.context"

typedef struct md5_ud {
    lm_md5_ctx ctx;
    int finished; /* digest taken: every further call raises */
} md5_ud;

/* Strings only: a number would be converted silently by luaL_checklstring,
 * and hashing "12" for 12 is a bug waiting to happen. shown is the argument
 * number the caller sees (self not counted for methods). */
static const char *check_bytes(lua_State *L, int idx, int shown, const char *fname, size_t *n)
{
    if (lua_type(L, idx) != LUA_TSTRING)
        luaL_error(L, "%s: bad argument #%d (string expected, got %s)", fname, shown,
                   luaL_typename(L, idx));
    return lua_tolstring(L, idx, n);
}

static void push_digest(lua_State *L, const unsigned char d[LM_MD5_DIGEST_LEN])
{
    lua_pushlstring(L, (const char *)d, LM_MD5_DIGEST_LEN);
}

static void push_hex(lua_State *L, const unsigned char d[LM_MD5_DIGEST_LEN])
{
    static const char digits[] = "0123456789abcdef";
    char hex[2 * LM_MD5_DIGEST_LEN];
    int i;

    for (i = 0; i < LM_MD5_DIGEST_LEN; i++) {
        hex[2 * i] = digits[d[i] >> 4];
        hex[2 * i + 1] = digits[d[i] & 15];
    }
    lua_pushlstring(L, hex, sizeof hex);
}

static void sum_arg(lua_State *L, const char *fname, unsigned char d[LM_MD5_DIGEST_LEN])
{
    size_t n;
    const char *s = check_bytes(L, 1, 1, fname, &n);
    lm_md5(s, n, d);
}

static void hmac_args(lua_State *L, const char *fname, unsigned char d[LM_MD5_DIGEST_LEN])
{
    size_t kn, n;
    const char *key = check_bytes(L, 1, 1, fname, &kn);
    const char *s = check_bytes(L, 2, 2, fname, &n);
    lm_hmac_md5(key, kn, s, n, d);
}

/* md5.sum(s) -> 16-byte binary digest */
static int md5_sum(lua_State *L)
{
    unsigned char d[LM_MD5_DIGEST_LEN];
    sum_arg(L, "md5.sum", d);
    push_digest(L, d);
    return 1;
}

/* md5.hex(s) -> 32 lowercase hex characters */
static int md5_hex(lua_State *L)
{
    unsigned char d[LM_MD5_DIGEST_LEN];
    sum_arg(L, "md5.hex", d);
    push_hex(L, d);
    return 1;
}

/* md5.hmac(key, s) -> 16-byte binary HMAC-MD5 (RFC 2104) */
static int md5_hmac(lua_State *L)
{
    unsigned char d[LM_MD5_DIGEST_LEN];
    hmac_args(L, "md5.hmac", d);
    push_digest(L, d);
    return 1;
}

/* md5.hmac_hex(key, s) -> 32 lowercase hex characters */
static int md5_hmac_hex(lua_State *L)
{
    unsigned char d[LM_MD5_DIGEST_LEN];
    hmac_args(L, "md5.hmac_hex", d);
    push_hex(L, d);
    return 1;
}

/* md5.new() -> context */
static int md5_new(lua_State *L)
{
    md5_ud *u = (md5_ud *)lua_newuserdatauv(L, sizeof *u, 0);
    lm_md5_init(&u->ctx);
    u->finished = 0;
    luaL_getmetatable(L, CTX_MT);
    lua_setmetatable(L, -2);
    return 1;
}

/* The context at index 1, or a raise naming fname; an unfinished one
 * unless any_state. */
static md5_ud *check_ctx(lua_State *L, const char *fname, int any_state)
{
    md5_ud *u = (md5_ud *)lua_touserdata(L, 1);
    int ok = 0;

    if (u && lua_getmetatable(L, 1)) {
        luaL_getmetatable(L, CTX_MT);
        ok = lua_rawequal(L, -1, -2);
        lua_pop(L, 2);
    }
    if (!ok)
        luaL_error(L, "%s: bad self (" CTX_MT " expected, got %s)", fname, luaL_typename(L, 1));
    if (u->finished && !any_state)
        luaL_error(L, "%s: context already finished (digest taken)", fname);
    return u;
}

/* h:update(s) -> h */
static int ctx_update(lua_State *L)
{
    md5_ud *u = check_ctx(L, "md5:update", 0);
    size_t n;
    const char *s = check_bytes(L, 2, 1, "md5:update", &n);

    lm_md5_update(&u->ctx, s, n);
    lua_settop(L, 1);
    return 1;
}

static void finish(lua_State *L, const char *fname, unsigned char d[LM_MD5_DIGEST_LEN])
{
    md5_ud *u = check_ctx(L, fname, 0);
    lm_md5_final(&u->ctx, d);
    u->finished = 1;
}

/* h:digest() -> 16-byte binary digest; h is finished afterwards */
static int ctx_digest(lua_State *L)
{
    unsigned char d[LM_MD5_DIGEST_LEN];
    finish(L, "md5:digest", d);
    push_digest(L, d);
    return 1;
}

/* h:hexdigest() -> 32 lowercase hex characters; h is finished afterwards */
static int ctx_hexdigest(lua_State *L)
{
    unsigned char d[LM_MD5_DIGEST_LEN];
    finish(L, "md5:hexdigest", d);
    push_hex(L, d);
    return 1;
}

/* tostring(h) -> "lmail.md5.context (open): 0x..." */
static int ctx__tostring(lua_State *L)
{
    md5_ud *u = check_ctx(L, "md5:__tostring", 1);
    lua_pushfstring(L, CTX_MT " (%s): %p", u->finished ? "finished" : "open", (void *)u);
    return 1;
}

void lmail_open_md5(lua_State *L)
{
    static const luaL_Reg fns[] = {
        {"sum", md5_sum},   {"hex", md5_hex}, {"hmac", md5_hmac}, {"hmac_hex", md5_hmac_hex},
        {"new", md5_new},   {NULL, NULL},
    };
    static const luaL_Reg methods[] = {
        {"update", ctx_update}, {"digest", ctx_digest}, {"hexdigest", ctx_hexdigest}, {NULL, NULL},
    };
    static const luaL_Reg meta[] = {
        {"__tostring", ctx__tostring},
        {NULL, NULL},
    };

    lmail_define_class(L, CTX_MT, methods, meta);
    lmail_register(L, "md5", fns);
}
