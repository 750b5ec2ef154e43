/* lmt_alloc.h: the failing allocator of the C tests. It fails the
 * allocation numbered lmt_fail_at (1-based; 0: never), counts live blocks
 * so a leak shows (lmt_live must be 0 after each run), and tracks the live
 * and peak bytes so a test can bound an engine's memory. */
#ifndef LMT_ALLOC_H
#define LMT_ALLOC_H

#include <stdlib.h>

#include "../core/lm.h"

static int lmt_alloc_count, lmt_fail_at, lmt_live;
static long lmt_live_bytes, lmt_peak_bytes;

static void *lmt_test_alloc(void *ud, void *ptr, size_t osize, size_t nsize)
{
    void *np;
    (void)ud;
    if (nsize == 0) {
        if (ptr) {
            lmt_live--;
            lmt_live_bytes -= (long)osize;
        }
        free(ptr);
        return NULL;
    }
    if (++lmt_alloc_count == lmt_fail_at)
        return NULL;
    np = realloc(ptr, nsize);
    if (!np)
        return NULL;
    if (!ptr)
        lmt_live++;
    lmt_live_bytes += (long)nsize - (long)(ptr ? osize : 0);
    if (lmt_live_bytes > lmt_peak_bytes)
        lmt_peak_bytes = lmt_live_bytes;
    return np;
}

static inline lm_alloc lmt_alloc(void)
{
    lm_alloc a = {lmt_test_alloc, NULL};
    return a;
}

#endif
