/* lmail_md5.c: binding of the md5 area (placeholder until it is implemented). */
#include "lmail_aux.h"

void lmail_open_md5(lua_State *L)
{
    (void)L;
}
