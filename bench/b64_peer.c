/* b64_peer.c: the C side of bench/bench_b64.sh. Times the lmail base64 core
 * (auto-selected SIMD path and the scalar path) against OpenSSL used the
 * way a MIME encoder uses it: EVP_EncodeBlock on each 57-byte line plus
 * CRLF, and EVP_DecodeBlock on each 76-character line.
 * Usage: b64_peer MIB REPS. Prints "name median_MB/s" lines, where MB/s
 * counts the binary (unencoded) bytes, so encode and decode compare alike. */
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../csrc/core/lm_b64.h"

#define LINE_IN 57
#define LINE_OUT 76

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static size_t openssl_encode(const unsigned char *in, size_t n, unsigned char *out)
{
    size_t i = 0, o = 0;
    while (i < n) {
        size_t len = n - i < LINE_IN ? n - i : LINE_IN;
        o += (size_t)EVP_EncodeBlock(out + o, in + i, (int)len); /* writes a NUL too */
        out[o++] = '\r';
        out[o++] = '\n';
        i += len;
    }
    return o;
}

static size_t openssl_decode(const unsigned char *in, size_t n, unsigned char *out)
{
    const unsigned char *p = in, *end = in + n;
    size_t o = 0;
    while (p < end) {
        const unsigned char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t len = (size_t)((nl ? nl : end) - p);
        int got;
        if (len && p[len - 1] == '\r')
            len--;
        got = EVP_DecodeBlock(out + o, p, (int)len);
        if (got < 0)
            return 0;
        /* EVP_DecodeBlock counts the padding as zero bytes */
        if (len >= 1 && p[len - 1] == '=')
            got--;
        if (len >= 2 && p[len - 2] == '=')
            got--;
        o += (size_t)got;
        p = nl ? nl + 1 : end;
    }
    return o;
}

static size_t lmail_encode(int impl, const unsigned char *in, size_t n, unsigned char *out)
{
    lm_b64_enc e;
    size_t a, b;
    lm_b64_enc_init(&e, LINE_OUT, impl);
    lm_b64_enc_step(&e, in, n, (char *)out, &a);
    lm_b64_enc_finish(&e, (char *)out + a, &b);
    return a + b;
}

static size_t lmail_decode(int impl, const unsigned char *in, size_t n, unsigned char *out)
{
    lm_b64_dec d;
    size_t a, b;
    lm_b64_dec_init(&d, 0, impl);
    if (lm_b64_dec_step(&d, in, n, out, &a) != LM_OK ||
        lm_b64_dec_finish(&d, out + a, &b) != LM_OK)
        return 0;
    return a + b;
}

enum { OP_LMAIL_ENC, OP_LMAIL_DEC, OP_SSL_ENC, OP_SSL_DEC };

static size_t run(int op, int impl, const unsigned char *in, size_t n, unsigned char *out)
{
    switch (op) {
    case OP_LMAIL_ENC:
        return lmail_encode(impl, in, n, out);
    case OP_LMAIL_DEC:
        return lmail_decode(impl, in, n, out);
    case OP_SSL_ENC:
        return openssl_encode(in, n, out);
    default:
        return openssl_decode(in, n, out);
    }
}

struct job {
    const char *name;
    int op, impl;
    const unsigned char *in;
    size_t n;
    unsigned char *out;
    double t[64];
};

/* Runs every job once per round, so a host whose speed drifts during the
 * run slows both sides of each ratio alike; prints median MB/s per job. */
static void measure(struct job *jobs, int njobs, size_t raw, int reps)
{
    int r, j;
    for (r = 0; r < reps; r++) {
        for (j = 0; j < njobs; j++) {
            struct job *b = &jobs[j];
            double t0 = now();
            run(b->op, b->impl, b->in, b->n, b->out);
            b->t[r] = now() - t0;
        }
    }
    for (j = 0; j < njobs; j++) {
        qsort(jobs[j].t, (size_t)reps, sizeof jobs[j].t[0], cmp_double);
        printf("%s %.0f\n", jobs[j].name, (double)raw / jobs[j].t[reps / 2] / 1e6);
    }
}

int main(int argc, char **argv)
{
    size_t n = (size_t)(argc > 1 ? atoi(argv[1]) : 16) << 20, i, elen;
    int reps = argc > 2 ? atoi(argv[2]) : 7;
    unsigned char *plain = malloc(n), *enc = malloc(LM_B64_ENCODE_BOUND(n, LINE_OUT));
    unsigned char *ref = malloc(LM_B64_ENCODE_BOUND(n, LINE_OUT));
    unsigned char *dec = malloc(LM_B64_DECODE_BOUND(LM_B64_ENCODE_BOUND(n, LINE_OUT)));
    unsigned long long s = 88172645463325252ULL;
    if (!plain || !enc || !ref || !dec || reps < 1 || reps > 64)
        return 2;
    for (i = 0; i < n; i++) {
        s ^= s << 13, s ^= s >> 7, s ^= s << 17;
        plain[i] = (unsigned char)(s >> 32);
    }
    /* both sides must produce the same bytes before their speed means anything */
    elen = lmail_encode(LM_B64_AUTO, plain, n, enc);
    if (openssl_encode(plain, n, ref) != elen || memcmp(ref, enc, elen) != 0 ||
        lmail_decode(LM_B64_AUTO, enc, elen, dec) != n || memcmp(dec, plain, n) != 0 ||
        openssl_decode(enc, elen, ref) != n || memcmp(ref, plain, n) != 0) {
        fprintf(stderr, "b64_peer: outputs differ\n");
        return 1;
    }
    printf("impl %s\n", lm_b64_impl_name(LM_B64_AUTO));
    {
        struct job jobs[] = {
            {"c-lmail-enc", OP_LMAIL_ENC, LM_B64_AUTO, plain, n, enc, {0}},
            {"c-openssl-enc", OP_SSL_ENC, 0, plain, n, ref, {0}},
            {"c-lmail-enc-scalar", OP_LMAIL_ENC, LM_B64_SCALAR, plain, n, enc, {0}},
            {"c-lmail-dec", OP_LMAIL_DEC, LM_B64_AUTO, enc, elen, dec, {0}},
            {"c-openssl-dec", OP_SSL_DEC, 0, enc, elen, dec, {0}},
            {"c-lmail-dec-scalar", OP_LMAIL_DEC, LM_B64_SCALAR, enc, elen, dec, {0}},
        };
        measure(jobs, (int)(sizeof jobs / sizeof jobs[0]), n, reps);
    }
    free(plain);
    free(enc);
    free(ref);
    free(dec);
    return 0;
}
