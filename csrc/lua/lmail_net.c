/* lmail_net.c: binding of the net area (placeholder until it is implemented). */
#include "lmail_aux.h"

void lmail_open_net(lua_State *L)
{
    (void)L;
}
