/* lmail_hdr.h: shared by the MIME binding files. */
#ifndef LMAIL_HDR_H
#define LMAIL_HDR_H

#include "lmail_aux.h"

#include "../core/lm_buf.h"

/* Pushes a userdata owning an empty lm_buf (Lua's allocator, no cap) whose
 * __gc frees it, and returns the buffer: core output can go there and a
 * Lua error while pushing results never leaks it. lm_buf_free it when done
 * to give the memory back early. */
lm_buf *lmail_newbuf(lua_State *L);

#endif
