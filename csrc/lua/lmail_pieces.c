/* lmail_pieces.c: see lmail_pieces.h. */
#include "lmail_pieces.h"

#define PIECE_MIN 16384
#define SCRATCH_MT "lmail.scratch"

typedef struct scratch {
    char *p;
    size_t cap;
} scratch;

/* The registry field holding the state's scratch (SCRATCH_MT names its
 * metatable there). */
#define SCRATCH_KEY "lmail.scratch.buffer"

static void scratch_free(lua_State *L, scratch *s)
{
    void *ud;
    lua_Alloc f = lua_getallocf(L, &ud);
    if (s->p)
        f(ud, s->p, s->cap, 0);
    s->p = NULL;
    s->cap = 0;
}

static int scratch__gc(lua_State *L)
{
    scratch_free(L, (scratch *)lua_touserdata(L, 1));
    return 0;
}

/* The state's scratch holder, created on first use. */
static scratch *scratch_of(lua_State *L)
{
    scratch *s;
    lua_getfield(L, LUA_REGISTRYINDEX, SCRATCH_KEY);
    s = (scratch *)lua_touserdata(L, -1);
    lua_pop(L, 1);
    if (s)
        return s;
    s = (scratch *)lua_newuserdatauv(L, sizeof *s, 0);
    s->p = NULL;
    s->cap = 0;
    if (luaL_newmetatable(L, SCRATCH_MT)) {
        lua_pushcfunction(L, scratch__gc);
        lua_setfield(L, -2, "__gc");
    }
    lua_setmetatable(L, -2);
    lua_setfield(L, LUA_REGISTRYINDEX, SCRATCH_KEY);
    return s;
}

/* Room for need bytes, the first `keep` of them kept; NULL (the old block
 * still held) when the allocator refuses. A fresh block gets an eighth
 * more, so that a slightly longer input next time still fits; a growing
 * one at least half as much again, so growth costs amortised O(1). */
static char *scratch_reserve(lua_State *L, scratch *s, size_t need, size_t keep)
{
    void *ud, *p;
    lua_Alloc f;
    size_t cap;
    if (need <= s->cap)
        return s->p;
    f = lua_getallocf(L, &ud);
    cap = keep ? s->cap + s->cap / 2 : need + need / 8;
    if (cap < need)
        cap = need;
    if (keep) {
        p = f(ud, s->p, s->cap, cap);
    } else {
        scratch_free(L, s);
        p = f(ud, NULL, 0, cap);
    }
    if (!p)
        return NULL;
    s->p = (char *)p;
    s->cap = cap;
    return s->p;
}

char *lmail_scratch_get(lua_State *L, size_t need)
{
    return scratch_reserve(L, scratch_of(L), need, 0);
}

void lmail_scratch_push(lua_State *L, const char *out, size_t n)
{
    scratch *s;
    lua_pushlstring(L, out, n);
    s = scratch_of(L);
    if (s->cap > LMAIL_SCRATCH_KEEP)
        scratch_free(L, s);
}

/* lmail_push_pieces over the scratch buffer; 0 when even the first block
 * cannot be had (nothing was consumed then). */
static int push_pieces_scratch(lua_State *L, void *state, const codec_ops *ops, const char *s,
                               size_t n, size_t guess)
{
    scratch *sc = scratch_of(L);
    size_t used = 0, done = 0;
    if (!scratch_reserve(L, sc, guess, 0))
        return 0;
    while (done < n) {
        size_t piece = n - done;
        while (piece > PIECE_MIN && ops->bound(piece) > sc->cap - used)
            piece /= 2;
        if (ops->bound(piece) > sc->cap - used &&
            !scratch_reserve(L, sc, used + ops->bound(piece), used))
            luaL_error(L, "not enough memory");
        used += ops->step(state, s + done, piece, sc->p + used);
        done += piece;
    }
    if (ops->fin) {
        if (ops->finmax > sc->cap - used && !scratch_reserve(L, sc, used + ops->finmax, used))
            luaL_error(L, "not enough memory");
        used += ops->fin(state, sc->p + used);
    }
    lmail_scratch_push(L, sc->p, used);
    return 1;
}

#if LUA_VERSION_NUM >= 502
void lmail_push_pieces(lua_State *L, void *state, const codec_ops *ops, const char *s,
                       size_t n, size_t guess)
{
    luaL_Buffer b;
    size_t avail = guess, done = 0;
    if (guess >= LMAIL_SCRATCH_MIN && push_pieces_scratch(L, state, ops, s, n, guess))
        return;
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
    char *out;
    size_t w;
    if (guess >= LMAIL_SCRATCH_MIN && push_pieces_scratch(L, state, ops, s, n, guess))
        return;
    out = lua_newuserdata(L, ops->bound(n) + ops->finmax + 1);
    w = ops->step(state, s, n, out);
    if (ops->fin)
        w += ops->fin(state, out + w);
    lua_pushlstring(L, out, w);
    lua_remove(L, -2);
}
#endif
