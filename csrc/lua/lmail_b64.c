/* lmail_b64.c: binding of the b64 area (placeholder until it is implemented). */
#include "lmail_aux.h"

void lmail_open_b64(lua_State *L)
{
    (void)L;
}
