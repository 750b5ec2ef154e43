/* lm_buf.h: a growable byte buffer with a hard cap, the one place the core
 * grows memory. Every engine keeps its input and output in these, so every
 * limit on buffered bytes is one number checked in one place.
 *
 * Bytes are appended at the end and consumed from the front; consuming is
 * O(1) (a read offset) and the space is reclaimed when the buffer empties
 * or the next append needs it. The buffer owns its memory, allocated
 * through the lm_alloc given at init; lm_buf_free returns it. */
#ifndef LM_BUF_H
#define LM_BUF_H

#include "lm.h"

typedef struct lm_buf {
    unsigned char *p; /* storage, cap bytes (NULL until the first append) */
    size_t off;       /* first unconsumed byte */
    size_t len;       /* end of the data: the bytes are p[off..len) */
    size_t cap;
    size_t max;       /* hard cap on unconsumed bytes */
    lm_alloc a;
} lm_buf;

/* An empty buffer that may hold at most max unconsumed bytes. Allocates
 * nothing. */
void lm_buf_init(lm_buf *b, const lm_alloc *a, size_t max);
/* Appends n bytes. LM_ETOOLONG when the unconsumed bytes would exceed max
 * (nothing is appended), LM_ENOMEM when the allocator fails. */
int lm_buf_append(lm_buf *b, const void *data, size_t n);
/* Makes room for n more bytes and returns a pointer to write them at (then
 * call lm_buf_commit with how many were written), or NULL with *rc set to
 * LM_ETOOLONG or LM_ENOMEM. */
unsigned char *lm_buf_reserve(lm_buf *b, size_t n, int *rc);
void lm_buf_commit(lm_buf *b, size_t n);
/* The unconsumed bytes; valid until the next append, reserve or free. */
static inline const unsigned char *lm_buf_data(const lm_buf *b)
{
    return b->p ? b->p + b->off : (const unsigned char *)"";
}
static inline size_t lm_buf_size(const lm_buf *b)
{
    return b->len - b->off;
}
/* Drops the first n unconsumed bytes (n <= size). */
void lm_buf_consume(lm_buf *b, size_t n);
/* Overwrites the storage with zeros (it held a secret), then empties it. */
void lm_buf_wipe(lm_buf *b);
/* Empties the buffer, keeping its storage. */
void lm_buf_clear(lm_buf *b);
/* Returns the storage; the buffer is empty and reusable afterwards. */
void lm_buf_free(lm_buf *b);

#endif
