/* lm_rand.c: random bytes (lm_rand.h). */
#include "lm_rand.h"

#include <limits.h>
#include <string.h>

#include <openssl/rand.h>

int lm_rand_bytes(void *out, size_t n)
{
    unsigned char *p = out;
    while (n) {
        /* RAND_bytes takes an int length. */
        int chunk = n > INT_MAX ? INT_MAX : (int)n;
        if (RAND_bytes(p, chunk) != 1) {
            memset(out, 0, (size_t)(p - (unsigned char *)out) + n);
            return LM_EIO;
        }
        p += chunk;
        n -= (size_t)chunk;
    }
    return LM_OK;
}
