/* lm_ct.h: comparisons whose time does not depend on the data, for secrets
 * a caller checks against user input (verification codes, tokens): an
 * early-exit memcmp tells an attacker, by its timing, how many leading
 * bytes were right. */
#ifndef LM_CT_H
#define LM_CT_H

#include <stddef.h>

/* 1 when a[0..n) equals b[0..n), else 0, in time that depends only on n. */
int lm_ct_equal(const void *a, const void *b, size_t n);

#endif
