/* lm.h: shared definitions of the lmail core (pure C99: no Lua, no OpenSSL,
 * no sockets, no clock). Every core function returns LM_OK or a negative
 * LM_E* status; outputs go through out-parameters. */
#ifndef LM_H
#define LM_H

#include <stddef.h>
#include <stdint.h>

/* Status codes. The names (without the LM_ prefix) are the stable code
 * strings the Lua layer hands to callers, so never rename one. */
enum {
    LM_OK = 0,
    LM_EAGAIN = -1,        /* need more input (not an error for engines) */
    LM_ENOMEM = -2,        /* allocation failed */
    LM_EINVAL = -3,        /* malformed input or argument */
    LM_EPROTO = -4,        /* peer broke the protocol */
    LM_ETOOLONG = -5,      /* a configured limit was exceeded */
    LM_ESTATE = -6,        /* call not allowed in the current state */
    LM_ECLOSED = -7,       /* connection closed by the peer */
    LM_ETIMEDOUT = -8,     /* deadline passed */
    LM_ECONNREFUSED = -9,
    LM_EHOSTUNREACH = -10,
    LM_ENAMERESOLVE = -11, /* host name did not resolve */
    LM_ETLS = -12,         /* TLS failure other than certificate checks */
    LM_ECERT = -13,        /* certificate verification failed */
    LM_EIO = -14,          /* other operating-system I/O failure */
    LM_ELAST_ = -15        /* one past the last code; keep last */
};

/* "EPROTO" for LM_EPROTO, "OK" for LM_OK, "EUNKNOWN" for anything else. */
const char *lm_errname(int rc);
/* A short human sentence for rc; never NULL. */
const char *lm_strerror(int rc);

/* The allocator every allocating core object takes. It has the shape of
 * lua_Alloc so the binding can pass Lua's own: nsize == 0 frees and returns
 * NULL; otherwise it returns a block of nsize bytes or NULL on failure. */
typedef void *(*lm_alloc_fn)(void *ud, void *ptr, size_t osize, size_t nsize);
typedef struct lm_alloc {
    lm_alloc_fn fn;
    void *ud;
} lm_alloc;

/* The libc allocator, for C tests and C callers that have no other. */
lm_alloc lm_alloc_libc(void);

static inline void *lm_malloc(const lm_alloc *a, size_t n)
{
    return a->fn(a->ud, NULL, 0, n);
}

static inline void lm_free(const lm_alloc *a, void *p, size_t n)
{
    if (p)
        a->fn(a->ud, p, n, 0);
}

#endif
