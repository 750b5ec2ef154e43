/* lm_buf.c: the capped growable buffer (lm_buf.h). */
#include "lm_buf.h"

#include <string.h>

void lm_buf_init(lm_buf *b, const lm_alloc *a, size_t max)
{
    b->p = NULL;
    b->off = b->len = b->cap = 0;
    b->max = max;
    b->a = *a;
}

/* Moves the unconsumed bytes to the front when that frees enough room. */
static void compact(lm_buf *b)
{
    size_t n = b->len - b->off;
    if (b->off == 0)
        return;
    if (n)
        memmove(b->p, b->p + b->off, n);
    b->off = 0;
    b->len = n;
}

unsigned char *lm_buf_reserve(lm_buf *b, size_t n, int *rc)
{
    size_t used = b->len - b->off, want, ncap;
    unsigned char *np;

    if (n == 0 && !b->p)
        n = 1; /* a pointer to no storage would read as a failure */
    if (n > b->max || used > b->max - n) {
        *rc = LM_ETOOLONG;
        return NULL;
    }
    if (b->cap - b->len >= n)
        return b->p + b->len;
    if (b->cap - used >= n && b->off >= used) {
        /* Enough room once compacted, and the move is cheap next to the
         * bytes consumed since the last one (amortised O(1) per byte). */
        compact(b);
        return b->p + b->len;
    }
    compact(b);
    want = used + n;
    ncap = b->cap ? b->cap : 256;
    while (ncap < want)
        ncap = ncap > SIZE_MAX / 2 ? want : ncap * 2;
    np = b->a.fn(b->a.ud, b->p, b->p ? b->cap : 0, ncap);
    if (!np) {
        *rc = LM_ENOMEM;
        return NULL;
    }
    b->p = np;
    b->cap = ncap;
    return b->p + b->len;
}

void lm_buf_commit(lm_buf *b, size_t n)
{
    b->len += n;
}

int lm_buf_append(lm_buf *b, const void *data, size_t n)
{
    int rc = LM_OK;
    unsigned char *w;

    if (n == 0)
        return LM_OK;
    w = lm_buf_reserve(b, n, &rc);
    if (!w)
        return rc;
    memcpy(w, data, n);
    b->len += n;
    return LM_OK;
}

void lm_buf_consume(lm_buf *b, size_t n)
{
    b->off += n;
    if (b->off >= b->len)
        b->off = b->len = 0;
}

void lm_buf_clear(lm_buf *b)
{
    b->off = b->len = 0;
}

void lm_buf_wipe(lm_buf *b)
{
    if (b->p) {
        volatile unsigned char *v = b->p;
        size_t i;
        for (i = 0; i < b->cap; i++)
            v[i] = 0;
    }
    lm_buf_clear(b);
}

void lm_buf_free(lm_buf *b)
{
    if (b->p)
        b->a.fn(b->a.ud, b->p, b->cap, 0);
    b->p = NULL;
    b->off = b->len = b->cap = 0;
}
