/* lm_ct.c: constant-time comparison (lm_ct.h). */
#include "lm_ct.h"

int lm_ct_equal(const void *a, const void *b, size_t n)
{
    const volatile unsigned char *x = a, *y = b;
    unsigned char diff = 0;
    size_t i;

    /* volatile keeps the compiler from turning the loop back into an
     * early exit. */
    for (i = 0; i < n; i++)
        diff |= (unsigned char)(x[i] ^ y[i]);
    return diff == 0;
}
