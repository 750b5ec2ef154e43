/* md5_peer.c: the C side of bench_md5.sh. One invocation makes one timed
 * run of each measurement (the script runs it REPS times, interleaved with
 * the Lua runs, and takes medians) and prints "key value" lines:
 *   c-lmail-64m / c-openssl-64m     MB/s, lm_md5 vs EVP_Digest(EVP_md5()) on 64 MiB
 *   c-lmail-sum64                   ns per lm_md5 of a 64-byte message
 *   c-openssl-sum64                 ns per EVP_DigestInit_ex/Update/Final_ex on
 *                                   a reused EVP_MD_CTX (MD5 fetched once)
 *   c-openssl-sum64-legacy          the same passing EVP_md5() (reference)
 *   c-lmail-hmac / c-openssl-hmac   ns per HMAC-MD5 of a 42-byte challenge
 *                                   with a 16-byte key; OpenSSL: EVP_MAC
 *                                   (init with the key, update, final) on a
 *                                   reused EVP_MAC_CTX, digest set once
 * Inputs cycle through 1024 different messages so that no result can be
 * reused from the previous call. */
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../csrc/core/lm_md5.h"

#define NMSG 1024

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static unsigned sink;

static void bulk(const unsigned char *buf, size_t n)
{
    unsigned char out[16];
    unsigned int len;
    double t0 = now(), t1, t2;

    lm_md5(buf, n, out);
    sink += out[0];
    t1 = now();
    EVP_Digest(buf, n, out, &len, EVP_md5(), NULL);
    sink += out[0];
    t2 = now();
    printf("c-lmail-64m %.1f\n", (double)n / (t1 - t0) / 1e6);
    printf("c-openssl-64m %.1f\n", (double)n / (t2 - t1) / 1e6);
}

static void small_sums(unsigned char (*msg)[64], long iters)
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    EVP_MD *md = EVP_MD_fetch(NULL, "MD5", NULL);
    unsigned char out[16];
    unsigned int len;
    double t0, t1, t2, t3;
    long i;

    t0 = now();
    for (i = 0; i < iters; i++) {
        lm_md5(msg[i % NMSG], 64, out);
        sink += out[0];
    }
    t1 = now();
    for (i = 0; i < iters; i++) {
        EVP_DigestInit_ex(ctx, md, NULL);
        EVP_DigestUpdate(ctx, msg[i % NMSG], 64);
        EVP_DigestFinal_ex(ctx, out, &len);
        sink += out[0];
    }
    t2 = now();
    for (i = 0; i < iters; i++) {
        EVP_DigestInit_ex(ctx, EVP_md5(), NULL);
        EVP_DigestUpdate(ctx, msg[i % NMSG], 64);
        EVP_DigestFinal_ex(ctx, out, &len);
        sink += out[0];
    }
    t3 = now();
    printf("c-lmail-sum64 %.1f\n", (t1 - t0) / (double)iters * 1e9);
    printf("c-openssl-sum64 %.1f\n", (t2 - t1) / (double)iters * 1e9);
    printf("c-openssl-sum64-legacy %.1f\n", (t3 - t2) / (double)iters * 1e9);
    EVP_MD_free(md);
    EVP_MD_CTX_free(ctx);
}

static void hmacs(unsigned char (*msg)[64], long iters)
{
    static const char key[] = "tanstaaftanstaaf";
    EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
    EVP_MAC_CTX *ctx = EVP_MAC_CTX_new(mac);
    char mdname[] = "MD5";
    OSSL_PARAM params[2];
    unsigned char out[16];
    size_t outlen;
    double t0, t1, t2;
    long i;

    /* The digest is set once; each call only re-keys (the fastest EVP_MAC
     * use: passing the params to every EVP_MAC_init costs a fetch each). */
    params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, mdname, 0);
    params[1] = OSSL_PARAM_construct_end();
    EVP_MAC_CTX_set_params(ctx, params);
    t0 = now();
    for (i = 0; i < iters; i++) {
        lm_hmac_md5(key, 16, msg[i % NMSG], 42, out);
        sink += out[0];
    }
    t1 = now();
    for (i = 0; i < iters; i++) {
        EVP_MAC_init(ctx, (const unsigned char *)key, 16, NULL);
        EVP_MAC_update(ctx, msg[i % NMSG], 42);
        EVP_MAC_final(ctx, out, &outlen, sizeof out);
        sink += out[0];
    }
    t2 = now();
    printf("c-lmail-hmac %.1f\n", (t1 - t0) / (double)iters * 1e9);
    printf("c-openssl-hmac %.1f\n", (t2 - t1) / (double)iters * 1e9);
    EVP_MAC_CTX_free(ctx);
    EVP_MAC_free(mac);
}

int main(int argc, char **argv)
{
    size_t n = (size_t)(argc > 1 ? atol(argv[1]) : 64) << 20;
    long iters = argc > 2 ? atol(argv[2]) : 200000;
    unsigned char *buf = malloc(n), (*msg)[64] = malloc(NMSG * 64);
    size_t i;

    if (!buf || !msg)
        return 1;
    for (i = 0; i < n; i++)
        buf[i] = (unsigned char)((i * 2654435761u) >> 13);
    for (i = 0; i < NMSG * 64; i++)
        msg[i / 64][i % 64] = (unsigned char)('!' + (i * 7919u) % 90);
    bulk(buf, n);
    small_sums(msg, iters);
    hmacs(msg, iters);
    free(buf);
    free(msg);
    return sink == 0xdeadbeef;
}
