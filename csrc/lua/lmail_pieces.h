/* lmail_pieces.h: pushing the output of a step codec as one Lua string,
 * shared by the bindings of codecs whose worst-case bound is far above what
 * typical input needs (quoted-printable, CRLF, dot-stuffing). */
#ifndef LMAIL_PIECES_H
#define LMAIL_PIECES_H

#include "lmail_aux.h"

/* Output is written in place into a luaL_Buffer sized for what the data
 * usually needs (guess), the input fed in pieces whose worst-case bound
 * fits the room left. So a big input costs one block a little larger than
 * the result plus the result, not a worst-case block (blocks that large
 * come fresh from the system on every call, page faults and all). The
 * buffer grows only for inputs that really need it. Then fin, if any,
 * writes at most finmax bytes. Pushes the result. */
typedef size_t (*piece_fn)(void *state, const char *in, size_t n, char *out);
typedef size_t (*fin_fn)(void *state, char *out);

typedef struct codec_ops {
    piece_fn step;
    size_t (*bound)(size_t n);
    fin_fn fin;    /* NULL: step only */
    size_t finmax; /* what fin may write */
} codec_ops;

void lmail_push_pieces(lua_State *L, void *state, const codec_ops *ops, const char *s,
                       size_t n, size_t guess);

#endif
