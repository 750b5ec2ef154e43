/* lmail_eol.c: binding of CRLF normalisation (csrc/core/lm_eol.h) as
 * lmail.core.eol, and of SMTP dot-stuffing and the POP3 multi-line reader
 * (csrc/core/lm_dot.h) as lmail.core.dot. */
#include "lmail_pieces.h"

#include <string.h>

#include "../core/lm_dot.h"
#include "../core/lm_eol.h"

#define EOL_MT "lmail.eol.normalizer"
#define STUFF_MT "lmail.dot.stuffer"
#define UNSTUFF_MT "lmail.dot.unstuffer"

/* Keeps the bound macros far from size_t overflow. */
#define EOL_MAX_INPUT ((size_t)-1 / 4)


static const char *check_input(lua_State *L, int idx, size_t *n)
{
    const char *s = luaL_checklstring(L, idx, n);
    luaL_argcheck(L, *n <= EOL_MAX_INPUT, idx, "string too long");
    return s;
}

static void *new_object(lua_State *L, size_t size, const char *mt)
{
    void *p = lua_newuserdatauv(L, size, 0);
    memset(p, 0, size);
    luaL_getmetatable(L, mt);
    lua_setmetatable(L, -2);
    return p;
}

static size_t eol_piece(void *e, const char *in, size_t n, char *out)
{
    size_t w;
    lm_eol_step(e, in, n, out, &w);
    return w;
}

static size_t eol_bound(size_t n)
{
    return LM_EOL_BOUND(n);
}

static size_t stuff_piece(void *st, const char *in, size_t n, char *out)
{
    size_t w;
    lm_dot_stuff_step(st, in, n, out, &w);
    return w;
}

static size_t stuff_fin(void *st, char *out)
{
    size_t w;
    lm_dot_stuff_finish(st, out, &w);
    return w;
}

static size_t stuff_bound(size_t n)
{
    return LM_DOT_STUFF_BOUND(n);
}

static const codec_ops eol_ops = {eol_piece, eol_bound, NULL, 0};
static const codec_ops stuff_ops = {stuff_piece, stuff_bound, NULL, 0};
static const codec_ops stuff_all_ops = {stuff_piece, stuff_bound, stuff_fin, LM_DOT_FINISH_MAX};

/* Mail text mostly has CRLF lines already, or LF lines some 60 bytes long. */
static size_t line_guess(size_t n)
{
    return n + n / 16 + 64;
}

/* core.eol.normalize(s) -> string with every line end CRLF */
static int eol_normalize(lua_State *L)
{
    size_t n;
    const char *s = check_input(L, 1, &n);
    lm_eol e;
    lm_eol_init(&e);
    lmail_push_pieces(L, &e, &eol_ops, s, n, line_guess(n));
    return 1;
}

/* core.eol.normalizer() -> normalizer */
static int eol_normalizer(lua_State *L)
{
    lm_eol *e = new_object(L, sizeof *e, EOL_MT);
    lm_eol_init(e);
    return 1;
}

/* normalizer:step(chunk) -> string */
static int eol_step(lua_State *L)
{
    lm_eol *e = luaL_checkudata(L, 1, EOL_MT);
    size_t n;
    const char *s = check_input(L, 2, &n);
    lmail_push_pieces(L, e, &eol_ops, s, n, line_guess(n));
    return 1;
}

/* normalizer:finish() -> "" (nothing is ever held back); then reusable */
static int eol_finish(lua_State *L)
{
    lm_eol *e = luaL_checkudata(L, 1, EOL_MT);
    size_t len;
    lm_eol_finish(e, &len);
    lua_pushliteral(L, "");
    return 1;
}

/* core.dot.stuff(s) -> the stuffed body, CRLF lines, ending in ".\r\n" */
static int dot_stuff(lua_State *L)
{
    size_t n;
    const char *s = check_input(L, 1, &n);
    lm_dot_stuffer st;
    lm_dot_stuff_init(&st);
    lmail_push_pieces(L, &st, &stuff_all_ops, s, n, line_guess(n));
    return 1;
}

/* core.dot.stuffer() -> stuffer */
static int dot_stuffer(lua_State *L)
{
    lm_dot_stuffer *st = new_object(L, sizeof *st, STUFF_MT);
    lm_dot_stuff_init(st);
    return 1;
}

/* stuffer:step(chunk) -> string */
static int stuff_step(lua_State *L)
{
    lm_dot_stuffer *st = luaL_checkudata(L, 1, STUFF_MT);
    size_t n;
    const char *s = check_input(L, 2, &n);
    lmail_push_pieces(L, st, &stuff_ops, s, n, line_guess(n));
    return 1;
}

/* stuffer:finish() -> "\r\n.\r\n" or ".\r\n"; then ready for a new body */
static int stuff_finish(lua_State *L)
{
    lm_dot_stuffer *st = luaL_checkudata(L, 1, STUFF_MT);
    char out[LM_DOT_FINISH_MAX];
    size_t len;
    lm_dot_stuff_finish(st, out, &len);
    lua_pushlstring(L, out, len);
    return 1;
}

/* core.dot.unstuffer() -> unstuffer (POP3 multi-line response reader) */
static int dot_unstuffer(lua_State *L)
{
    lm_dot_unstuffer *u = new_object(L, sizeof *u, UNSTUFF_MT);
    lm_dot_unstuff_init(u);
    return 1;
}

/* unstuffer:step(chunk) -> data, done [, rest]: data is unstuffed (CRLF
 * kept); once done, rest holds the bytes after the terminating line (later
 * steps give "", true, chunk) */
static int unstuff_step(lua_State *L)
{
    lm_dot_unstuffer *u = luaL_checkudata(L, 1, UNSTUFF_MT);
    size_t n, len, used;
    const char *s = check_input(L, 2, &n);
    int rc;
#if LUA_VERSION_NUM >= 502
    luaL_Buffer b;
    char *out = luaL_buffinitsize(L, &b, LM_DOT_UNSTUFF_BOUND(n));
    rc = lm_dot_unstuff_step(u, s, n, out, &len, &used);
    luaL_pushresultsize(&b, len);
#else
    char *out = lua_newuserdata(L, LM_DOT_UNSTUFF_BOUND(n));
    rc = lm_dot_unstuff_step(u, s, n, out, &len, &used);
    lua_pushlstring(L, out, len);
    lua_remove(L, -2);
#endif
    lua_pushboolean(L, rc == LM_OK);
    if (rc != LM_OK)
        return 2;
    lua_pushlstring(L, s + used, n - used);
    return 3;
}

/* unstuffer:finish() -> "" | nil, msg, "EPROTO" when the input ended
 * before the terminating line; then ready for a new response */
static int unstuff_finish(lua_State *L)
{
    lm_dot_unstuffer *u = luaL_checkudata(L, 1, UNSTUFF_MT);
    int rc = lm_dot_unstuff_finish(u);
    if (rc != LM_OK)
        return lmail_fail(L, "unstuffer: input ended before the terminating \".\" line",
                          lm_errname(rc));
    lua_pushliteral(L, "");
    return 1;
}

static const luaL_Reg eol_methods[] = {
    {"step", eol_step},
    {"finish", eol_finish},
    {NULL, NULL},
};

static const luaL_Reg stuff_methods[] = {
    {"step", stuff_step},
    {"finish", stuff_finish},
    {NULL, NULL},
};

static const luaL_Reg unstuff_methods[] = {
    {"step", unstuff_step},
    {"finish", unstuff_finish},
    {NULL, NULL},
};

static const luaL_Reg eol_fns[] = {
    {"normalize", eol_normalize},
    {"normalizer", eol_normalizer},
    {NULL, NULL},
};

static const luaL_Reg dot_fns[] = {
    {"stuff", dot_stuff},
    {"stuffer", dot_stuffer},
    {"unstuffer", dot_unstuffer},
    {NULL, NULL},
};

/* Registers both core.eol and core.dot: they share the line scanner. */
void lmail_open_eol(lua_State *L)
{
    lmail_define_class(L, EOL_MT, eol_methods, NULL);
    lmail_define_class(L, STUFF_MT, stuff_methods, NULL);
    lmail_define_class(L, UNSTUFF_MT, unstuff_methods, NULL);
    lmail_register(L, "eol", eol_fns);
    lmail_register(L, "dot", dot_fns);
}
