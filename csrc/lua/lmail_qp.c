/* lmail_qp.c: binding of the qp area (placeholder until it is implemented). */
#include "lmail_aux.h"

void lmail_open_qp(lua_State *L)
{
    (void)L;
}
