/* lm_md5.h: MD5 (RFC 1321) and HMAC-MD5 (RFC 2104), pure C99.
 *
 * Nothing here allocates, fails or keeps global state: every context is a
 * plain struct the caller owns (on the stack, in a userdata, inside another
 * object) and may copy. Pointers passed in are only read during the call.
 * None of these functions returns a status: with valid pointers there is no
 * failure to report. data (and key) may be NULL when the length is 0.
 *
 * The byte counter is 64 bits wide, so messages over 4 GiB hash correctly;
 * RFC 1321 3.2 appends the bit length modulo 2^64, which is what we do.
 *
 * MD5 is broken for collision resistance. lmail uses it where protocols
 * require it: CRAM-MD5 (RFC 2195), APOP (RFC 1939 7), checksums. */
#ifndef LM_MD5_H
#define LM_MD5_H

#include <stddef.h>
#include <stdint.h>

#define LM_MD5_DIGEST_LEN 16
#define LM_MD5_BLOCK_LEN 64

/* A streaming MD5 context. Fields are private; sizeof is public so that
 * callers can embed it without allocating. */
typedef struct lm_md5_ctx {
    uint32_t h[4];                          /* chaining state A B C D */
    uint64_t nbytes;                        /* bytes fed so far */
    unsigned char buf[LM_MD5_BLOCK_LEN];    /* the unfinished block */
} lm_md5_ctx;

/* Starts a new message (RFC 1321 3.3). */
void lm_md5_init(lm_md5_ctx *c);
/* Feeds n more bytes; any chunk sizes, any number of calls. */
void lm_md5_update(lm_md5_ctx *c, const void *data, size_t n);
/* Pads (RFC 1321 3.1, 3.2), writes the 16-byte digest to out and leaves c
 * in an unspecified state: call lm_md5_init before reusing it. */
void lm_md5_final(lm_md5_ctx *c, unsigned char out[LM_MD5_DIGEST_LEN]);
/* One-shot: out = MD5(data[0..n)). */
void lm_md5(const void *data, size_t n, unsigned char out[LM_MD5_DIGEST_LEN]);

/* A streaming HMAC-MD5 context: the inner hash running over the message and
 * the outer hash already fed with the opad block. The key is not kept, but
 * the two states are as good as the key for computing MACs: final wipes
 * the context; a context abandoned before final should be wiped with
 * lm_hmac_md5_wipe. */
typedef struct lm_hmac_md5_ctx {
    lm_md5_ctx inner;
    lm_md5_ctx outer;
} lm_hmac_md5_ctx;

/* Starts an HMAC under key (any length; keys over 64 bytes are hashed
 * first, RFC 2104 section 3). */
void lm_hmac_md5_init(lm_hmac_md5_ctx *c, const void *key, size_t keylen);
/* Feeds n more bytes of the message. */
void lm_hmac_md5_update(lm_hmac_md5_ctx *c, const void *data, size_t n);
/* Writes the 16-byte MAC to out and wipes c. */
void lm_hmac_md5_final(lm_hmac_md5_ctx *c, unsigned char out[LM_MD5_DIGEST_LEN]);
/* One-shot: out = HMAC-MD5(key, data). Wipes its key-derived temporaries. */
void lm_hmac_md5(const void *key, size_t keylen, const void *data, size_t n,
                 unsigned char out[LM_MD5_DIGEST_LEN]);
/* Overwrites a context with zeros in a way the compiler keeps. */
void lm_hmac_md5_wipe(lm_hmac_md5_ctx *c);

#endif
