/* lmail_pieces.c: see lmail_pieces.h. */
#include "lmail_pieces.h"

#define PIECE_MIN 16384

#if LUA_VERSION_NUM >= 502
void lmail_push_pieces(lua_State *L, void *state, const codec_ops *ops, const char *s,
                       size_t n, size_t guess)
{
    luaL_Buffer b;
    size_t avail = guess, done = 0;
    luaL_buffinitsize(L, &b, guess);
    while (done < n) {
        size_t piece = n - done, w;
        char *out;
        while (piece > PIECE_MIN && ops->bound(piece) > avail)
            piece /= 2;
        out = luaL_prepbuffsize(&b, ops->bound(piece));
        if (ops->bound(piece) > avail)
            avail = ops->bound(piece); /* it grew: at least this much */
        w = ops->step(state, s + done, piece, out);
        luaL_addsize(&b, w);
        avail -= w;
        done += piece;
    }
    if (ops->fin)
        luaL_addsize(&b, ops->fin(state, luaL_prepbuffsize(&b, ops->finmax)));
    luaL_pushresult(&b);
}
#else
void lmail_push_pieces(lua_State *L, void *state, const codec_ops *ops, const char *s,
                       size_t n, size_t guess)
{
    char *out = lua_newuserdata(L, ops->bound(n) + ops->finmax + 1);
    size_t w = ops->step(state, s, n, out);
    (void)guess;
    if (ops->fin)
        w += ops->fin(state, out + w);
    lua_pushlstring(L, out, w);
    lua_remove(L, -2);
}
#endif
