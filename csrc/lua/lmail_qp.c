/* lmail_qp.c: binding of the quoted-printable codec (csrc/core/lm_qp.h) as
 * lmail.core.qp. lmail.mime assigns encode/decode directly as
 * mime.qpencode/mime.qpdecode, so Lua 5.4 names them so in argument errors. */
#include "lmail_pieces.h"

#include <string.h>

#include "../core/lm_qp.h"

#define ENC_MT "lmail.qp.encoder"
#define DEC_MT "lmail.qp.decoder"

/* Keeps the bound macros far from size_t overflow. */
#define QP_MAX_INPUT ((size_t)-1 / 8)


static const char *check_input(lua_State *L, int idx, size_t *n)
{
    const char *s = luaL_checklstring(L, idx, n);
    luaL_argcheck(L, *n <= QP_MAX_INPUT, idx, "string too long");
    return s;
}

/* opts: nil or a table; opts.binary: nil or a boolean. */
static int check_enc_flags(lua_State *L, int idx)
{
    int binary;
    if (lua_isnoneornil(L, idx))
        return 0;
    luaL_checktype(L, idx, LUA_TTABLE);
    lua_getfield(L, idx, "binary");
    if (!lua_isnil(L, -1) && !lua_isboolean(L, -1))
        luaL_argerror(L, idx, "opts.binary must be a boolean");
    binary = lua_toboolean(L, -1);
    lua_pop(L, 1);
    return binary ? LM_QP_BINARY : 0;
}

static void *new_object(lua_State *L, size_t size, const char *mt)
{
    void *p = lua_newuserdatauv(L, size, 0);
    memset(p, 0, size);
    luaL_getmetatable(L, mt);
    lua_setmetatable(L, -2);
    return p;
}

static size_t enc_piece(void *e, const char *in, size_t n, char *out)
{
    size_t w;
    lm_qp_enc_step(e, in, n, out, &w);
    return w;
}

static size_t enc_fin(void *e, char *out)
{
    size_t w;
    lm_qp_enc_finish(e, out, &w);
    return w;
}

static size_t enc_bound(size_t n)
{
    return LM_QP_ENCODE_BOUND(n);
}

static size_t dec_piece(void *d, const char *in, size_t n, char *out)
{
    size_t w;
    lm_qp_dec_step(d, in, n, out, &w);
    return w;
}

static size_t dec_fin(void *d, char *out)
{
    size_t w;
    lm_qp_dec_finish(d, out, &w);
    return w;
}

static size_t dec_bound(size_t n)
{
    return LM_QP_DECODE_BOUND(n);
}

static const codec_ops enc_ops = {enc_piece, enc_bound, NULL, 0};
static const codec_ops enc_all_ops = {enc_piece, enc_bound, enc_fin, LM_QP_ENCODE_BOUND(0)};
static const codec_ops dec_ops = {dec_piece, dec_bound, NULL, 0};
static const codec_ops dec_all_ops = {dec_piece, dec_bound, dec_fin, LM_QP_DECODE_BOUND(0)};

/* Mail text mostly encodes to itself plus a few escapes and soft breaks. */
static size_t enc_guess(size_t n)
{
    return n + n / 8 + 2 * LM_QP_ENCODE_BOUND(0);
}

/* Decoding never grows the data; the margin covers the bound of one piece
 * and of the finish. */
static size_t dec_guess(size_t n)
{
    return n + 2 * LM_QP_DECODE_BOUND(0);
}

/* core.qp.encode(s [, opts]) -> string   (opts.binary: CR, LF as =0D =0A) */
static int qp_encode(lua_State *L)
{
    size_t n;
    const char *s = check_input(L, 1, &n);
    lm_qp_enc e;
    lm_qp_enc_init(&e, check_enc_flags(L, 2));
    lmail_push_pieces(L, &e, &enc_all_ops, s, n, enc_guess(n));
    return 1;
}

/* core.qp.decode(s) -> string   (lenient: malformed escapes kept verbatim) */
static int qp_decode(lua_State *L)
{
    size_t n;
    const char *s = check_input(L, 1, &n);
    lm_qp_dec d;
    lm_qp_dec_init(&d, 0);
    lmail_push_pieces(L, &d, &dec_all_ops, s, n, dec_guess(n));
    return 1;
}

/* core.qp.encoder([opts]) -> encoder */
static int qp_encoder(lua_State *L)
{
    int flags = check_enc_flags(L, 1);
    lm_qp_enc *e = new_object(L, sizeof *e, ENC_MT);
    lm_qp_enc_init(e, flags);
    return 1;
}

/* encoder:step(chunk) -> string (possibly empty: the last byte waits) */
static int enc_step(lua_State *L)
{
    lm_qp_enc *e = luaL_checkudata(L, 1, ENC_MT);
    size_t n;
    const char *s = check_input(L, 2, &n);
    lmail_push_pieces(L, e, &enc_ops, s, n, enc_guess(n));
    return 1;
}

/* encoder:finish() -> string; the encoder is then ready for a new stream */
static int enc_finish(lua_State *L)
{
    lm_qp_enc *e = luaL_checkudata(L, 1, ENC_MT);
    char out[LM_QP_ENCODE_BOUND(0)];
    size_t len;
    lm_qp_enc_finish(e, out, &len);
    lua_pushlstring(L, out, len);
    return 1;
}

/* core.qp.decoder([opts]) -> decoder   (no options yet; opts must be a
 * table when given) */
static int qp_decoder(lua_State *L)
{
    lm_qp_dec *d;
    if (!lua_isnoneornil(L, 1))
        luaL_checktype(L, 1, LUA_TTABLE);
    d = new_object(L, sizeof *d, DEC_MT);
    lm_qp_dec_init(d, 0);
    return 1;
}

/* decoder:step(chunk) -> string (trailing white space waits for its line) */
static int dec_step(lua_State *L)
{
    lm_qp_dec *d = luaL_checkudata(L, 1, DEC_MT);
    size_t n;
    const char *s = check_input(L, 2, &n);
    lmail_push_pieces(L, d, &dec_ops, s, n, dec_guess(n));
    return 1;
}

/* decoder:finish() -> string; the decoder is then ready for a new stream */
static int dec_finish(lua_State *L)
{
    lm_qp_dec *d = luaL_checkudata(L, 1, DEC_MT);
    char out[LM_QP_DECODE_BOUND(0)];
    size_t len;
    lm_qp_dec_finish(d, out, &len);
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

static const luaL_Reg qp_fns[] = {
    {"encode", qp_encode},   {"decode", qp_decode}, {"encoder", qp_encoder},
    {"decoder", qp_decoder}, {NULL, NULL},
};

void lmail_open_qp(lua_State *L)
{
    lmail_define_class(L, ENC_MT, enc_methods, NULL);
    lmail_define_class(L, DEC_MT, dec_methods, NULL);
    lmail_register(L, "qp", qp_fns);
}
