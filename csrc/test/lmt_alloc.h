/* lmt_alloc.h: the failing allocator of the MIME C tests. It fails the
 * allocation numbered lmt_fail_at (1-based; 0: never) and counts live
 * blocks so a leak shows (lmt_live must be 0 after each run). */
#ifndef LMT_ALLOC_H
#define LMT_ALLOC_H

#include <stdlib.h>

#include "../core/lm.h"

static int lmt_alloc_count, lmt_fail_at, lmt_live;

static void *lmt_test_alloc(void *ud, void *ptr, size_t osize, size_t nsize)
{
    (void)ud;
    (void)osize;
    if (nsize == 0) {
        if (ptr)
            lmt_live--;
        free(ptr);
        return NULL;
    }
    if (++lmt_alloc_count == lmt_fail_at)
        return NULL;
    if (!ptr)
        lmt_live++;
    return realloc(ptr, nsize);
}

static inline lm_alloc lmt_alloc(void)
{
    lm_alloc a = {lmt_test_alloc, NULL};
    return a;
}

#endif
