/* lm_rand.h: cryptographically secure random bytes from OpenSSL's DRBG
 * (RAND_bytes, seeded from the operating system). Used for verification
 * codes, MIME boundaries and Message-IDs, where a guessable value is a
 * security bug. */
#ifndef LM_RAND_H
#define LM_RAND_H

#include <stddef.h>

#include "../core/lm.h"

/* Fills out with n random bytes: LM_OK, or LM_EIO when the generator could
 * not be seeded (out is then zeroed: never use it). */
int lm_rand_bytes(void *out, size_t n);

#endif
