/* lmail_tls.c: binding of the tls area (placeholder until it is implemented). */
#include "lmail_aux.h"

void lmail_open_tls(lua_State *L)
{
    (void)L;
}
