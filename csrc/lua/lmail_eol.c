/* lmail_eol.c: binding of the eol area (placeholder until it is implemented). */
#include "lmail_aux.h"

void lmail_open_eol(lua_State *L)
{
    (void)L;
}
