/* lm_mime_bnd.h: private to lm_mime.c. The set of active multipart
 * boundaries, looked up by hash so a candidate delimiter line costs time
 * proportional to its length however deep the nesting is.
 *
 * Boundaries are added and removed in stack order (an inner multipart
 * always ends before its parent), which lets linear probing delete by
 * clearing the slot: nothing added later can depend on it. A boundary equal
 * to an active one shadows it until removed (the innermost wins). */
#ifndef LM_MIME_BND_H
#define LM_MIME_BND_H

#include "lm_buf.h"

typedef struct lm_bnd_entry {
    size_t off, len; /* the boundary in the byte store */
    size_t owner;    /* caller's id (the entity index) */
    size_t shadow;   /* entry index it shadows + 1, or 0 */
    size_t slot;     /* its slot in the table */
} lm_bnd_entry;

typedef struct lm_bnd {
    lm_buf bytes;    /* boundary bytes, a stack */
    lm_buf entries;  /* lm_bnd_entry[], a stack */
    size_t *slots;   /* entry index + 1, or 0 */
    size_t nslots;   /* a power of two, or 0 */
    lm_alloc a;
    uint64_t work;   /* bytes hashed and compared */
} lm_bnd;

void lm_bnd_init(lm_bnd *t, const lm_alloc *a);
void lm_bnd_free(lm_bnd *t);
size_t lm_bnd_count(const lm_bnd *t);
/* Adds a boundary owned by `owner`. LM_ENOMEM. */
int lm_bnd_push(lm_bnd *t, const char *s, size_t n, size_t owner);
/* The owner of the most recent boundary; removes it. */
size_t lm_bnd_top_owner(const lm_bnd *t);
void lm_bnd_pop(lm_bnd *t);
/* 1 and *owner when s[0..n) is an active boundary (the innermost such). */
int lm_bnd_find(lm_bnd *t, const char *s, size_t n, size_t *owner);

#endif
