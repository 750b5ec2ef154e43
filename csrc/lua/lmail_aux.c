/* lmail_aux.c: helpers shared by every binding file. */
#include "lmail_aux.h"

#if LUA_VERSION_NUM < 502
void lmail_compat_setfuncs(lua_State *L, const luaL_Reg *l, int nup)
{
    luaL_checkstack(L, nup + 1, "too many upvalues");
    for (; l->name; l++) {
        int i;
        for (i = 0; i < nup; i++)
            lua_pushvalue(L, -nup);
        lua_pushcclosure(L, l->func, nup);
        lua_setfield(L, -(nup + 2), l->name);
    }
    lua_pop(L, nup);
}
#endif

int lmail_fail(lua_State *L, const char *message, const char *code)
{
    lua_pushnil(L);
    lua_pushstring(L, message);
    lua_pushstring(L, code);
    return 3;
}

int lmail_fail_rc(lua_State *L, const char *what, int rc)
{
    lua_pushnil(L);
    if (what)
        lua_pushfstring(L, "%s: %s", what, lm_strerror(rc));
    else
        lua_pushstring(L, lm_strerror(rc));
    lua_pushstring(L, lm_errname(rc));
    return 3;
}

uint64_t lmail_opt_limit(lua_State *L, int idx, const char *field, const char *fname)
{
    lua_Number v = 0;
    lua_getfield(L, idx, field);
    if (!lua_isnil(L, -1)) {
        v = lua_tonumber(L, -1);
        if (lua_type(L, -1) != LUA_TNUMBER || v < 1 || v != v || v > 9007199254740991.0 ||
            (lua_Number)(lua_Integer)v != v)
            luaL_error(L, "%s: opts.%s must be a positive integer", fname, field);
    }
    lua_pop(L, 1);
    return (uint64_t)v;
}

lm_alloc lmail_lua_alloc(lua_State *L)
{
    lm_alloc a;
    a.fn = (lm_alloc_fn)lua_getallocf(L, &a.ud);
    return a;
}

void lmail_define_class(lua_State *L, const char *name, const luaL_Reg *methods,
                        const luaL_Reg *meta)
{
    if (!luaL_newmetatable(L, name)) {
        lua_pop(L, 1);
        return;
    }
#if LUA_VERSION_NUM < 503
    lua_pushstring(L, name);
    lua_setfield(L, -2, "__name");
#endif
    if (meta)
        luaL_setfuncs(L, meta, 0);
    lua_newtable(L);
    luaL_setfuncs(L, methods, 0);
    lua_setfield(L, -2, "__index");
    lua_pop(L, 1);
}

void lmail_register(lua_State *L, const char *field, const luaL_Reg *fns)
{
    lua_newtable(L);
    luaL_setfuncs(L, fns, 0);
    lua_setfield(L, -2, field);
}
