/* test_md5.c: MD5 and HMAC-MD5 of the core against the RFC vectors and
 * against OpenSSL (the oracle: EVP_Digest, HMAC) on random inputs, whole and
 * in random chunk splits, at every split point of small inputs, and on one
 * real stream over 4 GiB (the 64-bit length counter). */
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/lm_md5.h"
#include "lmt.h"

static unsigned long long seed = 0x6d64355f74657374ULL;

static void to_hex(const unsigned char d[16], char hex[33])
{
    int i;
    for (i = 0; i < 16; i++)
        sprintf(hex + 2 * i, "%02x", d[i]);
}

static int md5_is(const void *data, size_t n, const char *want)
{
    unsigned char d[16];
    char hex[33];
    lm_md5(data, n, d);
    to_hex(d, hex);
    return strcmp(hex, want) == 0;
}

static int hmac_is(const void *key, size_t kn, const void *data, size_t n, const char *want)
{
    unsigned char d[16];
    char hex[33];
    lm_hmac_md5(key, kn, data, n, d);
    to_hex(d, hex);
    return strncmp(hex, want, strlen(want)) == 0;
}

/* The streaming HMAC, data fed in chunks of `step` bytes. */
static int hmac_stream_is(const void *key, size_t kn, const unsigned char *data, size_t n,
                          size_t step, const char *want)
{
    lm_hmac_md5_ctx c;
    unsigned char d[16];
    char hex[33];
    size_t i;

    lm_hmac_md5_init(&c, key, kn);
    for (i = 0; i < n; i += step)
        lm_hmac_md5_update(&c, data + i, n - i < step ? n - i : step);
    lm_hmac_md5_final(&c, d);
    to_hex(d, hex);
    return strncmp(hex, want, strlen(want)) == 0;
}

/* RFC 1321 appendix A.5. */
static void test_rfc1321_suite(void)
{
    static const char *const v[][2] = {
        {"", "d41d8cd98f00b204e9800998ecf8427e"},
        {"a", "0cc175b9c0f1b6a831c399e269772661"},
        {"abc", "900150983cd24fb0d6963f7d28e17f72"},
        {"message digest", "f96b697d7cb7938d525a2f31aaf161d0"},
        {"abcdefghijklmnopqrstuvwxyz", "c3fcd3d76192e4007dfb496cca67e13b"},
        {"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789",
         "d174ab98d277d9f5a5611c2c9f419d9f"},
        {"1234567890123456789012345678901234567890"
         "1234567890123456789012345678901234567890",
         "57edf4a22be3c955ac49da2e2107b67a"},
    };
    size_t i;
    for (i = 0; i < sizeof v / sizeof v[0]; i++) {
        lm_md5_ctx c;
        unsigned char d[16];
        char hex[33];
        size_t j, n = strlen(v[i][0]);

        LMT_CHECK(md5_is(v[i][0], n, v[i][1]));
        lm_md5_init(&c);
        for (j = 0; j < n; j++)
            lm_md5_update(&c, v[i][0] + j, 1);
        lm_md5_final(&c, d);
        to_hex(d, hex);
        LMT_CHECK(strcmp(hex, v[i][1]) == 0);
    }
    LMT_CHECK(md5_is(NULL, 0, "d41d8cd98f00b204e9800998ecf8427e"));
}

/* RFC 2202 section 2, test cases 1-7; case 5 also as its 96-bit prefix. */
static void test_rfc2202_hmac(void)
{
    unsigned char k1[16], k3[16], d3[50], k4[25], d4[50], k5[16], k6[80];
    struct {
        const unsigned char *key;
        size_t kn;
        const void *data;
        size_t n;
        const char *mac;
    } v[8];
    size_t i;

    memset(k1, 0x0b, sizeof k1);
    memset(k3, 0xaa, sizeof k3);
    memset(d3, 0xdd, sizeof d3);
    for (i = 0; i < sizeof k4; i++)
        k4[i] = (unsigned char)(i + 1);
    memset(d4, 0xcd, sizeof d4);
    memset(k5, 0x0c, sizeof k5);
    memset(k6, 0xaa, sizeof k6);
#define V(i_, k_, kn_, d_, n_, m_)                                             \
    v[i_].key = (const unsigned char *)(k_), v[i_].kn = (kn_), v[i_].data = (d_), \
    v[i_].n = (n_), v[i_].mac = (m_)
    V(0, k1, 16, "Hi There", 8, "9294727a3638bb1c13f48ef8158bfc9d");
    V(1, "Jefe", 4, "what do ya want for nothing?", 28, "750c783e6ab0b503eaa86e310a5db738");
    V(2, k3, 16, d3, 50, "56be34521d144c88dbb8c733f0e8b3f6");
    V(3, k4, 25, d4, 50, "697eaf0aca3a3aea3a75164746ffaa79");
    V(4, k5, 16, "Test With Truncation", 20, "56461ef2342edc00f9bab995690efd4c");
    V(5, k5, 16, "Test With Truncation", 20, "56461ef2342edc00f9bab995");
    V(6, k6, 80, "Test Using Larger Than Block-Size Key - Hash Key First", 54,
      "6b1ab7fe4bd7bf8f0b62e6ce61b9d0cd");
    V(7, k6, 80, "Test Using Larger Than Block-Size Key and Larger Than One Block-Size Data",
      73, "6f630fad67cda0ee1fb1f562db3aa53e");
#undef V
    for (i = 0; i < 8; i++) {
        size_t step;
        LMT_CHECK(hmac_is(v[i].key, v[i].kn, v[i].data, v[i].n, v[i].mac));
        for (step = 1; step <= v[i].n + 1; step++)
            LMT_CHECK(hmac_stream_is(v[i].key, v[i].kn, v[i].data, v[i].n, step, v[i].mac));
    }
}

/* RFC 2195 section 2: the CRAM-MD5 example exchange. */
static void test_rfc2195_cram_md5(void)
{
    static const char challenge[] = "<1896.697170952@postoffice.reston.mci.net>";
    static const char secret[] = "tanstaaftanstaaf";
    const char *want = "b913a602c7eda7a495b4e6e7334d3890";

    LMT_CHECK(hmac_is(secret, strlen(secret), challenge, strlen(challenge), want));
    LMT_CHECK(hmac_stream_is(secret, strlen(secret), (const unsigned char *)challenge,
                             strlen(challenge), 5, want));
}

static void openssl_md5(const unsigned char *p, size_t n, unsigned char out[16])
{
    unsigned int len = 0;
    int ok = EVP_Digest(p, n, out, &len, EVP_md5(), NULL);
    LMT_CHECK(ok == 1 && len == 16);
}

/* The streaming API fed p[0..n) in random chunks of 0..max bytes. */
static void stream_random(const unsigned char *p, size_t n, size_t max, unsigned char out[16])
{
    lm_md5_ctx c;
    size_t i = 0;

    lm_md5_init(&c);
    while (i < n) {
        size_t k = (size_t)(lmt_rand(&seed) % (max + 1));
        if (k > n - i)
            k = n - i;
        lm_md5_update(&c, p + i, k);
        i += k;
    }
    lm_md5_final(&c, out);
}

/* The same through the streaming HMAC. */
static void hmac_stream_random(const unsigned char *key, size_t kn, const unsigned char *p,
                               size_t n, size_t max, unsigned char out[16])
{
    lm_hmac_md5_ctx c;
    size_t i = 0;

    lm_hmac_md5_init(&c, key, kn);
    while (i < n) {
        size_t k = (size_t)(lmt_rand(&seed) % (max + 1));
        if (k > n - i)
            k = n - i;
        lm_hmac_md5_update(&c, p + i, k);
        i += k;
    }
    lm_hmac_md5_final(&c, out);
}

/* 1,000 random inputs of random length 0..100,000 against OpenSSL, each
 * whole and in random chunks (chunk bounds from 1 byte to 64 KiB), plus
 * HMAC with a random key of 0..200 bytes against OpenSSL's HMAC, one-shot
 * and streaming in the same kind of chunks. */
static void test_random_vs_openssl(void)
{
    static const size_t max_chunk[] = {1, 3, 63, 64, 65, 200, 4096, 65536};
    size_t cap = 100000, i, bad = 0;
    unsigned char *buf = malloc(cap), key[200];

    LMT_CHECK(buf != NULL);
    if (!buf)
        return;
    for (i = 0; i < 1000; i++) {
        size_t n = (size_t)(lmt_rand(&seed) % (cap + 1)), j, kn;
        size_t max = max_chunk[i % 8];
        unsigned char want[16], got[16], whole[16], mac[16], omac[16];
        unsigned int maclen = 0;

        for (j = 0; j < n; j++)
            buf[j] = (unsigned char)(lmt_rand(&seed) >> 56);
        openssl_md5(buf, n, want);
        lm_md5(buf, n, whole);
        bad += memcmp(whole, want, 16) != 0;
        stream_random(buf, n, max, got);
        bad += memcmp(got, want, 16) != 0;
        kn = (size_t)(lmt_rand(&seed) % 201);
        for (j = 0; j < kn; j++)
            key[j] = (unsigned char)(lmt_rand(&seed) >> 56);
        HMAC(EVP_md5(), key, (int)kn, buf, n, omac, &maclen);
        lm_hmac_md5(key, kn, buf, n, mac);
        bad += memcmp(mac, omac, 16) != 0 || maclen != 16;
        hmac_stream_random(key, kn, buf, n, max, mac);
        bad += memcmp(mac, omac, 16) != 0;
    }
    LMT_CHECK(bad == 0);
    free(buf);
}

/* Every way to cut inputs of 0..192 bytes in two, and in three for inputs
 * up to 130 bytes: each crossing of the 55/56 (length field fits or not)
 * and 63/64 (block end) boundaries, against one-shot lm_md5 and OpenSSL. */
static void test_every_split(void)
{
    unsigned char buf[192], want[16], got[16];
    size_t n, i, j, bad = 0;

    for (i = 0; i < sizeof buf; i++)
        buf[i] = (unsigned char)(lmt_rand(&seed) >> 56);
    for (n = 0; n <= sizeof buf; n++) {
        lm_md5_ctx c;
        openssl_md5(buf, n, want);
        lm_md5(buf, n, got);
        bad += memcmp(got, want, 16) != 0;
        for (i = 0; i <= n; i++) {
            lm_md5_init(&c);
            lm_md5_update(&c, buf, i);
            lm_md5_update(&c, buf + i, n - i);
            lm_md5_final(&c, got);
            bad += memcmp(got, want, 16) != 0;
            for (j = i; n <= 130 && j <= n; j++) {
                lm_md5_init(&c);
                lm_md5_update(&c, buf, i);
                lm_md5_update(&c, buf + i, j - i);
                lm_md5_update(&c, buf + j, n - j);
                lm_md5_final(&c, got);
                bad += memcmp(got, want, 16) != 0;
            }
        }
    }
    LMT_CHECK(bad == 0);
}

/* A context is a plain struct: copying one mid-stream forks the hash. The
 * HMAC context is wiped by final. */
static void test_context_copy_and_wipe(void)
{
    lm_md5_ctx a, b;
    lm_hmac_md5_ctx h;
    unsigned char da[16], db[16], zero[sizeof h];
    char hex[33];

    lm_md5_init(&a);
    lm_md5_update(&a, "message ", 8);
    b = a;
    lm_md5_update(&a, "digest", 6);
    lm_md5_final(&a, da);
    lm_md5_update(&b, "digest", 6);
    lm_md5_final(&b, db);
    LMT_CHECK(memcmp(da, db, 16) == 0);
    LMT_CHECK(md5_is("message digest", 14, "f96b697d7cb7938d525a2f31aaf161d0"));

    lm_hmac_md5_init(&h, "Jefe", 4);
    lm_hmac_md5_update(&h, "what do ya want for nothing?", 28);
    lm_hmac_md5_final(&h, da);
    memset(zero, 0, sizeof zero);
    LMT_CHECK(memcmp(&h, zero, sizeof h) == 0);
    to_hex(da, hex);
    LMT_CHECK(strcmp(hex, "750c783e6ab0b503eaa86e310a5db738") == 0);
}

/* 4 GiB + 1000 bytes in 1 MiB chunks, each chunk stamped with its index so
 * the stream is not periodic, through lm_md5_update and through OpenSSL's
 * EVP_DigestUpdate. Past 2^32 bytes a 32-bit length counter would wrap. */
static void test_over_4gib(void)
{
    const size_t chunk = (size_t)1 << 20;
    unsigned long long total = (4ULL << 30) + 1000, done = 0, k = 0;
    unsigned char *buf = malloc(chunk), got[16], want[16];
    EVP_MD_CTX *o = EVP_MD_CTX_new();
    lm_md5_ctx c;
    size_t i;

    if (getenv("LMAIL_VALGRIND")) {
        total = (3ULL << 20) + 1000;
        printf("md5: LMAIL_VALGRIND set: the >4 GiB stream is shrunk to %llu bytes\n", total);
    }
    LMT_CHECK(buf != NULL && o != NULL);
    if (!buf || !o)
        goto out;
    for (i = 0; i < chunk; i++)
        buf[i] = (unsigned char)(lmt_rand(&seed) >> 56);
    lm_md5_init(&c);
    LMT_CHECK(EVP_DigestInit_ex(o, EVP_md5(), NULL) == 1);
    while (done < total) {
        size_t n = total - done < chunk ? (size_t)(total - done) : chunk;
        memcpy(buf, &k, sizeof k);
        lm_md5_update(&c, buf, n);
        LMT_CHECK(EVP_DigestUpdate(o, buf, n) == 1);
        done += n;
        k++;
    }
    lm_md5_final(&c, got);
    LMT_CHECK(EVP_DigestFinal_ex(o, want, NULL) == 1);
    LMT_CHECK(memcmp(got, want, 16) == 0);
out:
    EVP_MD_CTX_free(o);
    free(buf);
}

int main(void)
{
    LMT_RUN(test_rfc1321_suite);
    LMT_RUN(test_rfc2202_hmac);
    LMT_RUN(test_rfc2195_cram_md5);
    LMT_RUN(test_every_split);
    LMT_RUN(test_context_copy_and_wipe);
    LMT_RUN(test_random_vs_openssl);
    LMT_RUN(test_over_4gib);
    return lmt_report("md5");
}
