/* lmail_aux.h: helpers shared by every binding file. Only csrc/lua includes
 * lua.h. Each area of the core registers itself into the lmail.core table
 * through one lmail_open_<area> function listed here. */
#ifndef LMAIL_AUX_H
#define LMAIL_AUX_H

#include <lauxlib.h>
#include <lua.h>

#include "../core/lm.h"

#define LMAIL_EXPORT __attribute__((visibility("default")))

/* Lua 5.1 / LuaJIT compatibility for the few calls we use. */
#if LUA_VERSION_NUM < 502
#define luaL_setfuncs(L, l, n) lmail_compat_setfuncs((L), (l), (n))
#define lua_rawlen(L, i) lua_objlen((L), (i))
void lmail_compat_setfuncs(lua_State *L, const luaL_Reg *l, int nup);
#endif
#if LUA_VERSION_NUM < 504
#define lua_newuserdatauv(L, sz, nuv) lua_newuserdata((L), (sz))
#endif

/* Run-time failure: pushes nil, message, code and returns 3. */
int lmail_fail(lua_State *L, const char *message, const char *code);
/* Same with lm_strerror(rc) / lm_errname(rc), message prefixed by what. */
int lmail_fail_rc(lua_State *L, const char *what, int rc);

/* opts[field] of the table at idx as a size limit: 0 when absent, else a
 * positive integer (at most 2^53 - 1); anything else raises
 * "<fname>: opts.<field> must be a positive integer". */
uint64_t lmail_opt_limit(lua_State *L, int idx, const char *field, const char *fname);

/* An lm_alloc that allocates through the Lua state's allocator. */
lm_alloc lmail_lua_alloc(lua_State *L);

/* Creates (once) the metatable `name` with __name, __index = methods table
 * holding `methods`, and the metamethods in `meta` (may be NULL). Leaves
 * nothing on the stack. */
void lmail_define_class(lua_State *L, const char *name, const luaL_Reg *methods,
                        const luaL_Reg *meta);

/* Sets core[field] = a new table holding fns; core is at the top of the stack. */
void lmail_register(lua_State *L, const char *field, const luaL_Reg *fns);

/* One per area; each is given the lmail.core table at the top of the
 * stack and must leave the stack as it found it. */
void lmail_open_md5(lua_State *L);
void lmail_open_b64(lua_State *L);
void lmail_open_qp(lua_State *L);
void lmail_open_eol(lua_State *L);
void lmail_open_net(lua_State *L);
void lmail_open_tls(lua_State *L);
void lmail_open_crypto(lua_State *L);
void lmail_open_hdr(lua_State *L);
void lmail_open_mime(lua_State *L);
void lmail_open_smtp(lua_State *L);
void lmail_open_pop3(lua_State *L);
void lmail_open_fs(lua_State *L);

#endif
