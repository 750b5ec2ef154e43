/* test_b64.c: the base64 codec alone. Every implementation available on
 * this machine (scalar, and SSSE3/AVX2 on x86-64 CPUs that have them) is
 * checked against an independent bit-by-bit reference written here and
 * against the others. Buffers are malloc'd at their exact size so ASan and
 * valgrind see any access outside them. */
#include "../core/lm_b64.h"
#include "lmt.h"

#include <stdlib.h>

static const char ALPHABET[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static int impls[4], nimpls;
static int shrink; /* LMAIL_VALGRIND: smaller big inputs, same checks */

static void find_impls(void)
{
    int i;
    for (i = LM_B64_SCALAR; i <= LM_B64_AVX2; i++)
        if (lm_b64_impl_available(i))
            impls[nimpls++] = i;
}

static void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p) {
        fprintf(stderr, "out of memory\n");
        exit(2);
    }
    return p;
}

static unsigned char *random_bytes(size_t n, unsigned long long seed)
{
    unsigned char *p = xmalloc(n);
    size_t i;
    unsigned long long s = seed | 1;
    for (i = 0; i < n; i++)
        p[i] = (unsigned char)(lmt_rand(&s) >> 56);
    return p;
}

/* Reference encoder: one bit at a time, RFC 4648 4 and RFC 2045 6.8 as
 * documented in lm_b64.h (every line, the last one too, ends with CRLF). */
static size_t ref_encode(const unsigned char *in, size_t n, size_t linelen,
                         char *out)
{
    size_t nbits = n * 8, bit, o = 0, col = 0, nchars = (n + 2) / 3 * 4, c;
    for (c = 0; c < nchars; c++) {
        unsigned v = 0;
        int k;
        if (c * 6 >= nbits) {
            out[o++] = '=';
        } else {
            for (k = 0; k < 6; k++) {
                bit = c * 6 + (size_t)k;
                v = v << 1 | (bit < nbits ? (in[bit / 8] >> (7 - bit % 8)) & 1u : 0u);
            }
            out[o++] = ALPHABET[v];
        }
        if (linelen && ++col == linelen) {
            out[o++] = '\r';
            out[o++] = '\n';
            col = 0;
        }
    }
    if (linelen && col) {
        out[o++] = '\r';
        out[o++] = '\n';
    }
    return o;
}

/* Encodes in as the given chunks (cuts: sorted positions, ncuts of them). */
static char *enc_chunks(int impl, size_t linelen, const unsigned char *in,
                        size_t n, const size_t *cuts, size_t ncuts, size_t *outlen)
{
    lm_b64_enc e;
    char *out = xmalloc(LM_B64_ENCODE_BOUND(n, linelen));
    size_t o = 0, prev = 0, i, w;
    LMT_CHECK(lm_b64_enc_init(&e, linelen, impl) == LM_OK);
    for (i = 0; i <= ncuts; i++) {
        size_t end = i < ncuts ? cuts[i] : n, len = end - prev;
        /* each step gets an exact-size copy and an exact-bound output */
        unsigned char *chunk = xmalloc(len);
        char *tmp = xmalloc(LM_B64_ENCODE_BOUND(len, linelen));
        memcpy(chunk, in + prev, len);
        LMT_CHECK(lm_b64_enc_step(&e, chunk, len, tmp, &w) == LM_OK);
        LMT_CHECK(w <= LM_B64_ENCODE_BOUND(len, linelen));
        memcpy(out + o, tmp, w);
        o += w;
        free(chunk);
        free(tmp);
        prev = end;
    }
    {
        char *tmp = xmalloc(LM_B64_ENCODE_BOUND(0, linelen));
        LMT_CHECK(lm_b64_enc_finish(&e, tmp, &w) == LM_OK);
        memcpy(out + o, tmp, w);
        o += w;
        free(tmp);
    }
    LMT_CHECK(o <= LM_B64_ENCODE_BOUND(n, linelen));
    *outlen = o;
    return out;
}

/* Decodes in as the given chunks; returns rc, output in *outp (malloc'd). */
static int dec_chunks(int impl, int strict, const unsigned char *in, size_t n,
                      const size_t *cuts, size_t ncuts, unsigned char **outp,
                      size_t *outlen, uint64_t *err_off, int *truncated)
{
    lm_b64_dec d;
    unsigned char *out = xmalloc(LM_B64_DECODE_BOUND(n));
    size_t o = 0, prev = 0, i, w;
    int rc = LM_OK;
    LMT_CHECK(lm_b64_dec_init(&d, strict, impl) == LM_OK);
    for (i = 0; i <= ncuts && rc == LM_OK; i++) {
        size_t end = i < ncuts ? cuts[i] : n, len = end - prev;
        unsigned char *chunk = xmalloc(len);
        unsigned char *tmp = xmalloc(LM_B64_DECODE_BOUND(len));
        memcpy(chunk, in + prev, len);
        rc = lm_b64_dec_step(&d, chunk, len, tmp, &w);
        LMT_CHECK(w <= LM_B64_DECODE_BOUND(len));
        memcpy(out + o, tmp, w);
        o += w;
        free(chunk);
        free(tmp);
        prev = end;
    }
    {
        unsigned char *tmp = xmalloc(LM_B64_DECODE_BOUND(0));
        int frc = lm_b64_dec_finish(&d, tmp, &w);
        LMT_CHECK(rc == LM_OK || frc == rc); /* sticky */
        rc = frc;
        memcpy(out + o, tmp, w);
        o += w;
        free(tmp);
    }
    *err_off = lm_b64_dec_error(&d, truncated);
    *outp = out;
    *outlen = o;
    return rc;
}

/* ---- RFC 4648 section 10 ---- */

static const char *const rfc_plain[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
static const char *const rfc_b64[] = {"", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==", "Zm9vYmE=",
                                      "Zm9vYmFy"};

static void test_rfc4648_vectors(void)
{
    size_t v, k, len, rlen;
    int i;
    for (v = 0; v < 7; v++) {
        const unsigned char *p = (const unsigned char *)rfc_plain[v];
        size_t n = strlen(rfc_plain[v]), m = strlen(rfc_b64[v]);
        for (k = 0; k < (size_t)nimpls; k++) {
            unsigned char *dec;
            uint64_t off;
            int tr;
            char *out = enc_chunks(impls[k], 0, p, n, NULL, 0, &len);
            LMT_CHECK(len == m && memcmp(out, rfc_b64[v], m) == 0);
            free(out);
            out = enc_chunks(impls[k], 76, p, n, NULL, 0, &len);
            LMT_CHECK(len == (m ? m + 2 : 0) && memcmp(out, rfc_b64[v], m) == 0);
            LMT_CHECK(m == 0 || memcmp(out + m, "\r\n", 2) == 0);
            free(out);
            for (i = 0; i < 2; i++) {
                LMT_CHECK(dec_chunks(impls[k], i, (const unsigned char *)rfc_b64[v], m, NULL,
                                     0, &dec, &rlen, &off, &tr) == LM_OK);
                LMT_CHECK(rlen == n && memcmp(dec, p, n) == 0);
                free(dec);
            }
        }
    }
}

/* ---- encoder ---- */

static void test_wrap_76_crlf(void)
{
    unsigned char *in = random_bytes(57 * 3 + 1, 7);
    size_t len, i;
    char *out = enc_chunks(LM_B64_AUTO, 76, in, 57 * 3 + 1, NULL, 0, &len);
    /* three full lines of 76 + CRLF, then "xx==" + CRLF */
    LMT_CHECK(len == 3 * 78 + 6);
    for (i = 0; i < 3; i++)
        LMT_CHECK(memcmp(out + i * 78 + 76, "\r\n", 2) == 0);
    LMT_CHECK(memcmp(out + 3 * 78 + 2, "==\r\n", 4) == 0);
    LMT_CHECK(memchr(out, '\r', 76) == NULL);
    free(out);
    /* exactly one full line: no empty line after it */
    out = enc_chunks(LM_B64_AUTO, 76, in, 57, NULL, 0, &len);
    LMT_CHECK(len == 78 && memcmp(out + 76, "\r\n", 2) == 0);
    free(out);
    free(in);
}

static void test_init_rejects(void)
{
    lm_b64_enc e;
    lm_b64_dec d;
    LMT_CHECK(lm_b64_enc_init(&e, 3, LM_B64_AUTO) == LM_EINVAL);
    LMT_CHECK(lm_b64_enc_init(&e, 77, LM_B64_AUTO) == LM_EINVAL);
    LMT_CHECK(lm_b64_enc_init(&e, (size_t)LM_B64_MAX_LINELEN + 4, LM_B64_AUTO) == LM_EINVAL);
    LMT_CHECK(lm_b64_enc_init(&e, 4, LM_B64_AUTO) == LM_OK);
    LMT_CHECK(lm_b64_enc_init(&e, 0, 99) == LM_EINVAL);
    LMT_CHECK(lm_b64_dec_init(&d, 0, 99) == LM_EINVAL);
    LMT_CHECK(lm_b64_impl_available(LM_B64_SCALAR));
    LMT_CHECK(strcmp(lm_b64_impl_name(LM_B64_SCALAR), "scalar") == 0);
}

/* Every implementation equals the reference for lengths 0..4096 and a few
 * line lengths, and the output never exceeds the bound. */
static void test_encode_all_lengths(void)
{
    static const size_t linelens[] = {0, 76, 4, 64, 1000};
    size_t max = shrink ? 700 : 4096, n, l, k, len, rlen;
    unsigned char *in = random_bytes(max, 11);
    char *ref = xmalloc(LM_B64_ENCODE_BOUND(max, 4));
    for (l = 0; l < 5; l++) {
        for (n = 0; n <= max; n++) {
            rlen = ref_encode(in, n, linelens[l], ref);
            LMT_CHECK(lm_b64_encoded_len(n, linelens[l]) == rlen);
            for (k = 0; k < (size_t)nimpls; k++) {
                char *out = enc_chunks(impls[k], linelens[l], in, n, NULL, 0, &len);
                LMT_CHECK(len == rlen && memcmp(out, ref, len) == 0);
                free(out);
            }
        }
    }
    free(ref);
    free(in);
}

static void test_encode_megabytes(void)
{
    size_t n = shrink ? 300000 : 3 * 1048576 + 2, k, len, rlen;
    unsigned char *in = random_bytes(n, 13);
    char *ref = xmalloc(LM_B64_ENCODE_BOUND(n, 76));
    rlen = ref_encode(in, n, 76, ref);
    for (k = 0; k < (size_t)nimpls; k++) {
        char *out = enc_chunks(impls[k], 76, in, n, NULL, 0, &len);
        LMT_CHECK(len == rlen && memcmp(out, ref, len) == 0);
        free(out);
    }
    free(ref);
    free(in);
}

/* Two chunks cut at every point, and byte by byte. */
static void test_encode_every_split(void)
{
    size_t n, c, k, l, len, rlen;
    static const size_t linelens[] = {0, 76, 8};
    unsigned char *in = random_bytes(130, 17);
    char ref[400];
    size_t cuts[130];
    for (l = 0; l < 3; l++) {
        for (n = 0; n <= 130; n++) {
            rlen = ref_encode(in, n, linelens[l], ref);
            for (k = 0; k < (size_t)nimpls; k++) {
                for (c = 0; c <= n; c++) {
                    char *out = enc_chunks(impls[k], linelens[l], in, n, &c, 1, &len);
                    LMT_CHECK(len == rlen && memcmp(out, ref, len) == 0);
                    free(out);
                }
                for (c = 0; c < n; c++)
                    cuts[c] = c + 1;
                {
                    char *out = enc_chunks(impls[k], linelens[l], in, n, cuts, n ? n - 1 : 0,
                                           &len);
                    LMT_CHECK(len == rlen && memcmp(out, ref, len) == 0);
                    free(out);
                }
            }
        }
    }
    free(in);
}

/* Random sorted cut positions in [0, n]. */
static size_t random_cuts(size_t *cuts, size_t max_cuts, size_t n, size_t max_chunk,
                          unsigned long long *s)
{
    size_t pos = 0, k = 0;
    while (k < max_cuts) {
        pos += (size_t)(lmt_rand(s) % (max_chunk + 1));
        if (pos >= n)
            break;
        cuts[k++] = pos;
    }
    return k;
}

static void test_encode_random_splits(void)
{
    size_t n = shrink ? 100000 : 1048576 + 1, k, r, ncuts, len, rlen;
    size_t *cuts = xmalloc(sizeof(size_t) * 40000);
    unsigned long long s = 99;
    unsigned char *in = random_bytes(n, 19);
    char *ref = xmalloc(LM_B64_ENCODE_BOUND(n, 76));
    rlen = ref_encode(in, n, 76, ref);
    for (r = 0; r < 6; r++) {
        for (k = 0; k < (size_t)nimpls; k++) {
            char *out;
            ncuts = random_cuts(cuts, 40000, n, r < 3 ? 200 : 100000, &s);
            out = enc_chunks(impls[k], 76, in, n, cuts, ncuts, &len);
            LMT_CHECK(len == rlen && memcmp(out, ref, len) == 0);
            free(out);
        }
    }
    free(ref);
    free(in);
    free(cuts);
}

static void test_encoder_reuse(void)
{
    lm_b64_enc e;
    char out[32];
    size_t a, b;
    LMT_CHECK(lm_b64_enc_init(&e, 0, LM_B64_AUTO) == LM_OK);
    LMT_CHECK(lm_b64_enc_step(&e, NULL, 0, out, &a) == LM_OK && a == 0);
    lm_b64_enc_step(&e, "fo", 2, out, &a);
    lm_b64_enc_finish(&e, out + a, &b);
    LMT_CHECK(a + b == 4 && memcmp(out, "Zm8=", 4) == 0);
    lm_b64_enc_step(&e, "f", 1, out, &a);
    lm_b64_enc_finish(&e, out + a, &b);
    LMT_CHECK(a + b == 4 && memcmp(out, "Zg==", 4) == 0);
}

/* ---- decoder ---- */

static int dec_str(int impl, int strict, const char *s, size_t n, unsigned char **out,
                   size_t *len, uint64_t *off, int *tr)
{
    return dec_chunks(impl, strict, (const unsigned char *)s, n, NULL, 0, out, len, off, tr);
}

/* Every implementation, both modes, round trips of every length 0..4096
 * encoded unwrapped and at 76 columns (strict only takes unwrapped). */
static void test_decode_all_lengths(void)
{
    size_t max = shrink ? 700 : 4096, n, k, len, elen;
    static const size_t linelens[] = {0, 76, 4};
    unsigned char *in = random_bytes(max, 23);
    char *enc = xmalloc(LM_B64_ENCODE_BOUND(max, 4));
    size_t l;
    for (l = 0; l < 3; l++) {
        for (n = 0; n <= max; n++) {
            elen = ref_encode(in, n, linelens[l], enc);
            for (k = 0; k < (size_t)nimpls; k++) {
                unsigned char *out;
                uint64_t off;
                int tr, strict;
                for (strict = 0; strict <= (linelens[l] == 0); strict++) {
                    LMT_CHECK(dec_str(impls[k], strict, enc, elen, &out, &len, &off, &tr) ==
                              LM_OK);
                    LMT_CHECK(len == n && memcmp(out, in, n) == 0);
                    free(out);
                }
            }
        }
    }
    free(enc);
    free(in);
}

static void test_decode_megabytes_random_splits(void)
{
    size_t n = shrink ? 200000 : 3 * 1048576 + 1, k, r, ncuts, len, elen;
    size_t *cuts = xmalloc(sizeof(size_t) * 40000);
    unsigned long long s = 5;
    unsigned char *in = random_bytes(n, 29);
    char *enc = xmalloc(LM_B64_ENCODE_BOUND(n, 76));
    elen = ref_encode(in, n, 76, enc);
    for (r = 0; r < 5; r++) {
        for (k = 0; k < (size_t)nimpls; k++) {
            unsigned char *out;
            uint64_t off;
            int tr;
            ncuts = r == 0 ? 0 : random_cuts(cuts, 40000, elen, r < 3 ? 300 : 200000, &s);
            LMT_CHECK(dec_chunks(impls[k], 0, (const unsigned char *)enc, elen, cuts, ncuts,
                                 &out, &len, &off, &tr) == LM_OK);
            LMT_CHECK(len == n && memcmp(out, in, n) == 0);
            free(out);
        }
    }
    free(enc);
    free(in);
    free(cuts);
}

static void test_decode_every_split(void)
{
    size_t n, c, k, len, elen;
    unsigned char *in = random_bytes(120, 31);
    char enc[400];
    size_t cuts[400];
    int strict;
    for (n = 0; n <= 120; n++) {
        for (strict = 0; strict <= 1; strict++) {
            elen = ref_encode(in, n, strict ? 0 : 8, enc);
            for (k = 0; k < (size_t)nimpls; k++) {
                unsigned char *out;
                uint64_t off;
                int tr;
                for (c = 0; c <= elen; c++) {
                    LMT_CHECK(dec_chunks(impls[k], strict, (const unsigned char *)enc, elen,
                                         &c, 1, &out, &len, &off, &tr) == LM_OK);
                    LMT_CHECK(len == n && memcmp(out, in, n) == 0);
                    free(out);
                }
                for (c = 0; c + 1 < elen; c++)
                    cuts[c] = c + 1;
                LMT_CHECK(dec_chunks(impls[k], strict, (const unsigned char *)enc, elen, cuts,
                                     elen ? elen - 1 : 0, &out, &len, &off, &tr) == LM_OK);
                LMT_CHECK(len == n && memcmp(out, in, n) == 0);
                free(out);
            }
        }
    }
    free(in);
}

struct bad_case {
    const char *s;
    uint64_t off;
    int truncated;
};

/* Strict failures and the offset each must name. */
static const struct bad_case strict_cases[] = {
    {"Zm9v!", 4, 0},       {"Zm9v\r\nYmFy", 4, 0}, {"Zm9v YmFy", 4, 0},
    {"=", 0, 0},           {"Z===", 1, 0},         {"Zg==Zm9v", 4, 0},
    {"Zm9vYg===", 8, 0},   {"Zm8=x", 4, 0},        {"Zg=a", 3, 0},
    {"Zh==", 1, 0},        {"Zm9=", 2, 0},         {"Zm8=\n", 4, 0},
    {"Zm9vYg=", 7, 1},     {"Zm9vY", 5, 1},        {"Zm9vYm", 6, 1},
    {"Zm9vYmE", 7, 1},     {"Zg", 2, 1},           {"\x80", 0, 0},
    {"Zm9v\xff", 4, 0},    {"Zm9vYmFy-_", 8, 0},
};

static void test_strict_offsets(void)
{
    size_t i, k, len, n, c;
    for (i = 0; i < sizeof strict_cases / sizeof strict_cases[0]; i++) {
        const struct bad_case *bc = &strict_cases[i];
        n = strlen(bc->s);
        for (k = 0; k < (size_t)nimpls; k++) {
            for (c = 0; c <= n; c++) {
                unsigned char *out;
                uint64_t off = 12345;
                int tr = -1;
                int rc = dec_chunks(impls[k], 1, (const unsigned char *)bc->s, n, &c, 1, &out,
                                    &len, &off, &tr);
                LMT_CHECK(rc == LM_EINVAL);
                LMT_CHECK(off == bc->off);
                LMT_CHECK(tr == bc->truncated);
                if (rc != LM_EINVAL || off != bc->off || tr != bc->truncated)
                    fprintf(stderr, "  case %zu \"%s\" impl %d cut %zu: rc %d off %llu\n", i,
                            bc->s, impls[k], c, rc, (unsigned long long)off);
                free(out);
            }
        }
    }
}

/* A bad character at every position of a long valid text: the offset is
 * exact for every implementation, whole and split in random chunks. */
static void test_strict_offset_everywhere(void)
{
    size_t n = 600, elen, pos, k, len, ncuts;
    unsigned char *in = random_bytes(n, 37), *out;
    char *enc = xmalloc(LM_B64_ENCODE_BOUND(n, 0));
    char *bad = xmalloc(LM_B64_ENCODE_BOUND(n, 0));
    size_t cuts[1000];
    unsigned long long s = 3;
    elen = ref_encode(in, n, 0, enc);
    for (pos = 0; pos < elen; pos++) {
        memcpy(bad, enc, elen);
        /* not '=': that one is legal in some positions */
        bad[pos] = "!\n \t-\x80"[pos % 6];
        for (k = 0; k < (size_t)nimpls; k++) {
            uint64_t off;
            int tr;
            ncuts = pos % 2 ? random_cuts(cuts, 1000, elen, 50, &s) : 0;
            LMT_CHECK(dec_chunks(impls[k], 1, (const unsigned char *)bad, elen, cuts, ncuts,
                                 &out, &len, &off, &tr) == LM_EINVAL);
            LMT_CHECK(off == pos && tr == 0);
            free(out);
        }
    }
    free(bad);
    free(enc);
    free(in);
}

struct good_case {
    const char *s;
    const char *plain;
};

/* Lenient decoding: what is skipped and where data ends. */
static const struct good_case lenient_cases[] = {
    {"Zm9v\r\nYmFy\r\n", "foobar"},
    {" Z m 9 v\tY m F y ", "foobar"},
    {"Zm9v!YmFy", "foobar"},            /* RFC 2045 6.8: ignored */
    {"Zm\x80\xff" "9vYmFy", "foobar"},
    {"Zg==Zm9v", "f"},                  /* data after padding is ignored */
    {"Zg=\r\n=", "f"},
    {"Zm8=Zg==", "fo"},
    {"Zg=", "f"},
    {"Zh==", "f"},                      /* pad bits ignored */
    {"Zm8", "fo"},                      /* missing padding accepted */
    {"Zm9vYg", "foob"},
    {"=Zm9v", "foo"},                   /* '=' before 2 data chars: skipped */
    {"Z=m9v", "foo"},
    {"Zm9v=YmFy", "foobar"},
    {"", ""},
    {"\r\n\r\n", ""},
    {"====", ""},
};

static void test_lenient(void)
{
    size_t i, k, len, n, c;
    for (i = 0; i < sizeof lenient_cases / sizeof lenient_cases[0]; i++) {
        const struct good_case *gc = &lenient_cases[i];
        n = strlen(gc->s);
        for (k = 0; k < (size_t)nimpls; k++) {
            for (c = 0; c <= n; c++) {
                unsigned char *out;
                uint64_t off;
                int tr;
                int rc = dec_chunks(impls[k], 0, (const unsigned char *)gc->s, n, &c, 1, &out,
                                    &len, &off, &tr);
                LMT_CHECK(rc == LM_OK);
                LMT_CHECK(len == strlen(gc->plain) && memcmp(out, gc->plain, len) == 0);
                if (rc != LM_OK || len != strlen(gc->plain))
                    fprintf(stderr, "  lenient case %zu impl %d cut %zu\n", i, impls[k], c);
                free(out);
            }
        }
    }
}

static void test_lenient_failures(void)
{
    static const struct bad_case cases[] = {
        {"Z", 1, 1}, {"Zm9vY", 5, 1}, {"Zm9vY\r\n", 7, 1}, {"Z=", 2, 1}, {"Z!!!", 4, 1}};
    size_t i, k, len;
    for (i = 0; i < 5; i++) {
        for (k = 0; k < (size_t)nimpls; k++) {
            unsigned char *out;
            uint64_t off;
            int tr;
            LMT_CHECK(dec_str(impls[k], 0, cases[i].s, strlen(cases[i].s), &out, &len, &off,
                              &tr) == LM_EINVAL);
            LMT_CHECK(off == cases[i].off && tr == 1);
            free(out);
        }
    }
}

/* Lenient: 76-column text with random whitespace and stray bytes inserted
 * decodes to the original for every implementation. */
static void test_lenient_noise(void)
{
    size_t n = shrink ? 20000 : 200000, k, len, elen, i, j = 0;
    unsigned char *in = random_bytes(n, 41), *out;
    char *enc = xmalloc(LM_B64_ENCODE_BOUND(n, 76));
    char *noisy = xmalloc(LM_B64_ENCODE_BOUND(n, 76) * 2);
    unsigned long long s = 43;
    elen = ref_encode(in, n, 76, enc);
    for (i = 0; i < elen; i++) {
        if (lmt_rand(&s) % 7 == 0)
            noisy[j++] = " \t\r\n!*\x80-"[lmt_rand(&s) % 8];
        noisy[j++] = enc[i];
    }
    for (k = 0; k < (size_t)nimpls; k++) {
        uint64_t off;
        int tr;
        LMT_CHECK(dec_str(impls[k], 0, noisy, j, &out, &len, &off, &tr) == LM_OK);
        LMT_CHECK(len == n && memcmp(out, in, n) == 0);
        free(out);
    }
    free(noisy);
    free(enc);
    free(in);
}

/* Random bytes, and valid text with random corruption: never an access
 * outside the buffers, and every implementation agrees on rc, output and
 * offset. */
static void test_garbage_agrees(void)
{
    size_t rounds = shrink ? 300 : 3000, r, k, len0, len, n;
    unsigned long long s = 47;
    for (r = 0; r < rounds; r++) {
        unsigned char *buf;
        unsigned char *out0, *out;
        uint64_t off0, off;
        int tr0, tr, rc0, rc, strict = (int)(r % 2);
        n = (size_t)(lmt_rand(&s) % 300);
        if (r % 3 == 0) {
            buf = random_bytes(n, lmt_rand(&s));
        } else {
            unsigned char *plain = random_bytes(n, lmt_rand(&s));
            size_t i, m;
            buf = xmalloc(LM_B64_ENCODE_BOUND(n, 76));
            m = ref_encode(plain, n, r % 3 == 1 ? 0 : 76, (char *)buf);
            for (i = 0; i < 2 && m; i++)
                buf[lmt_rand(&s) % m] = (unsigned char)(lmt_rand(&s) >> 56);
            n = m;
            free(plain);
        }
        rc0 = dec_chunks(LM_B64_SCALAR, strict, buf, n, NULL, 0, &out0, &len0, &off0, &tr0);
        for (k = 0; k < (size_t)nimpls; k++) {
            size_t cut = n / 2;
            rc = dec_chunks(impls[k], strict, buf, n, &cut, 1, &out, &len, &off, &tr);
            LMT_CHECK(rc == rc0);
            if (rc == LM_OK)
                LMT_CHECK(len == len0 && memcmp(out, out0, len) == 0);
            else
                LMT_CHECK(off == off0 && tr == tr0);
            free(out);
        }
        free(out0);
        free(buf);
    }
}

static void test_one_shot(void)
{
    char out[LM_B64_ENCODE_BOUND(6, 76)];
    unsigned char dec[LM_B64_DECODE_BOUND(10)];
    size_t len;
    uint64_t off = 0;
    LMT_CHECK(lm_b64_encode("foobar", 6, 76, out, &len) == LM_OK);
    LMT_CHECK(len == 10 && memcmp(out, "Zm9vYmFy\r\n", 10) == 0);
    LMT_CHECK(lm_b64_encode("foobar", 6, 6, out, &len) == LM_EINVAL);
    LMT_CHECK(lm_b64_decode("Zm9vYmFy\r\n", 10, 0, dec, &len, &off) == LM_OK);
    LMT_CHECK(len == 6 && memcmp(dec, "foobar", 6) == 0);
    LMT_CHECK(lm_b64_decode("Zm9vYmFy\r\n", 10, 1, dec, &len, &off) == LM_EINVAL);
    LMT_CHECK(off == 8 && len == 0);
}

/* The one-shot encoder writes exactly lm_b64_encoded_len bytes: an exact
 * malloc lets ASan/valgrind catch one byte too many. */
static void test_one_shot_exact_size(void)
{
    static const size_t linelens[] = {0, 76, 4};
    unsigned char *in = random_bytes(400, 53);
    size_t n, l, len;
    for (l = 0; l < 3; l++) {
        for (n = 0; n <= 400; n++) {
            size_t want = lm_b64_encoded_len(n, linelens[l]);
            char *out = xmalloc(want);
            LMT_CHECK(lm_b64_encode(in, n, linelens[l], out, &len) == LM_OK);
            LMT_CHECK(len == want);
            free(out);
        }
    }
    free(in);
}

static void test_decoder_sticky_and_reuse(void)
{
    lm_b64_dec d;
    unsigned char out[16];
    size_t w;
    int tr;
    LMT_CHECK(lm_b64_dec_init(&d, 1, LM_B64_AUTO) == LM_OK);
    LMT_CHECK(lm_b64_dec_step(&d, NULL, 0, out, &w) == LM_OK && w == 0);
    LMT_CHECK(lm_b64_dec_step(&d, "Zm9v", 4, out, &w) == LM_OK && w == 3);
    LMT_CHECK(lm_b64_dec_step(&d, "Zm!v", 4, out, &w) == LM_EINVAL);
    LMT_CHECK(lm_b64_dec_error(&d, &tr) == 6 && tr == 0);
    LMT_CHECK(lm_b64_dec_step(&d, "Zm9v", 4, out, &w) == LM_EINVAL && w == 0);
    LMT_CHECK(lm_b64_dec_finish(&d, out, &w) == LM_EINVAL && w == 0);
    LMT_CHECK(lm_b64_dec_error(&d, &tr) == 6);
    /* reset by finish: offsets count from the new stream */
    LMT_CHECK(lm_b64_dec_step(&d, "Zm9v", 4, out, &w) == LM_OK && w == 3);
    LMT_CHECK(lm_b64_dec_finish(&d, out, &w) == LM_OK && w == 0);
    LMT_CHECK(lm_b64_dec_step(&d, "Zg", 2, out, &w) == LM_OK && w == 0);
    LMT_CHECK(lm_b64_dec_finish(&d, out, &w) == LM_EINVAL);
    LMT_CHECK(lm_b64_dec_error(&d, &tr) == 2 && tr == 1);
}

int main(void)
{
    const char *vg = getenv("LMAIL_VALGRIND");
    shrink = vg && *vg && strcmp(vg, "0") != 0;
    find_impls();
    printf("b64 implementations here:");
    {
        int k;
        for (k = 0; k < nimpls; k++)
            printf(" %s", lm_b64_impl_name(impls[k]));
    }
    printf(" (auto: %s)\n", lm_b64_impl_name(LM_B64_AUTO));
    LMT_RUN(test_rfc4648_vectors);
    LMT_RUN(test_wrap_76_crlf);
    LMT_RUN(test_init_rejects);
    LMT_RUN(test_encode_all_lengths);
    LMT_RUN(test_encode_megabytes);
    LMT_RUN(test_encode_every_split);
    LMT_RUN(test_encode_random_splits);
    LMT_RUN(test_encoder_reuse);
    LMT_RUN(test_decode_all_lengths);
    LMT_RUN(test_decode_megabytes_random_splits);
    LMT_RUN(test_decode_every_split);
    LMT_RUN(test_strict_offsets);
    LMT_RUN(test_strict_offset_everywhere);
    LMT_RUN(test_lenient);
    LMT_RUN(test_lenient_failures);
    LMT_RUN(test_lenient_noise);
    LMT_RUN(test_garbage_agrees);
    LMT_RUN(test_one_shot);
    LMT_RUN(test_one_shot_exact_size);
    LMT_RUN(test_decoder_sticky_and_reuse);
    return lmt_report("b64");
}
