/* lmail_b64.c: binding of the base64 codec (csrc/core/lm_b64.h) as
 * lmail.core.b64. lmail.mime assigns these functions directly, so Lua 5.4
 * names them lmail.mime.b64encode etc. in argument errors. */
#include "lmail_pieces.h"

#include <stdio.h>
#include <string.h>

#include "../core/lm_b64.h"

#define ENC_MT "lmail.b64.encoder"
#define DEC_MT "lmail.b64.decoder"

/* Keeps every bound macro far from size_t overflow. */
#define B64_MAX_INPUT ((size_t)-1 / 4)

/* Result strings are written in place into a buffer of the bound size and
 * then cut to the real length, so an input costs one bound-sized block plus
 * the result, never a chain of reallocations. From LMAIL_SCRATCH_MIN bytes
 * on, that block is the state's scratch buffer (lmail_pieces.h), so that
 * repeated large calls cost no fresh block but the result itself. */
typedef struct out_buf {
    luaL_Buffer b;
    int scratch; /* the output is in the scratch buffer */
} out_buf;

#if LUA_VERSION_NUM >= 502
static char *buf_begin(lua_State *L, luaL_Buffer *b, size_t n)
{
    return luaL_buffinitsize(L, b, n);
}

static void buf_end(lua_State *L, luaL_Buffer *b, const char *out, size_t n)
{
    (void)L;
    (void)out;
    luaL_pushresultsize(b, n);
}
#else
static char *buf_begin(lua_State *L, luaL_Buffer *b, size_t n)
{
    (void)b;
    return lua_newuserdata(L, n ? n : 1);
}

static void buf_end(lua_State *L, luaL_Buffer *b, const char *out, size_t n)
{
    (void)b;
    lua_pushlstring(L, out, n);
    lua_replace(L, -2);
}
#endif

static char *out_begin(lua_State *L, out_buf *o, size_t n)
{
    char *p = n >= LMAIL_SCRATCH_MIN ? lmail_scratch_get(L, n) : NULL;
    o->scratch = p != NULL;
    return p ? p : buf_begin(L, &o->b, n);
}

static void out_end(lua_State *L, out_buf *o, const char *out, size_t n)
{
    if (o->scratch)
        lmail_scratch_push(L, out, n);
    else
        buf_end(L, &o->b, out, n);
}

static const char *check_input(lua_State *L, int idx, size_t *n)
{
    const char *s = luaL_checklstring(L, idx, n);
    luaL_argcheck(L, *n <= B64_MAX_INPUT, idx, "string too long");
    return s;
}

/* linelen: absent/nil = 76 (RFC 2045 6.8), 0 = one line, else a positive
 * multiple of 4. */
static size_t check_linelen(lua_State *L, int idx)
{
    lua_Integer ll = luaL_optinteger(L, idx, 76);
    luaL_argcheck(L, ll >= 0 && ll % 4 == 0 && (lua_Integer)LM_B64_MAX_LINELEN >= ll, idx,
                  "linelen must be 0 or a positive multiple of 4");
    return (size_t)ll;
}

static int check_strict(lua_State *L, int idx)
{
    if (lua_isnoneornil(L, idx))
        return 0;
    if (!lua_isboolean(L, idx))
        return luaL_argerror(L, idx,
                             lua_pushfstring(L, "boolean expected, got %s", luaL_typename(L, idx)));
    return lua_toboolean(L, idx);
}

/* nil, "base64: ... at offset N", "EINVAL" for a failed decoder. */
static int dec_fail(lua_State *L, const lm_b64_dec *d)
{
    char msg[96];
    int truncated;
    unsigned long long off = (unsigned long long)lm_b64_dec_error(d, &truncated);
    snprintf(msg, sizeof msg, "base64: %s at offset %llu",
             truncated ? "incomplete final quantum" : "invalid character", off);
    return lmail_fail(L, msg, lm_errname(LM_EINVAL));
}

/* core.b64.encode(s [, linelen]) -> string */
static int b64_encode(lua_State *L)
{
    size_t n, len;
    const char *s = check_input(L, 1, &n);
    size_t ll = check_linelen(L, 2);
    out_buf b;
    /* the exact size: the buffer is the one big transient block */
    char *out = out_begin(L, &b, lm_b64_encoded_len(n, ll));
    lm_b64_encode(s, n, ll, out, &len);
    out_end(L, &b, out, len);
    return 1;
}

/* core.b64.decode(s [, strict]) -> string | nil, msg, "EINVAL" */
static int b64_decode(lua_State *L)
{
    size_t n, a, z = 0;
    const char *s = check_input(L, 1, &n);
    lm_b64_dec d;
    out_buf b;
    char *out;
    int rc;
    lm_b64_dec_init(&d, check_strict(L, 2), LM_B64_AUTO);
    out = out_begin(L, &b, LM_B64_DECODE_BOUND(n));
    rc = lm_b64_dec_step(&d, s, n, out, &a);
    if (rc == LM_OK)
        rc = lm_b64_dec_finish(&d, out + a, &z);
    if (rc != LM_OK)
        return dec_fail(L, &d);
    out_end(L, &b, out, a + z);
    return 1;
}

/* core.b64.impl() -> "avx2" | "ssse3" | "scalar" (the path used here) */
static int b64_impl(lua_State *L)
{
    lua_pushstring(L, lm_b64_impl_name(LM_B64_AUTO));
    return 1;
}

static void *new_object(lua_State *L, size_t size, const char *mt)
{
    void *p = lua_newuserdatauv(L, size, 0);
    luaL_getmetatable(L, mt);
    lua_setmetatable(L, -2);
    memset(p, 0, size);
    return p;
}

/* core.b64.encoder([linelen]) -> encoder */
static int b64_encoder(lua_State *L)
{
    size_t ll = check_linelen(L, 1);
    lm_b64_enc *e = new_object(L, sizeof *e, ENC_MT);
    lm_b64_enc_init(e, ll, LM_B64_AUTO);
    return 1;
}

/* encoder:step(chunk) -> string (possibly empty: up to 2 bytes wait) */
static int enc_step(lua_State *L)
{
    lm_b64_enc *e = luaL_checkudata(L, 1, ENC_MT);
    size_t n, len;
    const char *s = check_input(L, 2, &n);
    out_buf b;
    char *out = out_begin(L, &b, LM_B64_ENCODE_BOUND(n, e->linelen));
    lm_b64_enc_step(e, s, n, out, &len);
    out_end(L, &b, out, len);
    return 1;
}

/* encoder:finish() -> string (last quantum, padding, final CRLF); the
 * encoder is then ready for a new stream */
static int enc_finish(lua_State *L)
{
    lm_b64_enc *e = luaL_checkudata(L, 1, ENC_MT);
    char out[LM_B64_ENCODE_BOUND(0, 4)];
    size_t len;
    lm_b64_enc_finish(e, out, &len);
    lua_pushlstring(L, out, len);
    return 1;
}

/* core.b64.decoder([strict]) -> decoder */
static int b64_decoder(lua_State *L)
{
    int strict = check_strict(L, 1);
    lm_b64_dec *d = new_object(L, sizeof *d, DEC_MT);
    lm_b64_dec_init(d, strict, LM_B64_AUTO);
    return 1;
}

/* decoder:step(chunk) -> string | nil, msg, "EINVAL" (then every later
 * call fails the same way until finish) */
static int dec_step(lua_State *L)
{
    lm_b64_dec *d = luaL_checkudata(L, 1, DEC_MT);
    size_t n, len;
    const char *s = check_input(L, 2, &n);
    out_buf b;
    char *out = out_begin(L, &b, LM_B64_DECODE_BOUND(n));
    if (lm_b64_dec_step(d, s, n, out, &len) != LM_OK)
        return dec_fail(L, d);
    out_end(L, &b, out, len);
    return 1;
}

/* decoder:finish() -> string | nil, msg, "EINVAL"; the decoder is then
 * ready for a new stream */
static int dec_finish(lua_State *L)
{
    lm_b64_dec *d = luaL_checkudata(L, 1, DEC_MT);
    char out[LM_B64_DECODE_BOUND(0)];
    size_t len;
    if (lm_b64_dec_finish(d, out, &len) != LM_OK)
        return dec_fail(L, d);
    lua_pushlstring(L, out, len);
    return 1;
}

static const luaL_Reg enc_methods[] = {
    {"step", enc_step},
    {"finish", enc_finish},
    {NULL, NULL},
};

static const luaL_Reg dec_methods[] = {
    {"step", dec_step},
    {"finish", dec_finish},
    {NULL, NULL},
};

static const luaL_Reg b64_fns[] = {
    {"encode", b64_encode},   {"decode", b64_decode},   {"encoder", b64_encoder},
    {"decoder", b64_decoder}, {"impl", b64_impl},       {NULL, NULL},
};

void lmail_open_b64(lua_State *L)
{
    lmail_define_class(L, ENC_MT, enc_methods, NULL);
    lmail_define_class(L, DEC_MT, dec_methods, NULL);
    lmail_register(L, "b64", b64_fns);
}
