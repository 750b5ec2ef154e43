/* lm_md5.c: MD5 (RFC 1321) and HMAC-MD5 (RFC 2104).
 *
 * Speed notes. MD5 is one long dependency chain: each step needs the value
 * the previous step produced (b below), so the time per block is the length
 * of that chain, not the instruction count. Each step is written so that
 * only the operations that must wait for b come after it; everything else
 * (the message word, the constant, the parts of F/G/I built from c and d)
 * is computed while the previous step is still running. The state stays in
 * four locals, the message words are loaded where used (memcpy, which
 * compiles to a plain load), and the 64 steps are unrolled. */
#include "lm_md5.h"

#include <string.h>

#if defined(__BYTE_ORDER__) && defined(__ORDER_LITTLE_ENDIAN__)
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define LM_MD5_LE 1
#endif
#endif

/* RFC 1321 3.4 reads the block as 16 little-endian 32-bit words. */
static inline uint32_t load32le(const unsigned char *p)
{
#ifdef LM_MD5_LE
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
#else
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
#endif
}

static inline void store32le(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)v;
    p[1] = (unsigned char)(v >> 8);
    p[2] = (unsigned char)(v >> 16);
    p[3] = (unsigned char)(v >> 24);
}

#define ROTL(x, s) (((x) << (s)) | ((x) >> (32 - (s))))

/* Message word k of block m plus the step constant t. clang's reassociation
 * moves a constant to the last add of a sum, which puts it on the chain
 * after F (one cycle per step, 15% of the speed); an empty asm hides the sum
 * from that pass so it is formed off the chain, as written. */
#if defined(__GNUC__) || defined(__clang__)
#define WT(m, k, t) wt_opaque(load32le((m) + 4 * (k)) + (uint32_t)(t))
static inline uint32_t wt_opaque(uint32_t v)
{
    __asm__("" : "+r"(v));
    return v;
}
#else
#define WT(m, k, t) (load32le((m) + 4 * (k)) + (uint32_t)(t))
#endif

/* F = (b & c) | (~b & d), written d ^ (b & (c ^ d)): c ^ d does not wait
 * for b, leaving two operations on the chain. */
#define STEP_F(m, a, b, c, d, k, t, s)                                         \
    a += WT(m, k, t);                                                          \
    a += d ^ (b & (c ^ d));                                                    \
    a = ROTL(a, s) + b;

/* G = (b & d) | (c & ~d). The two terms never share a bit, so the | is a +
 * and c & ~d is added before b is known: one operation on the chain. */
#define STEP_G(m, a, b, c, d, k, t, s)                                         \
    a += WT(m, k, t) + (c & ~d);                                               \
    a += b & d;                                                                \
    a = ROTL(a, s) + b;

/* H = b ^ c ^ d, with c ^ d formed first. */
#define STEP_H(m, a, b, c, d, k, t, s)                                         \
    a += WT(m, k, t);                                                          \
    a += b ^ (c ^ d);                                                          \
    a = ROTL(a, s) + b;

/* I = c ^ (b | ~d), with ~d formed first. */
#define STEP_I(m, a, b, c, d, k, t, s)                                         \
    a += WT(m, k, t);                                                          \
    a += c ^ (b | ~d);                                                         \
    a = ROTL(a, s) + b;

/* The 64 steps of RFC 1321 3.4 as a table: [abcd k s T[i]] there is
 * F(a, b, c, d, k, T[i], s) here. F G H I name the step macros to apply. */
#define MD5_STEPS(F, G, H, I)                                                  \
    /* Round 1 (RFC 1321 3.4): k = i, shifts 7 12 17 22. */                    \
    F(a, b, c, d, 0, 0xd76aa478, 7)                                            \
    F(d, a, b, c, 1, 0xe8c7b756, 12)                                           \
    F(c, d, a, b, 2, 0x242070db, 17)                                           \
    F(b, c, d, a, 3, 0xc1bdceee, 22)                                           \
    F(a, b, c, d, 4, 0xf57c0faf, 7)                                            \
    F(d, a, b, c, 5, 0x4787c62a, 12)                                           \
    F(c, d, a, b, 6, 0xa8304613, 17)                                           \
    F(b, c, d, a, 7, 0xfd469501, 22)                                           \
    F(a, b, c, d, 8, 0x698098d8, 7)                                            \
    F(d, a, b, c, 9, 0x8b44f7af, 12)                                           \
    F(c, d, a, b, 10, 0xffff5bb1, 17)                                          \
    F(b, c, d, a, 11, 0x895cd7be, 22)                                          \
    F(a, b, c, d, 12, 0x6b901122, 7)                                           \
    F(d, a, b, c, 13, 0xfd987193, 12)                                          \
    F(c, d, a, b, 14, 0xa679438e, 17)                                          \
    F(b, c, d, a, 15, 0x49b40821, 22)                                          \
    /* Round 2: k = 1 + 5i mod 16, shifts 5 9 14 20. */                        \
    G(a, b, c, d, 1, 0xf61e2562, 5)                                            \
    G(d, a, b, c, 6, 0xc040b340, 9)                                            \
    G(c, d, a, b, 11, 0x265e5a51, 14)                                          \
    G(b, c, d, a, 0, 0xe9b6c7aa, 20)                                           \
    G(a, b, c, d, 5, 0xd62f105d, 5)                                            \
    G(d, a, b, c, 10, 0x02441453, 9)                                           \
    G(c, d, a, b, 15, 0xd8a1e681, 14)                                          \
    G(b, c, d, a, 4, 0xe7d3fbc8, 20)                                           \
    G(a, b, c, d, 9, 0x21e1cde6, 5)                                            \
    G(d, a, b, c, 14, 0xc33707d6, 9)                                           \
    G(c, d, a, b, 3, 0xf4d50d87, 14)                                           \
    G(b, c, d, a, 8, 0x455a14ed, 20)                                           \
    G(a, b, c, d, 13, 0xa9e3e905, 5)                                           \
    G(d, a, b, c, 2, 0xfcefa3f8, 9)                                            \
    G(c, d, a, b, 7, 0x676f02d9, 14)                                           \
    G(b, c, d, a, 12, 0x8d2a4c8a, 20)                                          \
    /* Round 3: k = 5 + 3i mod 16, shifts 4 11 16 23. */                       \
    H(a, b, c, d, 5, 0xfffa3942, 4)                                            \
    H(d, a, b, c, 8, 0x8771f681, 11)                                           \
    H(c, d, a, b, 11, 0x6d9d6122, 16)                                          \
    H(b, c, d, a, 14, 0xfde5380c, 23)                                          \
    H(a, b, c, d, 1, 0xa4beea44, 4)                                            \
    H(d, a, b, c, 4, 0x4bdecfa9, 11)                                           \
    H(c, d, a, b, 7, 0xf6bb4b60, 16)                                           \
    H(b, c, d, a, 10, 0xbebfbc70, 23)                                          \
    H(a, b, c, d, 13, 0x289b7ec6, 4)                                           \
    H(d, a, b, c, 0, 0xeaa127fa, 11)                                           \
    H(c, d, a, b, 3, 0xd4ef3085, 16)                                           \
    H(b, c, d, a, 6, 0x04881d05, 23)                                           \
    H(a, b, c, d, 9, 0xd9d4d039, 4)                                            \
    H(d, a, b, c, 12, 0xe6db99e5, 11)                                          \
    H(c, d, a, b, 15, 0x1fa27cf8, 16)                                          \
    H(b, c, d, a, 2, 0xc4ac5665, 23)                                           \
    /* Round 4: k = 7i mod 16, shifts 6 10 15 21. */                           \
    I(a, b, c, d, 0, 0xf4292244, 6)                                            \
    I(d, a, b, c, 7, 0x432aff97, 10)                                           \
    I(c, d, a, b, 14, 0xab9423a7, 15)                                          \
    I(b, c, d, a, 5, 0xfc93a039, 21)                                           \
    I(a, b, c, d, 12, 0x655b59c3, 6)                                           \
    I(d, a, b, c, 3, 0x8f0ccc92, 10)                                           \
    I(c, d, a, b, 10, 0xffeff47d, 15)                                          \
    I(b, c, d, a, 1, 0x85845dd1, 21)                                           \
    I(a, b, c, d, 8, 0x6fa87e4f, 6)                                            \
    I(d, a, b, c, 15, 0xfe2ce6e0, 10)                                          \
    I(c, d, a, b, 6, 0xa3014314, 15)                                           \
    I(b, c, d, a, 13, 0x4e0811a1, 21)                                          \
    I(a, b, c, d, 4, 0xf7537e82, 6)                                            \
    I(d, a, b, c, 11, 0xbd3af235, 10)                                          \
    I(c, d, a, b, 2, 0x2ad7d2bb, 15)                                           \
    I(b, c, d, a, 9, 0xeb86d391, 21)

/* One lane: the state in a b c d, the block at p. */
#define F1(a, b, c, d, k, t, s) STEP_F(p, a, b, c, d, k, t, s)
#define G1(a, b, c, d, k, t, s) STEP_G(p, a, b, c, d, k, t, s)
#define H1(a, b, c, d, k, t, s) STEP_H(p, a, b, c, d, k, t, s)
#define I1(a, b, c, d, k, t, s) STEP_I(p, a, b, c, d, k, t, s)

/* One 64-byte block. Unrolled, so that a b c d live in registers. */
static void md5_block(uint32_t h[4], const unsigned char *p)
{
    uint32_t a = h[0], b = h[1], c = h[2], d = h[3];

    MD5_STEPS(F1, G1, H1, I1)
    h[0] += a, h[1] += b, h[2] += c, h[3] += d;
}

/* Two lanes: a1.. with block p1, a2.. with block p2, step by step. */
#define F2(a, b, c, d, k, t, s)                                                \
    STEP_F(p1, a##1, b##1, c##1, d##1, k, t, s) STEP_F(p2, a##2, b##2, c##2, d##2, k, t, s)
#define G2(a, b, c, d, k, t, s)                                                \
    STEP_G(p1, a##1, b##1, c##1, d##1, k, t, s) STEP_G(p2, a##2, b##2, c##2, d##2, k, t, s)
#define H2(a, b, c, d, k, t, s)                                                \
    STEP_H(p1, a##1, b##1, c##1, d##1, k, t, s) STEP_H(p2, a##2, b##2, c##2, d##2, k, t, s)
#define I2(a, b, c, d, k, t, s)                                                \
    STEP_I(p1, a##1, b##1, c##1, d##1, k, t, s) STEP_I(p2, a##2, b##2, c##2, d##2, k, t, s)

/* Two independent blocks at once (HMAC's ipad and opad blocks). One lane
 * is a single dependency chain that leaves most execution units idle, so a
 * second chain beside it costs little: two blocks in about the time of one. */
static void md5_block2(uint32_t h1[4], const unsigned char *p1, uint32_t h2[4],
                       const unsigned char *p2)
{
    uint32_t a1 = h1[0], b1 = h1[1], c1 = h1[2], d1 = h1[3];
    uint32_t a2 = h2[0], b2 = h2[1], c2 = h2[2], d2 = h2[3];

    MD5_STEPS(F2, G2, H2, I2)
    h1[0] += a1, h1[1] += b1, h1[2] += c1, h1[3] += d1;
    h2[0] += a2, h2[1] += b2, h2[2] += c2, h2[3] += d2;
}

/* Runs nblocks 64-byte blocks through the compression function. */
static void md5_blocks(uint32_t h[4], const unsigned char *p, size_t nblocks)
{
    for (; nblocks; nblocks--, p += LM_MD5_BLOCK_LEN)
        md5_block(h, p);
}

/* Zeroes a secret that is about to go out of scope. A plain memset there
 * is a dead store the compiler may delete; the empty asm claims to read the
 * memory, so the stores stay (and stay inline: no call). Other compilers
 * call memset through a volatile pointer, which cannot be proven useless. */
#if defined(__GNUC__) || defined(__clang__)
static inline void wipe(void *p, size_t n)
{
    memset(p, 0, n);
    __asm__ __volatile__("" : : "r"(p) : "memory");
}
#else
static void *(*const volatile wipe_fn)(void *, int, size_t) = memset;

static void wipe(void *p, size_t n)
{
    wipe_fn(p, 0, n);
}
#endif

static void md5_iv(uint32_t h[4])
{
    /* RFC 1321 3.3, words A B C D. */
    h[0] = 0x67452301;
    h[1] = 0xefcdab89;
    h[2] = 0x98badcfe;
    h[3] = 0x10325476;
}

static void md5_out(const uint32_t h[4], unsigned char out[LM_MD5_DIGEST_LEN])
{
    int i;
    for (i = 0; i < 4; i++)
        store32le(out + 4 * i, h[i]);
}

/* Hashes the last rem (< 64) bytes at p plus the padding of RFC 1321 3.1 and
 * 3.2: a 1 bit, zeros up to 56 mod 64, then the message length in bits,
 * little-endian, modulo 2^64. total is the message length in bytes. */
static void md5_tail(uint32_t h[4], const unsigned char *p, size_t rem, uint64_t total)
{
    unsigned char block[2 * LM_MD5_BLOCK_LEN];
    size_t len = rem < 56 ? LM_MD5_BLOCK_LEN : 2 * LM_MD5_BLOCK_LEN;
    uint64_t bits = total << 3;
    int i;

    if (rem)
        memcpy(block, p, rem);
    block[rem] = 0x80;
    memset(block + rem + 1, 0, len - 8 - rem - 1);
    for (i = 0; i < 8; i++)
        block[len - 8 + (size_t)i] = (unsigned char)(bits >> (8 * i));
    md5_blocks(h, block, len / LM_MD5_BLOCK_LEN);
}

/* Hashes the n bytes at p to the end, from a state that has already
 * absorbed `prefix` bytes (a multiple of 64). */
static void md5_run(uint32_t h[4], const unsigned char *p, size_t n, uint64_t prefix)
{
    size_t full = n - n % LM_MD5_BLOCK_LEN;

    if (full)
        md5_blocks(h, p, full / LM_MD5_BLOCK_LEN);
    md5_tail(h, full ? p + full : p, n - full, prefix + n);
}

void lm_md5_init(lm_md5_ctx *c)
{
    md5_iv(c->h);
    c->nbytes = 0;
}

void lm_md5_update(lm_md5_ctx *c, const void *data, size_t n)
{
    const unsigned char *p = data;
    size_t used = (size_t)(c->nbytes % LM_MD5_BLOCK_LEN);

    if (n == 0)
        return;
    c->nbytes += n;
    if (used) {
        size_t take = LM_MD5_BLOCK_LEN - used;
        if (n < take) {
            memcpy(c->buf + used, p, n);
            return;
        }
        memcpy(c->buf + used, p, take);
        md5_blocks(c->h, c->buf, 1);
        p += take;
        n -= take;
    }
    md5_blocks(c->h, p, n / LM_MD5_BLOCK_LEN);
    p += n - n % LM_MD5_BLOCK_LEN;
    n %= LM_MD5_BLOCK_LEN;
    if (n)
        memcpy(c->buf, p, n);
}

void lm_md5_final(lm_md5_ctx *c, unsigned char out[LM_MD5_DIGEST_LEN])
{
    md5_tail(c->h, c->buf, (size_t)(c->nbytes % LM_MD5_BLOCK_LEN), c->nbytes);
    md5_out(c->h, out);
}

void lm_md5(const void *data, size_t n, unsigned char out[LM_MD5_DIGEST_LEN])
{
    uint32_t h[4];

    md5_iv(h);
    md5_run(h, data, n, 0);
    md5_out(h, out);
}

/* RFC 2104 section 2: K padded with zeros to the block length (a key longer
 * than a block replaced by its hash, section 3), XORed with ipad and opad;
 * hi and ho become the inner and outer states after that first block. */
static void hmac_start(const void *key, size_t keylen, uint32_t hi[4], uint32_t ho[4])
{
    unsigned char pads[2][LM_MD5_BLOCK_LEN];
    int i;

    memset(pads[0], 0, LM_MD5_BLOCK_LEN);
    if (keylen > LM_MD5_BLOCK_LEN)
        lm_md5(key, keylen, pads[0]);
    else if (keylen)
        memcpy(pads[0], key, keylen);
    for (i = 0; i < LM_MD5_BLOCK_LEN; i++) {
        pads[1][i] = (unsigned char)(pads[0][i] ^ 0x5c);
        pads[0][i] = (unsigned char)(pads[0][i] ^ 0x36);
    }
    md5_iv(hi);
    md5_iv(ho);
    md5_block2(hi, pads[0], ho, pads[1]);
    wipe(pads, sizeof pads);
}

void lm_hmac_md5_init(lm_hmac_md5_ctx *c, const void *key, size_t keylen)
{
    hmac_start(key, keylen, c->inner.h, c->outer.h);
    c->inner.nbytes = LM_MD5_BLOCK_LEN;
    c->outer.nbytes = LM_MD5_BLOCK_LEN;
}

void lm_hmac_md5_update(lm_hmac_md5_ctx *c, const void *data, size_t n)
{
    lm_md5_update(&c->inner, data, n);
}

void lm_hmac_md5_final(lm_hmac_md5_ctx *c, unsigned char out[LM_MD5_DIGEST_LEN])
{
    unsigned char ih[LM_MD5_DIGEST_LEN];

    lm_md5_final(&c->inner, ih);
    lm_md5_update(&c->outer, ih, sizeof ih);
    lm_md5_final(&c->outer, out);
    wipe(ih, sizeof ih);
    lm_hmac_md5_wipe(c);
}

/* The same as init/update/final, without copying the message into a
 * context buffer. */
void lm_hmac_md5(const void *key, size_t keylen, const void *data, size_t n,
                 unsigned char out[LM_MD5_DIGEST_LEN])
{
    struct {
        uint32_t hi[4], ho[4];
        unsigned char ih[LM_MD5_DIGEST_LEN];
    } s;

    hmac_start(key, keylen, s.hi, s.ho);
    md5_run(s.hi, data, n, LM_MD5_BLOCK_LEN);
    md5_out(s.hi, s.ih);
    md5_run(s.ho, s.ih, sizeof s.ih, LM_MD5_BLOCK_LEN);
    md5_out(s.ho, out);
    wipe(&s, sizeof s);
}

void lm_hmac_md5_wipe(lm_hmac_md5_ctx *c)
{
    wipe(c, sizeof *c);
}
