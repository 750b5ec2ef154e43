/* lmail_pieces.h: building the result string of a codec, shared by the
 * bindings of base64, quoted-printable, CRLF normalisation and
 * dot-stuffing.
 *
 * Lua 5.4 has no way to write a string in place: a C function writes its
 * output somewhere, and lua_pushlstring (or luaL_pushresult) copies it into
 * the new string. For a large result "somewhere" is the cost that matters:
 * a buffer of that size allocated per call comes from fresh pages as soon
 * as the allocator has returned the previous one to the system (glibc does
 * when two result-sized blocks are freed per call), and a page fault costs
 * more here than encoding the page. So output of LMAIL_SCRATCH_MIN bytes or
 * more is written into one scratch buffer per Lua state (owned by a
 * userdata in the registry, allocated with the state's allocator) that is
 * kept for the next call while it is at most LMAIL_SCRATCH_KEEP bytes; then
 * a call costs one fresh block at most, the result string itself. Smaller
 * output goes through a luaL_Buffer as before. */
#ifndef LMAIL_PIECES_H
#define LMAIL_PIECES_H

#include "lmail_aux.h"

#define LMAIL_SCRATCH_MIN ((size_t)64 << 10)
#define LMAIL_SCRATCH_KEEP ((size_t)64 << 20)

/* Room for at least `need` bytes in the state's scratch buffer, whose
 * contents are not kept; NULL when the memory cannot be had (the caller
 * then takes its luaL_Buffer path). Nothing that can run Lua code happens
 * between this call and lmail_scratch_push, so no finalizer can reuse the
 * buffer meanwhile. */
char *lmail_scratch_get(lua_State *L, size_t need);
/* Pushes the n bytes at out (inside the scratch buffer) as a string, then
 * frees the scratch when it is above LMAIL_SCRATCH_KEEP. */
void lmail_scratch_push(lua_State *L, const char *out, size_t n);

/* Output is written in place into a buffer sized for what the data
 * usually needs (guess), the input fed in pieces whose worst-case bound
 * fits the room left. So a big input costs one block a little larger than
 * the result plus the result, not a worst-case block. The buffer grows only
 * for inputs that really need it. Then fin, if any, writes at most finmax
 * bytes. Pushes the result. */
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
