/* lmt.h: the tiny harness of the C unit tests. Each test_*.c is one program:
 *   static void test_something(void) { LMT_CHECK(x == 1); ... }
 *   int main(void) { LMT_RUN(test_something); return lmt_report("md5"); }
 * A failed check prints file:line and the expression, and the test goes on. */
#ifndef LMT_H
#define LMT_H

#include <stdio.h>
#include <string.h>

static int lmt_checks, lmt_failures;

#define LMT_CHECK(expr)                                                        \
    do {                                                                       \
        lmt_checks++;                                                          \
        if (!(expr)) {                                                         \
            lmt_failures++;                                                    \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__,  \
                    #expr);                                                    \
        }                                                                      \
    } while (0)

#define LMT_CHECK_MEM(a, b, n) LMT_CHECK(memcmp((a), (b), (n)) == 0)

#define LMT_RUN(fn)                                                            \
    do {                                                                       \
        int before_ = lmt_failures;                                            \
        fn();                                                                  \
        if (lmt_failures != before_)                                           \
            fprintf(stderr, "FAIL %s\n", #fn);                                 \
    } while (0)

static inline int lmt_report(const char *suite)
{
    printf("%-12s %d checks, %d failed\n", suite, lmt_checks, lmt_failures);
    return lmt_failures ? 1 : 0;
}

/* A small deterministic PRNG (xorshift64*) so random tests are repeatable. */
static inline unsigned long long lmt_rand(unsigned long long *s)
{
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return *s * 2685821657736338717ULL;
}

#endif
