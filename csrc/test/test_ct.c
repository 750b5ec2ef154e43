/* test_ct.c: constant-time equality and the random generator wrapper. */
#include "../core/lm_ct.h"
#include "../tls/lm_rand.h"
#include "lmt.h"

static void test_equal(void)
{
    LMT_CHECK(lm_ct_equal("abc", "abc", 3) == 1);
    LMT_CHECK(lm_ct_equal("abc", "abd", 3) == 0);
    LMT_CHECK(lm_ct_equal("xbc", "abc", 3) == 0);
    LMT_CHECK(lm_ct_equal("a\0c", "a\0c", 3) == 1);
    LMT_CHECK(lm_ct_equal("a", "b", 0) == 1);
}

static void test_rand(void)
{
    unsigned char a[64], b[64];
    int i, same = 1, nonzero = 0;
    LMT_CHECK(lm_rand_bytes(a, sizeof a) == LM_OK);
    LMT_CHECK(lm_rand_bytes(b, sizeof b) == LM_OK);
    for (i = 0; i < 64; i++) {
        same &= a[i] == b[i];
        nonzero |= a[i];
    }
    LMT_CHECK(!same && nonzero);
    LMT_CHECK(lm_rand_bytes(a, 0) == LM_OK);
}

int main(void)
{
    LMT_RUN(test_equal);
    LMT_RUN(test_rand);
    return lmt_report("ct_rand");
}
