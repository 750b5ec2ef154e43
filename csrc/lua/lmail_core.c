/* lmail_core.c: luaopen_lmail_core, the one entry point of build/lmail/core.so.
 * lmail.core is private: users require lmail.md5, lmail.mime, ... which wrap it. */
#include "lmail_aux.h"

/* lmail.core.errname(rc) -> "EPROTO"; used by specs of the status table. */
static int core_errname(lua_State *L)
{
    lua_pushstring(L, lm_errname((int)luaL_checkinteger(L, 1)));
    return 1;
}

LMAIL_EXPORT int luaopen_lmail_core(lua_State *L);

LMAIL_EXPORT int luaopen_lmail_core(lua_State *L)
{
    lua_newtable(L);
    lua_pushcfunction(L, core_errname);
    lua_setfield(L, -2, "errname");
    lmail_open_md5(L);
    lmail_open_b64(L);
    lmail_open_qp(L);
    lmail_open_eol(L);
    lmail_open_net(L);
    lmail_open_tls(L);
    lmail_open_crypto(L);
    lmail_open_hdr(L);
    lmail_open_mime(L);
    lmail_open_smtp(L);
    lmail_open_pop3(L);
    lmail_open_fs(L);
    return 1;
}
