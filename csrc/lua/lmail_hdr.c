/* lmail_hdr.c: binding of the header-field functions (csrc/core/lm_hdr.h)
 * and charset conversion (lm_charset.h) as lmail.core.hdr; lua/lmail/mime
 * wraps them (mime.encode_words, mime.decode_words, the parser's header
 * accessors). Core output goes to an lm_buf owned by a userdata, so a Lua
 * error while pushing results never leaks it. */
#include "lmail_aux.h"

#include <string.h>

#include "../core/lm_charset.h"
#include "../core/lm_hdr.h"
#include "lmail_hdr.h"

#define BUF_MT "lmail.hdr.buffer"

static int buf_gc(lua_State *L)
{
    lm_buf *b = luaL_checkudata(L, 1, BUF_MT);
    lm_buf_free(b);
    return 0;
}

lm_buf *lmail_newbuf(lua_State *L)
{
    lm_buf *b = lua_newuserdatauv(L, sizeof *b, 0);
    lm_alloc a = lmail_lua_alloc(L);
    memset(b, 0, sizeof *b);
    luaL_getmetatable(L, BUF_MT);
    lua_setmetatable(L, -2);
    lm_buf_init(b, &a, (size_t)-1);
    return b;
}

static void push_buf(lua_State *L, const lm_buf *b)
{
    lua_pushlstring(L, (const char *)lm_buf_data(b), lm_buf_size(b));
}

/* core.hdr.decode_words(s) -> utf8, warnings (an integer of LM_HDR_W_* bits) */
static int hdr_decode_words(lua_State *L)
{
    size_t n;
    const char *s = luaL_checklstring(L, 1, &n);
    lm_buf *b = lmail_newbuf(L);
    unsigned warn = 0;
    int rc = lm_hdr_decode_words(s, n, b, &warn);
    if (rc != LM_OK)
        return lmail_fail_rc(L, "mime.decode_words", rc);
    push_buf(L, b);
    lua_pushinteger(L, (lua_Integer)warn);
    lm_buf_free(b);
    return 2;
}

/* core.hdr.encode_words(s [, charset [, "text" | "phrase" [, first_room]]])
 *   -> string | nil, msg, "EINVAL" */
static int hdr_encode_words(lua_State *L)
{
    static const char *const modes[] = {"text", "phrase", NULL};
    size_t n, cslen = 0;
    const char *s = luaL_checklstring(L, 1, &n);
    const char *cs = luaL_optlstring(L, 2, NULL, &cslen);
    int mode = luaL_checkoption(L, 3, "text", modes);
    lua_Integer room = luaL_optinteger(L, 4, 0);
    lm_buf *b = lmail_newbuf(L);
    int rc = lm_hdr_encode_words(s, n, cs, cslen, mode, room > 0 ? (size_t)room : 0, b);
    if (rc == LM_EINVAL)
        return lmail_fail(L, "mime.encode_words: text is not UTF-8, holds CR, LF or NUL, or "
                             "has no form in that charset", "EINVAL");
    if (rc != LM_OK)
        return lmail_fail_rc(L, "mime.encode_words", rc);
    push_buf(L, b);
    lm_buf_free(b);
    return 1;
}

/* core.hdr.params(s [, "type" | "disposition"]) -> value, {name = value},
 * warnings, {names in order} */
static int hdr_params(lua_State *L)
{
    static const char *const kinds[] = {"type", "disposition", NULL};
    size_t n, pos = 0, k, vk, order = 0;
    const char *s = luaL_checklstring(L, 1, &n), *r, *v;
    int kind = luaL_checkoption(L, 2, "type", kinds);
    lm_buf *b = lmail_newbuf(L);
    unsigned warn = 0;
    int rc = lm_hdr_params(s, n, kind == 0 ? LM_HDR_CTYPE : LM_HDR_DISPOSITION, b, &warn);
    if (rc != LM_OK)
        return lmail_fail_rc(L, "mime params", rc);
    if (lm_hdr_rec_next(lm_buf_data(b), lm_buf_size(b), &pos, &r, &k) != LM_OK)
        r = "", k = 0;
    lua_pushlstring(L, r, k);
    lua_newtable(L);
    lua_newtable(L);
    while (lm_hdr_rec_next(lm_buf_data(b), lm_buf_size(b), &pos, &r, &k) == LM_OK &&
           lm_hdr_rec_next(lm_buf_data(b), lm_buf_size(b), &pos, &v, &vk) == LM_OK) {
        lua_pushlstring(L, r, k);
        lua_pushvalue(L, -1);
        lua_rawseti(L, -3, (lua_Integer)++order);
        lua_pushlstring(L, v, vk);
        lua_rawset(L, -4);
    }
    lua_pushinteger(L, (lua_Integer)warn);
    lua_insert(L, -2);
    lm_buf_free(b);
    return 4;
}

/* core.hdr.addresses(s) -> { {name = ..., addr = ..., group = ...}, ... }
 *   | nil, msg, "EINVAL" */
static int hdr_addresses(lua_State *L)
{
    size_t n, pos = 0, off = 0, i = 0, k[3];
    const char *s = luaL_checklstring(L, 1, &n), *r[3];
    lm_buf *b = lmail_newbuf(L);
    int rc = lm_hdr_addresses(s, n, b, &off);
    if (rc == LM_EINVAL) {
        lua_pushnil(L);
        lua_pushfstring(L, "malformed or ambiguous address list at offset %d", (int)off);
        lua_pushstring(L, "EINVAL");
        return 3;
    }
    if (rc != LM_OK)
        return lmail_fail_rc(L, "addresses", rc);
    lua_newtable(L);
    while (lm_hdr_rec_next(lm_buf_data(b), lm_buf_size(b), &pos, &r[0], &k[0]) == LM_OK &&
           lm_hdr_rec_next(lm_buf_data(b), lm_buf_size(b), &pos, &r[1], &k[1]) == LM_OK &&
           lm_hdr_rec_next(lm_buf_data(b), lm_buf_size(b), &pos, &r[2], &k[2]) == LM_OK) {
        lua_createtable(L, 0, 3);
        lua_pushlstring(L, r[0], k[0]);
        lua_setfield(L, -2, "name");
        lua_pushlstring(L, r[1], k[1]);
        lua_setfield(L, -2, "addr");
        if (k[2]) {
            lua_pushlstring(L, r[2], k[2]);
            lua_setfield(L, -2, "group");
        }
        lua_rawseti(L, -2, (lua_Integer)++i);
    }
    lm_buf_free(b);
    return 1;
}

/* core.hdr.date(s) -> seconds since the epoch (UTC), zone minutes | nil */
static int hdr_date(lua_State *L)
{
    size_t n;
    const char *s = luaL_checklstring(L, 1, &n);
    int64_t t;
    int zone;
    if (lm_hdr_date(s, n, &t, &zone) != LM_OK) {
        lua_pushnil(L);
        return 1;
    }
    lua_pushinteger(L, (lua_Integer)t);
    lua_pushinteger(L, zone);
    return 2;
}

/* core.hdr.unfold(s) -> s with folding line breaks removed (RFC 5322 2.2.3) */
static int hdr_unfold(lua_State *L)
{
    size_t n;
    const char *s = luaL_checklstring(L, 1, &n);
    lm_buf *b = lmail_newbuf(L);
    int rc = lm_hdr_unfold(s, n, b);
    if (rc != LM_OK)
        return lmail_fail_rc(L, "unfold", rc);
    push_buf(L, b);
    lm_buf_free(b);
    return 1;
}

/* core.hdr.to_utf8(s, charset) -> utf8, flags (1: unknown charset,
 * 2: invalid bytes replaced by U+FFFD) */
static int hdr_to_utf8(lua_State *L)
{
    size_t n, cn;
    const char *s = luaL_checklstring(L, 1, &n);
    const char *cs = luaL_checklstring(L, 2, &cn);
    lm_buf *b = lmail_newbuf(L);
    unsigned flags = 0;
    int rc = lm_charset_to_utf8(cs, cn, s, n, b, &flags);
    if (rc != LM_OK)
        return lmail_fail_rc(L, "charset", rc);
    push_buf(L, b);
    lua_pushinteger(L, (lua_Integer)flags);
    lm_buf_free(b);
    return 2;
}

/* core.hdr.from_utf8(s, charset) -> string | nil, msg, "EINVAL" */
static int hdr_from_utf8(lua_State *L)
{
    size_t n, cn;
    const char *s = luaL_checklstring(L, 1, &n);
    const char *cs = luaL_checklstring(L, 2, &cn);
    lm_buf *b = lmail_newbuf(L);
    int rc = lm_charset_from_utf8(cs, cn, s, n, b);
    if (rc == LM_EINVAL)
        return lmail_fail(L, "charset: unknown charset, or text it cannot represent", "EINVAL");
    if (rc != LM_OK)
        return lmail_fail_rc(L, "charset", rc);
    push_buf(L, b);
    lm_buf_free(b);
    return 1;
}

/* core.hdr.charset_known(label) -> boolean */
static int hdr_charset_known(lua_State *L)
{
    size_t n;
    const char *s = luaL_checklstring(L, 1, &n);
    lua_pushboolean(L, lm_charset_known(s, n));
    return 1;
}

/* core.hdr.utf8_valid(s) -> boolean */
static int hdr_utf8_valid(lua_State *L)
{
    size_t n;
    const char *s = luaL_checklstring(L, 1, &n);
    lua_pushboolean(L, lm_utf8_valid(s, n));
    return 1;
}

static const luaL_Reg hdr_fns[] = {
    {"decode_words", hdr_decode_words},
    {"encode_words", hdr_encode_words},
    {"params", hdr_params},
    {"addresses", hdr_addresses},
    {"date", hdr_date},
    {"unfold", hdr_unfold},
    {"to_utf8", hdr_to_utf8},
    {"from_utf8", hdr_from_utf8},
    {"charset_known", hdr_charset_known},
    {"utf8_valid", hdr_utf8_valid},
    {NULL, NULL},
};

void lmail_open_hdr(lua_State *L)
{
    static const luaL_Reg meta[] = {{"__gc", buf_gc}, {NULL, NULL}};
    static const luaL_Reg none[] = {{NULL, NULL}};
    lmail_define_class(L, BUF_MT, none, meta);
    lmail_register(L, "hdr", hdr_fns);
}
