/* lm_tls.h: a TLS client engine over memory BIOs (DESIGN.md section 3). It
 * owns no socket and never blocks: the caller feeds it ciphertext received
 * (lm_tls_feed), takes the ciphertext it must send (lm_tls_take), and reads
 * and writes plaintext. This file's .c is the only place that includes
 * OpenSSL; every OpenSSL version difference stays there.
 *
 * Ownership: lm_tls_ctx_new / lm_tls_new hand the caller an object to free
 * with lm_tls_ctx_free / lm_tls_free (both accept NULL). An engine keeps its
 * context alive by itself, so a context may be freed before its engines.
 *
 * Status codes: LM_OK, LM_EAGAIN (feed more ciphertext, after sending what
 * lm_tls_pending reports), LM_ECLOSED (the peer sent close_notify),
 * LM_ECERT (certificate verification failed), LM_ETLS (any other TLS
 * failure), LM_ENOMEM, LM_EINVAL. A failure other than LM_EAGAIN is sticky:
 * every later call returns it again; lm_tls_errmsg says why. */
#ifndef LM_TLS_H
#define LM_TLS_H

#include <stddef.h>

#include "../core/lm.h"

typedef struct lm_tls_ctx lm_tls_ctx;
typedef struct lm_tls lm_tls;

typedef struct lm_tls_ctx_opts {
    const char *cafile; /* PEM bundle; with capath, replaces the system store */
    const char *capath; /* hashed directory (c_rehash) */
    const char *cert;   /* client certificate chain, PEM */
    const char *key;    /* its private key, PEM; defaults to cert */
    int insecure;       /* 1: no chain and no host-name verification at all */
} lm_tls_ctx_opts;

/* Room for any message lm_tls writes (NUL included). */
#define LM_TLS_ERRMAX 256

/* Builds a client context: TLS 1.2 minimum, peer verification on unless
 * opts->insecure. Loading the system trust store is slow, so callers share a
 * context between connections. On failure *out is NULL, err (of errlen
 * bytes, may be NULL) holds the reason, and LM_ETLS, LM_EINVAL or LM_ENOMEM
 * comes back. */
int lm_tls_ctx_new(lm_tls_ctx **out, const lm_tls_ctx_opts *opts, char *err,
                   size_t errlen);
void lm_tls_ctx_free(lm_tls_ctx *ctx);

/* A client session on ctx. host is the name to verify (a DNS name, or an
 * IPv4/IPv6 literal checked against the certificate's IP SANs); DNS names
 * are also sent as SNI (RFC 6066 section 3 forbids IP literals there).
 * host may be NULL only for an insecure context (LM_EINVAL otherwise). */
int lm_tls_new(lm_tls **out, lm_tls_ctx *ctx, const char *host);
void lm_tls_free(lm_tls *t);

/* One handshake step: LM_OK once established, LM_EAGAIN while it needs
 * more ciphertext, or a sticky failure (LM_ECERT, LM_ETLS). */
int lm_tls_handshake(lm_tls *t);

/* Appends n bytes of ciphertext received from the peer. */
int lm_tls_feed(lm_tls *t, const void *buf, size_t n);

/* Ciphertext waiting to be sent, and taking up to max bytes of it. */
size_t lm_tls_pending(const lm_tls *t);
size_t lm_tls_take(lm_tls *t, void *buf, size_t max);

/* Encrypts all n bytes (the ciphertext becomes pending). Only after the
 * handshake: LM_ESTATE before it. */
int lm_tls_write(lm_tls *t, const void *buf, size_t n);

/* Decrypts up to max bytes into buf (*got set). LM_EAGAIN: feed more
 * (something may have become pending, e.g. a KeyUpdate answer);
 * LM_ECLOSED: close_notify received. */
int lm_tls_read(lm_tls *t, void *buf, size_t max, size_t *got);

/* Queues close_notify (RFC 8446 section 6.1); LM_OK even if the session
 * never got established (nothing is queued then). */
int lm_tls_shutdown(lm_tls *t);

/* The reason of the last failure ("" if none); owned by t. */
const char *lm_tls_errmsg(const lm_tls *t);

/* After LM_ECERT: the X.509 verify code and a short stable reason such as
 * "expired", "unknown issuer", "hostname mismatch", "self-signed". */
long lm_tls_verify_code(const lm_tls *t);
const char *lm_tls_verify_reason(long code);

/* What was negotiated, for logging. Strings are NUL-terminated copies;
 * subject and issuer are RFC 2253 text, "" without a peer certificate. */
typedef struct lm_tls_info {
    char protocol[16];
    char cipher[64];
    char subject[256];
    char issuer[256];
    int verified; /* chain and host name checked and good */
} lm_tls_info;
int lm_tls_get_info(const lm_tls *t, lm_tls_info *info);

#endif
