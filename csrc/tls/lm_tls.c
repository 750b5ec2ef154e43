/* lm_tls.c: the TLS client engine over memory BIOs (see lm_tls.h). The only
 * file that includes OpenSSL. Target: OpenSSL 3 (Debian 12); 1.1.1 builds. */
#include "lm_tls.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#if OPENSSL_VERSION_NUMBER >= 0x30000000L
#define peer_cert(ssl) SSL_get1_peer_certificate(ssl)
#else
#define peer_cert(ssl) SSL_get_peer_certificate(ssl)
#endif

struct lm_tls_ctx {
    SSL_CTX *ssl_ctx;
    int insecure;
};

struct lm_tls {
    SSL *ssl;
    BIO *rbio; /* ciphertext in; owned by ssl */
    BIO *wbio; /* ciphertext out; owned by ssl */
    int insecure;
    int failed;       /* sticky status, LM_OK while healthy */
    long verify_code; /* X509_V_OK unless verification failed */
    char err[LM_TLS_ERRMAX];
};

/* Appends OpenSSL's oldest queued error to prefix, then empties the queue so
 * no stale error leaks into the next object's diagnosis. */
static void take_error(char *buf, size_t n, const char *prefix)
{
    char detail[200];
    unsigned long e = ERR_get_error();
    if (!buf || !n) {
        ERR_clear_error();
        return;
    }
    if (e) {
        ERR_error_string_n(e, detail, sizeof detail);
        snprintf(buf, n, "%s: %s", prefix, detail);
    } else {
        snprintf(buf, n, "%s", prefix);
    }
    ERR_clear_error();
}

/* ---- context ---------------------------------------------------------- */

static int load_trust(SSL_CTX *c, const lm_tls_ctx_opts *o)
{
    if (o->cafile || o->capath)
        return SSL_CTX_load_verify_locations(c, o->cafile, o->capath) == 1;
    return SSL_CTX_set_default_verify_paths(c) == 1;
}

static int load_client_cert(SSL_CTX *c, const lm_tls_ctx_opts *o)
{
    const char *key = o->key ? o->key : o->cert;
    if (SSL_CTX_use_certificate_chain_file(c, o->cert) != 1)
        return 0;
    if (SSL_CTX_use_PrivateKey_file(c, key, SSL_FILETYPE_PEM) != 1)
        return 0;
    return SSL_CTX_check_private_key(c) == 1;
}

/* Applies opts to c; on failure names the step in err. */
static int configure(SSL_CTX *c, const lm_tls_ctx_opts *o, char *err, size_t n)
{
    if (SSL_CTX_set_min_proto_version(c, TLS1_2_VERSION) != 1) {
        take_error(err, n, "tls: cannot set TLS 1.2 as the minimum");
        return LM_ETLS;
    }
    /* A client never needs renegotiation; refusing it removes a whole
     * class of state (RFC 5746 attacks, mid-stream handshakes). */
    SSL_CTX_set_options(c, SSL_OP_NO_RENEGOTIATION);
    SSL_CTX_set_verify(c, o->insecure ? SSL_VERIFY_NONE : SSL_VERIFY_PEER, NULL);
    if (!o->insecure && !load_trust(c, o)) {
        take_error(err, n, "tls: cannot load the trust store");
        return LM_ETLS;
    }
    if (o->cert && !load_client_cert(c, o)) {
        take_error(err, n, "tls: cannot load the client certificate or key");
        return LM_ETLS;
    }
    return LM_OK;
}

int lm_tls_ctx_new(lm_tls_ctx **out, const lm_tls_ctx_opts *opts, char *err,
                   size_t errlen)
{
    lm_tls_ctx *ctx;
    int rc;
    *out = NULL;
    if (err && errlen)
        err[0] = '\0';
    if (opts->key && !opts->cert) {
        if (err && errlen)
            snprintf(err, errlen, "tls: a key needs a cert");
        return LM_EINVAL;
    }
    ctx = OPENSSL_zalloc(sizeof *ctx);
    if (!ctx)
        return LM_ENOMEM;
    ERR_clear_error();
    ctx->ssl_ctx = SSL_CTX_new(TLS_client_method());
    if (!ctx->ssl_ctx) {
        take_error(err, errlen, "tls: cannot create a context");
        OPENSSL_free(ctx);
        return LM_ENOMEM;
    }
    ctx->insecure = opts->insecure != 0;
    rc = configure(ctx->ssl_ctx, opts, err, errlen);
    if (rc != LM_OK) {
        lm_tls_ctx_free(ctx);
        return rc;
    }
    *out = ctx;
    return LM_OK;
}

void lm_tls_ctx_free(lm_tls_ctx *ctx)
{
    if (!ctx)
        return;
    SSL_CTX_free(ctx->ssl_ctx);
    OPENSSL_free(ctx);
}

/* ---- session ---------------------------------------------------------- */

/* An empty memory BIO must say "retry", not "end of file": more ciphertext
 * may still come from the transport. */
static BIO *mem_bio(void)
{
    BIO *b = BIO_new(BIO_s_mem());
    if (b)
        BIO_set_mem_eof_return(b, -1);
    return b;
}

static int is_ip_literal(const char *host)
{
    ASN1_OCTET_STRING *ip = a2i_IPADDRESS(host);
    if (!ip)
        return 0;
    ASN1_OCTET_STRING_free(ip);
    return 1;
}

/* Verification of the name inside the handshake (RFC 6125), and SNI for DNS
 * names only (RFC 6066 section 3: "Literal IPv4 and IPv6 addresses are not
 * permitted in HostName"). */
static int set_peer_name(lm_tls *t, const char *host)
{
    X509_VERIFY_PARAM *param = SSL_get0_param(t->ssl);
    /* SSL_set_tlsext_host_name casts its argument to void * (it copies the
     * name); the union passes it without a cast that drops const. */
    union {
        const char *in;
        char *out;
    } name;
    name.in = host;
    if (is_ip_literal(host))
        return X509_VERIFY_PARAM_set1_ip_asc(param, host) == 1;
    X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
    if (SSL_set1_host(t->ssl, host) != 1)
        return 0;
    return SSL_ctrl(t->ssl, SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name,
                    name.out) == 1;
}

static int attach_bios(lm_tls *t)
{
    BIO *r = mem_bio(), *w = mem_bio();
    if (!r || !w) {
        BIO_free(r);
        BIO_free(w);
        return 0;
    }
    SSL_set_bio(t->ssl, r, w); /* ssl owns both from here */
    t->rbio = r;
    t->wbio = w;
    return 1;
}

int lm_tls_new(lm_tls **out, lm_tls_ctx *ctx, const char *host)
{
    lm_tls *t;
    *out = NULL;
    if (!ctx || (!host && !ctx->insecure) || (host && !*host))
        return LM_EINVAL;
    t = OPENSSL_zalloc(sizeof *t);
    if (!t)
        return LM_ENOMEM;
    ERR_clear_error();
    t->insecure = ctx->insecure;
    t->ssl = SSL_new(ctx->ssl_ctx);
    if (!t->ssl || !attach_bios(t)) {
        lm_tls_free(t);
        ERR_clear_error();
        return LM_ENOMEM;
    }
    if (host && !set_peer_name(t, host)) {
        lm_tls_free(t);
        ERR_clear_error();
        return LM_EINVAL;
    }
    SSL_set_connect_state(t->ssl);
    *out = t;
    return LM_OK;
}

void lm_tls_free(lm_tls *t)
{
    if (!t)
        return;
    SSL_free(t->ssl); /* frees both BIOs */
    OPENSSL_cleanse(t->err, sizeof t->err);
    OPENSSL_free(t);
}

/* ---- errors ----------------------------------------------------------- */

struct reason {
    long code;
    const char *text;
};

static const struct reason reasons[] = {
    {X509_V_ERR_CERT_HAS_EXPIRED, "expired"},
    {X509_V_ERR_CERT_NOT_YET_VALID, "not yet valid"},
    {X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY, "unknown issuer"},
    {X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT, "unknown issuer"},
    {X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE, "unknown issuer"},
    {X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT, "self-signed"},
    {X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN, "self-signed"},
    {X509_V_ERR_HOSTNAME_MISMATCH, "hostname mismatch"},
    {X509_V_ERR_IP_ADDRESS_MISMATCH, "hostname mismatch"},
    {X509_V_ERR_CERT_REVOKED, "revoked"},
    {X509_V_ERR_CERT_SIGNATURE_FAILURE, "bad signature"},
    {X509_V_ERR_INVALID_CA, "invalid CA"},
    {X509_V_ERR_INVALID_PURPOSE, "invalid purpose"},
    {X509_V_ERR_CERT_CHAIN_TOO_LONG, "chain too long"},
    {X509_V_ERR_EE_KEY_TOO_SMALL, "key too small"},
    {X509_V_ERR_CA_MD_TOO_WEAK, "weak signature"},
};

const char *lm_tls_verify_reason(long code)
{
    size_t i;
    for (i = 0; i < sizeof reasons / sizeof reasons[0]; i++)
        if (reasons[i].code == code)
            return reasons[i].text;
    return "verification failed";
}

/* Records a failed SSL call as the sticky status. A rejected certificate
 * shows up as a handshake error with a verify result set; everything else
 * is a protocol-level failure. */
static int fail(lm_tls *t, int ret, const char *what)
{
    int e = SSL_get_error(t->ssl, ret);
    long v = SSL_get_verify_result(t->ssl);
    if (e == SSL_ERROR_ZERO_RETURN) {
        snprintf(t->err, sizeof t->err, "tls: the peer closed the session");
        ERR_clear_error();
        return t->failed = LM_ECLOSED;
    }
    if (!t->insecure && v != X509_V_OK && !SSL_is_init_finished(t->ssl)) {
        t->verify_code = v;
        snprintf(t->err, sizeof t->err, "tls: certificate verification failed: %s (%s)",
                 X509_verify_cert_error_string(v), lm_tls_verify_reason(v));
        ERR_clear_error();
        return t->failed = LM_ECERT;
    }
    take_error(t->err, sizeof t->err, what);
    return t->failed = LM_ETLS;
}

static int want_more(const lm_tls *t, int ret)
{
    int e = SSL_get_error(t->ssl, ret);
    return e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE;
}

const char *lm_tls_errmsg(const lm_tls *t)
{
    return t->err;
}

long lm_tls_verify_code(const lm_tls *t)
{
    return t->verify_code;
}

/* ---- data ------------------------------------------------------------- */

int lm_tls_handshake(lm_tls *t)
{
    int r;
    if (t->failed)
        return t->failed;
    ERR_clear_error();
    r = SSL_do_handshake(t->ssl);
    if (r == 1)
        return LM_OK;
    if (want_more(t, r))
        return LM_EAGAIN;
    return fail(t, r, "tls: handshake failed");
}

int lm_tls_feed(lm_tls *t, const void *buf, size_t n)
{
    const char *p = buf;
    while (n > 0) {
        int chunk = n > INT_MAX ? INT_MAX : (int)n;
        int w = BIO_write(t->rbio, p, chunk);
        if (w <= 0) {
            ERR_clear_error();
            return LM_ENOMEM;
        }
        p += w;
        n -= (size_t)w;
    }
    return LM_OK;
}

size_t lm_tls_pending(const lm_tls *t)
{
    return BIO_ctrl_pending(t->wbio);
}

size_t lm_tls_take(lm_tls *t, void *buf, size_t max)
{
    int r;
    if (max > INT_MAX)
        max = INT_MAX;
    if (max == 0)
        return 0;
    r = BIO_read(t->wbio, buf, (int)max);
    return r > 0 ? (size_t)r : 0;
}

int lm_tls_write(lm_tls *t, const void *buf, size_t n)
{
    size_t done = 0;
    if (t->failed)
        return t->failed;
    if (!SSL_is_init_finished(t->ssl))
        return LM_ESTATE;
    if (n == 0)
        return LM_OK;
    ERR_clear_error();
    /* The memory BIO grows, so one call encrypts everything. */
    if (SSL_write_ex(t->ssl, buf, n, &done) == 1 && done == n)
        return LM_OK;
    return fail(t, 0, "tls: write failed");
}

int lm_tls_read(lm_tls *t, void *buf, size_t max, size_t *got)
{
    *got = 0;
    if (t->failed)
        return t->failed;
    if (!SSL_is_init_finished(t->ssl))
        return LM_ESTATE;
    ERR_clear_error();
    if (SSL_read_ex(t->ssl, buf, max, got) == 1)
        return LM_OK;
    if (want_more(t, 0))
        return LM_EAGAIN;
    return fail(t, 0, "tls: read failed");
}

int lm_tls_shutdown(lm_tls *t)
{
    if (t->failed || !SSL_is_init_finished(t->ssl))
        return LM_OK;
    ERR_clear_error();
    /* 0 means "sent, the peer's close_notify not yet seen": we do not wait
     * for it (RFC 8446 section 6.1 allows closing the read side now). */
    if (SSL_shutdown(t->ssl) < 0)
        return fail(t, -1, "tls: shutdown failed");
    return LM_OK;
}

/* ---- info ------------------------------------------------------------- */

static void name_text(X509_NAME *name, char *out, size_t n)
{
    BIO *b = BIO_new(BIO_s_mem());
    int len;
    out[0] = '\0';
    if (!b)
        return;
    if (X509_NAME_print_ex(b, name, 0, XN_FLAG_RFC2253) >= 0) {
        len = BIO_read(b, out, (int)n - 1);
        out[len > 0 ? len : 0] = '\0';
    }
    BIO_free(b);
}

int lm_tls_get_info(const lm_tls *t, lm_tls_info *info)
{
    X509 *cert;
    memset(info, 0, sizeof *info);
    if (!SSL_is_init_finished(t->ssl))
        return LM_ESTATE;
    snprintf(info->protocol, sizeof info->protocol, "%s", SSL_get_version(t->ssl));
    snprintf(info->cipher, sizeof info->cipher, "%s", SSL_get_cipher_name(t->ssl));
    cert = peer_cert(t->ssl);
    if (cert) {
        name_text(X509_get_subject_name(cert), info->subject, sizeof info->subject);
        name_text(X509_get_issuer_name(cert), info->issuer, sizeof info->issuer);
        X509_free(cert);
    }
    info->verified = !t->insecure && cert && SSL_get_verify_result(t->ssl) == X509_V_OK;
    ERR_clear_error();
    return LM_OK;
}
