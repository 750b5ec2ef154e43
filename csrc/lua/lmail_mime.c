/* lmail_mime.c: binding of the MIME parser (csrc/core/lm_mime.h) as
 * lmail.core.mime; lua/lmail/mime/parse.lua builds the part tree from its
 * events. Body data is not copied into Lua: body events give stream
 * offsets, and the Lua side cuts parts out of the message it keeps. */
#include "lmail_aux.h"

#include <stdio.h>
#include <string.h>

#include "../core/lm_b64.h"
#include "../core/lm_mime.h"
#include "../core/lm_mime_body.h"
#include "../core/lm_qp.h"

#define PARSER_MT "lmail.mime.parser"

typedef struct parser_ud {
    lm_mime *p; /* NULL once closed */
} parser_ud;

static parser_ud *check_parser(lua_State *L, const char *what)
{
    parser_ud *u = luaL_checkudata(L, 1, PARSER_MT);
    if (!u->p)
        luaL_error(L, "%s: parser is closed", what);
    return u;
}

/* core.mime.parser([opts]) -> parser   (opts: max_depth, max_parts,
 * max_header_bytes, max_line_length) */
static int mime_parser(lua_State *L)
{
    lm_mime_opts o;
    lm_alloc a = lmail_lua_alloc(L);
    parser_ud *u;
    int rc;
    memset(&o, 0, sizeof o);
    if (!lua_isnoneornil(L, 1)) {
        luaL_checktype(L, 1, LUA_TTABLE);
        o.max_depth = (size_t)lmail_opt_limit(L, 1, "max_depth", "mime.parse");
        o.max_parts = (size_t)lmail_opt_limit(L, 1, "max_parts", "mime.parse");
        o.max_header_bytes = (size_t)lmail_opt_limit(L, 1, "max_header_bytes", "mime.parse");
        o.max_line = (size_t)lmail_opt_limit(L, 1, "max_line_length", "mime.parse");
    }
    u = lua_newuserdatauv(L, sizeof *u, 0);
    u->p = NULL;
    luaL_getmetatable(L, PARSER_MT);
    lua_setmetatable(L, -2);
    if ((rc = lm_mime_new(&u->p, &o, &a)) != LM_OK)
        return lmail_fail_rc(L, "mime.parse", rc);
    return 1;
}

static int parse_fail(lua_State *L, lm_mime *p, int rc)
{
    const char *limit;
    unsigned long long off = (unsigned long long)lm_mime_error_offset(p, &limit);
    char msg[128];
    if (limit)
        snprintf(msg, sizeof msg, "mime.parse: %s exceeded at offset %llu", limit, off);
    else
        snprintf(msg, sizeof msg, "mime.parse: %s", lm_strerror(rc));
    return lmail_fail(L, msg, lm_errname(rc));
}

/* parser:feed(chunk) -> true | nil, msg, code */
static int parser_feed(lua_State *L)
{
    parser_ud *u = check_parser(L, "parser:feed");
    size_t n;
    const char *s = luaL_checklstring(L, 2, &n);
    int rc = lm_mime_feed(u->p, s, n);
    if (rc == LM_ESTATE)
        return luaL_error(L, "parser:feed: input already finished");
    if (rc != LM_OK)
        return parse_fail(L, u->p, rc);
    lua_pushboolean(L, 1);
    return 1;
}

/* parser:finish() -> true   (no more input) */
static int parser_finish(lua_State *L)
{
    parser_ud *u = check_parser(L, "parser:finish");
    lm_mime_finish(u->p);
    lua_pushboolean(L, 1);
    return 1;
}

static const char *const event_names[] = {
    "", "begin", "header", "headers_end", "body", "preamble", "epilogue", "end", "warning",
    "done"};
static const char *const warning_names[] = {
    "", "no_separator", "continuation", "from_line", "bad_header", "no_boundary",
    "no_delimiter", "unclosed", "no_body"};
static const char *const kind_names[] = {"", "leaf", "multipart", "message"};

/* parser:next() -> event, depth, ...   | false (more input needed)
 *                  | nil, msg, code
 *   "begin", depth, offset
 *   "header", depth, name, value
 *   "headers_end", depth, kind ("leaf" | "multipart" | "message"), content_type, offset
 *   "body" | "preamble" | "epilogue", depth, offset, length
 *   "end", depth, offset
 *   "warning", depth, text, offset, name ("no_separator", "unclosed", ...)
 *   "done"
 * Offsets are 0-based stream offsets. */
static int parser_next(lua_State *L)
{
    parser_ud *u = check_parser(L, "parser:next");
    lm_mime_event ev;
    int rc = lm_mime_next(u->p, &ev);
    if (rc == LM_EAGAIN) {
        lua_pushboolean(L, 0);
        return 1;
    }
    if (rc != LM_OK)
        return parse_fail(L, u->p, rc);
    lua_pushstring(L, event_names[ev.type]);
    if (ev.type == LM_MIME_DONE)
        return 1;
    lua_pushinteger(L, (lua_Integer)ev.depth);
    switch (ev.type) {
    case LM_MIME_HEADER:
        lua_pushlstring(L, ev.name, ev.name_len);
        lua_pushlstring(L, ev.data, ev.len);
        return 4;
    case LM_MIME_HEADERS_END:
        lua_pushstring(L, kind_names[ev.kind]);
        lua_pushlstring(L, ev.data, ev.len);
        lua_pushinteger(L, (lua_Integer)ev.offset);
        return 5;
    case LM_MIME_BODY:
    case LM_MIME_PREAMBLE:
    case LM_MIME_EPILOGUE:
        lua_pushinteger(L, (lua_Integer)ev.offset);
        lua_pushinteger(L, (lua_Integer)ev.len);
        return 4;
    case LM_MIME_WARNING:
        lua_pushlstring(L, ev.data, ev.len);
        lua_pushinteger(L, (lua_Integer)ev.offset);
        lua_pushstring(L, warning_names[ev.warning]);
        return 5;
    default: /* begin, end */
        lua_pushinteger(L, (lua_Integer)ev.offset);
        return 3;
    }
}

/* parser:work() -> integer: work units spent (bytes examined, lookups);
 * lets specs show parsing is linear without timing anything */
static int parser_work(lua_State *L)
{
    parser_ud *u = check_parser(L, "parser:work");
    lua_pushinteger(L, (lua_Integer)lm_mime_work(u->p));
    return 1;
}

/* parser:close() -> true; also __gc and __close. Idempotent. */
static int parser_close(lua_State *L)
{
    parser_ud *u = luaL_checkudata(L, 1, PARSER_MT);
    lm_mime_free(u->p);
    u->p = NULL;
    lua_pushboolean(L, 1);
    return 1;
}

/* core.mime.b64_clean(s) -> boolean: only base64 characters, '=' and white
 * space (a lenient decode skips anything else: the caller warns) */
static int mime_b64_clean(lua_State *L)
{
    size_t n;
    const char *s = luaL_checklstring(L, 1, &n);
    lua_pushboolean(L, lm_mime_b64_garbage(s, n) == n);
    return 1;
}

/* core.mime.qp_clean(s) -> boolean: every '=' starts "=XX" or a soft line
 * break (RFC 2045 6.7) */
static int mime_qp_clean(lua_State *L)
{
    size_t n;
    const char *s = luaL_checklstring(L, 1, &n);
    lua_pushboolean(L, lm_mime_qp_clean(s, n));
    return 1;
}

/* Bodies are decoded into a scratch buffer kept by the decode_body closure
 * (an upvalue: one per Lua state, reachable by the GC), then copied once
 * into the result string. Lua strings can only be made by copying, and a
 * luaL_Buffer would add a fresh block per body (page faults and zeroing for
 * every big attachment). Scratch beyond SCRATCH_KEEP is given back. */
#define SCRATCH_MT "lmail.mime.scratch"
#define SCRATCH_KEEP (16u << 20)

static int scratch_gc(lua_State *L)
{
    lm_buf_free(luaL_checkudata(L, 1, SCRATCH_MT));
    return 0;
}

static int b64_body(lua_State *L, lm_buf *scratch, const char *s, size_t n)
{
    lm_b64_dec d;
    size_t a = 0, z = 0;
    const char *warning = NULL;
    int rc = LM_OK;
    unsigned char *out;
    if (lm_mime_b64_garbage(s, n) != n)
        warning = "base64 body: characters outside the alphabet skipped";
    lm_buf_clear(scratch);
    if (!(out = lm_buf_reserve(scratch, LM_B64_DECODE_BOUND(n), &rc)))
        return luaL_error(L, "mime: out of memory decoding a body");
    lm_b64_dec_init(&d, 0, LM_B64_AUTO);
    lm_b64_dec_step(&d, s, n, out, &a);
    if (lm_b64_dec_finish(&d, out + a, &z) != LM_OK) {
        /* lenient decoding fails only on a final lone character: what came
         * before it is whole */
        z = 0;
        warning = "base64 body: a truncated final quantum dropped";
    }
    lua_pushlstring(L, (const char *)out, a + z);
    if (!warning)
        return 1;
    lua_pushstring(L, warning);
    return 2;
}

static int qp_body(lua_State *L, lm_buf *scratch, const char *s, size_t n)
{
    size_t w = 0;
    int rc = LM_OK, clean = lm_mime_qp_clean(s, n);
    unsigned char *out;
    lm_buf_clear(scratch);
    if (!(out = lm_buf_reserve(scratch, n + 1, &rc)))
        return luaL_error(L, "mime: out of memory decoding a body");
    lm_qp_decode(s, n, out, &w);
    lua_pushlstring(L, (const char *)out, w);
    if (clean)
        return 1;
    lua_pushstring(L, "quoted-printable body: malformed escapes kept verbatim");
    return 2;
}

/* core.mime.decode_body(raw, first, last, encoding) -> bytes [, warning]
 * Transfer-decodes raw:sub(first + 1, last) (0-based offsets, as the parser
 * reports them) without copying the encoded bytes first: "base64" and
 * "quoted-printable" leniently, anything else as it is. */
static int mime_decode_body(lua_State *L)
{
    size_t n, len;
    const char *raw = luaL_checklstring(L, 1, &n);
    lua_Integer first = luaL_checkinteger(L, 2), last = luaL_checkinteger(L, 3);
    const char *cte = luaL_checkstring(L, 4);
    lm_buf *scratch = luaL_checkudata(L, lua_upvalueindex(1), SCRATCH_MT);
    int r;
    luaL_argcheck(L, first >= 0 && last >= first && (lua_Unsigned)last <= n, 3,
                  "range outside the string");
    raw += first;
    len = (size_t)(last - first);
    if (strcmp(cte, "base64") == 0)
        r = b64_body(L, scratch, raw, len);
    else if (strcmp(cte, "quoted-printable") == 0)
        r = qp_body(L, scratch, raw, len);
    else {
        lua_pushlstring(L, raw, len);
        return 1;
    }
    if (scratch->cap > SCRATCH_KEEP)
        lm_buf_free(scratch);
    return r;
}

static const luaL_Reg mime_fns[] = {
    {"parser", mime_parser},
    {"b64_clean", mime_b64_clean},
    {"qp_clean", mime_qp_clean},
    {NULL, NULL},
};

void lmail_open_mime(lua_State *L)
{
    static const luaL_Reg methods[] = {
        {"feed", parser_feed},   {"finish", parser_finish}, {"next", parser_next},
        {"work", parser_work},   {"close", parser_close},   {NULL, NULL},
    };
    static const luaL_Reg meta[] = {
        {"__gc", parser_close}, {"__close", parser_close}, {NULL, NULL}};
    static const luaL_Reg scratch_meta[] = {{"__gc", scratch_gc}, {NULL, NULL}};
    static const luaL_Reg none[] = {{NULL, NULL}};
    lm_buf *scratch;
    lm_alloc a = lmail_lua_alloc(L);
    lmail_define_class(L, PARSER_MT, methods, meta);
    lmail_define_class(L, SCRATCH_MT, none, scratch_meta);
    lmail_register(L, "mime", mime_fns);
    lua_getfield(L, -1, "mime");
    scratch = lua_newuserdatauv(L, sizeof *scratch, 0);
    lm_buf_init(scratch, &a, (size_t)-1);
    luaL_getmetatable(L, SCRATCH_MT);
    lua_setmetatable(L, -2);
    lua_pushcclosure(L, mime_decode_body, 1);
    lua_setfield(L, -2, "decode_body");
    lua_pop(L, 1);
}
