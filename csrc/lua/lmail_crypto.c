/* lmail_crypto.c: random bytes and constant-time comparison as
 * lmail.core.crypto; lua/lmail/crypto.lua builds on them. */
#include "lmail_aux.h"

#include "../core/lm_ct.h"
#include "../tls/lm_rand.h"

#define MAX_RANDOM (1 << 20)

/* crypto.random_bytes(n) -> n random bytes | nil, msg, "EIO" */
static int crypto_random_bytes(lua_State *L)
{
    lua_Integer n = luaL_checkinteger(L, 1);
    char *p;

    luaL_argcheck(L, n >= 0 && n <= MAX_RANDOM, 1, "crypto.random_bytes: n must be 0..1048576");
    /* A scratch userdata: collected like any value if pushing raises. */
    p = (char *)lua_newuserdatauv(L, (size_t)n + 1, 0);
    if (lm_rand_bytes(p, (size_t)n) != LM_OK)
        return lmail_fail(L, "crypto.random_bytes: the random generator failed", "EIO");
    lua_pushlstring(L, p, (size_t)n);
    return 1;
}

/* crypto.equal(a, b) -> boolean, in time that depends only on the lengths */
static int crypto_equal(lua_State *L)
{
    size_t an, bn;
    const char *a = luaL_checklstring(L, 1, &an);
    const char *b = luaL_checklstring(L, 2, &bn);

    /* Compare a with itself when the lengths differ, so the time is that of
     * a full comparison either way; the length itself is not secret. */
    lua_pushboolean(L, lm_ct_equal(a, an == bn ? b : a, an) && an == bn);
    return 1;
}

void lmail_open_crypto(lua_State *L)
{
    static const luaL_Reg fns[] = {
        {"random_bytes", crypto_random_bytes},
        {"equal", crypto_equal},
        {NULL, NULL},
    };
    lmail_register(L, "crypto", fns);
}
