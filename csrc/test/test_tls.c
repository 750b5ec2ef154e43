/* test_tls.c: the TLS engine alone. A client lm_tls talks in-process to a
 * server SSL object (plain OpenSSL, test side only) through memory; the
 * test PKI is built in memory at run time, so nothing here needs files
 * except the CA bundle the client context loads. */
#include <stdlib.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "../tls/lm_tls.h"
#include "lmt.h"

/* ---- test PKI ---------------------------------------------------------- */

static EVP_PKEY *new_key(void)
{
    EVP_PKEY *k = NULL;
    EVP_PKEY_CTX *c = EVP_PKEY_CTX_new_id(EVP_PKEY_EC, NULL);
    if (c && EVP_PKEY_keygen_init(c) == 1 &&
        EVP_PKEY_CTX_set_ec_paramgen_curve_nid(c, NID_X9_62_prime256v1) == 1)
        EVP_PKEY_keygen(c, &k);
    EVP_PKEY_CTX_free(c);
    return k;
}

static void add_ext(X509 *x, X509 *issuer, int nid, const char *value)
{
    X509V3_CTX v3;
    X509_EXTENSION *e;
    X509V3_set_ctx(&v3, issuer, x, NULL, NULL, 0);
    e = X509V3_EXT_conf_nid(NULL, &v3, nid, value);
    if (e) {
        X509_add_ext(x, e, -1);
        X509_EXTENSION_free(e);
    }
}

typedef struct cert_spec {
    const char *cn;
    const char *san; /* NULL: none */
    long from_days, to_days; /* validity relative to now */
    int is_ca;
} cert_spec;

/* A certificate for key, signed by ikey/issuer, or self-signed if issuer is
 * NULL. */
static X509 *make_cert(const cert_spec *s, EVP_PKEY *key, X509 *issuer, EVP_PKEY *ikey)
{
    static long serial = 1;
    X509 *x = X509_new();
    X509_NAME *name = X509_get_subject_name(x);
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), serial++);
    X509_gmtime_adj(X509_getm_notBefore(x), s->from_days * 86400L);
    X509_gmtime_adj(X509_getm_notAfter(x), s->to_days * 86400L);
    X509_set_pubkey(x, key);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)s->cn, -1,
                               -1, 0);
    X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : name);
    add_ext(x, issuer ? issuer : x, NID_basic_constraints,
            s->is_ca ? "critical,CA:TRUE" : "CA:FALSE");
    if (s->san)
        add_ext(x, issuer ? issuer : x, NID_subject_alt_name, s->san);
    X509_sign(x, issuer ? ikey : key, EVP_sha256());
    return x;
}

static struct pki {
    EVP_PKEY *ca_key, *other_ca_key, *key;
    X509 *ca, *other_ca, *good, *expired, *wrong, *self, *client;
    char cafile[64], other_cafile[64], clientfile[64];
} pki;

static void write_pem(char *path, X509 *cert, EVP_PKEY *key)
{
    int fd;
    FILE *f;
    strcpy(path, "/tmp/lmail-test-tls-XXXXXX");
    fd = mkstemp(path);
    f = fd >= 0 ? fdopen(fd, "w") : NULL;
    if (!f) {
        perror("mkstemp");
        exit(2);
    }
    PEM_write_X509(f, cert);
    if (key)
        PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL);
    fclose(f);
}

static void pki_build(void)
{
    const cert_spec ca = {"lmail test CA", NULL, -1, 30, 1};
    const cert_spec other = {"lmail other CA", NULL, -1, 30, 1};
    const cert_spec good = {"localhost", "DNS:localhost,IP:127.0.0.1", -1, 30, 0};
    const cert_spec expired = {"localhost", "DNS:localhost,IP:127.0.0.1", -30, -1, 0};
    const cert_spec wrong = {"wrong.example", "DNS:wrong.example", -1, 30, 0};
    const cert_spec self = {"localhost", "DNS:localhost", -1, 30, 0};
    const cert_spec client = {"lmail client", NULL, -1, 30, 0};
    pki.ca_key = new_key();
    pki.other_ca_key = new_key();
    pki.key = new_key();
    pki.ca = make_cert(&ca, pki.ca_key, NULL, NULL);
    pki.other_ca = make_cert(&other, pki.other_ca_key, NULL, NULL);
    pki.good = make_cert(&good, pki.key, pki.ca, pki.ca_key);
    pki.expired = make_cert(&expired, pki.key, pki.ca, pki.ca_key);
    pki.wrong = make_cert(&wrong, pki.key, pki.ca, pki.ca_key);
    pki.self = make_cert(&self, pki.key, NULL, NULL);
    pki.client = make_cert(&client, pki.key, pki.ca, pki.ca_key);
    write_pem(pki.cafile, pki.ca, NULL);
    write_pem(pki.other_cafile, pki.other_ca, NULL);
    write_pem(pki.clientfile, pki.client, pki.key);
}

static void pki_free(void)
{
    X509 *all[] = {pki.ca, pki.other_ca, pki.good, pki.expired,
                   pki.wrong, pki.self, pki.client};
    size_t i;
    for (i = 0; i < sizeof all / sizeof all[0]; i++)
        X509_free(all[i]);
    EVP_PKEY_free(pki.ca_key);
    EVP_PKEY_free(pki.other_ca_key);
    EVP_PKEY_free(pki.key);
    unlink(pki.cafile);
    unlink(pki.other_cafile);
    unlink(pki.clientfile);
}

/* ---- the in-process server --------------------------------------------- */

typedef struct server {
    SSL_CTX *ctx;
    SSL *ssl;
    BIO *in, *out;
    char sni[128];
} server;

static int sni_cb(SSL *ssl, int *alert, void *arg)
{
    server *s = arg;
    const char *name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
    (void)alert;
    snprintf(s->sni, sizeof s->sni, "%s", name ? name : "");
    return SSL_TLSEXT_ERR_OK;
}

/* max_version 0: any; require_client: ask for and insist on a certificate. */
static void server_start(server *s, X509 *cert, int max_version, int require_client)
{
    memset(s, 0, sizeof *s);
    s->ctx = SSL_CTX_new(TLS_server_method());
    SSL_CTX_use_certificate(s->ctx, cert);
    SSL_CTX_use_PrivateKey(s->ctx, pki.key);
    SSL_CTX_set_tlsext_servername_callback(s->ctx, sni_cb);
    SSL_CTX_set_tlsext_servername_arg(s->ctx, s);
    if (max_version) {
        SSL_CTX_set_security_level(s->ctx, 0);
        SSL_CTX_set_min_proto_version(s->ctx, TLS1_VERSION);
        SSL_CTX_set_max_proto_version(s->ctx, max_version);
    }
    if (require_client) {
        X509_STORE_add_cert(SSL_CTX_get_cert_store(s->ctx), pki.ca);
        SSL_CTX_set_verify(s->ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
    }
    s->ssl = SSL_new(s->ctx);
    s->in = BIO_new(BIO_s_mem());
    s->out = BIO_new(BIO_s_mem());
    BIO_set_mem_eof_return(s->in, -1);
    BIO_set_mem_eof_return(s->out, -1);
    SSL_set_bio(s->ssl, s->in, s->out);
    SSL_set_accept_state(s->ssl);
}

static void server_stop(server *s)
{
    SSL_free(s->ssl);
    SSL_CTX_free(s->ctx);
    ERR_clear_error();
}

/* Moves every pending byte both ways, in odd-sized pieces so record
 * boundaries never line up with the pieces. */
static void pump(lm_tls *c, server *s)
{
    char buf[1000];
    size_t n;
    int r;
    while ((n = lm_tls_take(c, buf, sizeof buf - 7)) > 0)
        BIO_write(s->in, buf, (int)n);
    while ((r = BIO_read(s->out, buf, 333)) > 0)
        LMT_CHECK(lm_tls_feed(c, buf, (size_t)r) == LM_OK);
}

/* Runs both handshakes to the end; returns the client's final status. */
static int handshake(lm_tls *c, server *s)
{
    int i, rc = LM_EAGAIN;
    for (i = 0; i < 50 && rc == LM_EAGAIN; i++) {
        rc = lm_tls_handshake(c);
        pump(c, s);
        SSL_do_handshake(s->ssl);
        pump(c, s);
    }
    return rc;
}

static lm_tls_ctx *client_ctx(const char *cafile, int insecure, const char *cert)
{
    lm_tls_ctx_opts o;
    lm_tls_ctx *ctx = NULL;
    char err[LM_TLS_ERRMAX];
    memset(&o, 0, sizeof o);
    o.cafile = cafile;
    o.insecure = insecure;
    o.cert = cert;
    LMT_CHECK(lm_tls_ctx_new(&ctx, &o, err, sizeof err) == LM_OK);
    return ctx;
}

/* One connection attempt to a server presenting cert; returns the status
 * of the client handshake and leaves the verify code in *code. */
static int attempt(const char *cafile, int insecure, const char *host, X509 *cert, long *code)
{
    lm_tls_ctx *ctx = client_ctx(cafile, insecure, NULL);
    lm_tls *c = NULL;
    server s;
    int rc;
    server_start(&s, cert, 0, 0);
    LMT_CHECK(lm_tls_new(&c, ctx, host) == LM_OK);
    lm_tls_ctx_free(ctx); /* the engine keeps what it needs */
    rc = handshake(c, &s);
    *code = lm_tls_verify_code(c);
    if (rc != LM_OK)
        LMT_CHECK(strlen(lm_tls_errmsg(c)) > 0);
    LMT_CHECK(lm_tls_handshake(c) == rc); /* sticky */
    lm_tls_free(c);
    server_stop(&s);
    return rc;
}

/* ---- tests -------------------------------------------------------------- */

static void test_good_round_trip(void)
{
    lm_tls_ctx *ctx = client_ctx(pki.cafile, 0, NULL);
    lm_tls *c = NULL;
    lm_tls_info info;
    server s;
    char buf[64];
    size_t got = 0;
    server_start(&s, pki.good, 0, 0);
    LMT_CHECK(lm_tls_new(&c, ctx, "localhost") == LM_OK);
    LMT_CHECK(lm_tls_write(c, "x", 1) == LM_ESTATE);
    LMT_CHECK(handshake(c, &s) == LM_OK);
    LMT_CHECK(strcmp(s.sni, "localhost") == 0);
    LMT_CHECK(lm_tls_get_info(c, &info) == LM_OK);
    LMT_CHECK(strcmp(info.protocol, "TLSv1.3") == 0);
    LMT_CHECK(strcmp(info.subject, "CN=localhost") == 0);
    LMT_CHECK(strcmp(info.issuer, "CN=lmail test CA") == 0);
    LMT_CHECK(info.verified == 1 && info.cipher[0] != '\0');
    LMT_CHECK(lm_tls_write(c, "hello", 5) == LM_OK);
    pump(c, &s);
    LMT_CHECK(SSL_read(s.ssl, buf, sizeof buf) == 5 && memcmp(buf, "hello", 5) == 0);
    LMT_CHECK(SSL_write(s.ssl, "world!", 6) == 6);
    pump(c, &s);
    LMT_CHECK(lm_tls_read(c, buf, sizeof buf, &got) == LM_OK);
    LMT_CHECK(got == 6 && memcmp(buf, "world!", 6) == 0);
    LMT_CHECK(lm_tls_read(c, buf, sizeof buf, &got) == LM_EAGAIN && got == 0);
    /* close_notify both ways (RFC 8446 section 6.1) */
    LMT_CHECK(lm_tls_shutdown(c) == LM_OK);
    pump(c, &s);
    LMT_CHECK(SSL_read(s.ssl, buf, sizeof buf) <= 0);
    LMT_CHECK(SSL_get_error(s.ssl, 0) == SSL_ERROR_ZERO_RETURN);
    SSL_shutdown(s.ssl);
    pump(c, &s);
    LMT_CHECK(lm_tls_read(c, buf, sizeof buf, &got) == LM_ECLOSED);
    lm_tls_free(c);
    lm_tls_ctx_free(ctx);
    server_stop(&s);
}

/* 1 MiB each way in uneven writes, checked byte for byte. */
static void test_bulk(void)
{
    enum { TOTAL = 1 << 20 };
    lm_tls_ctx *ctx = client_ctx(pki.cafile, 0, NULL);
    lm_tls *c = NULL;
    server s;
    unsigned char *src = malloc(TOTAL), *dst = malloc(TOTAL);
    unsigned long long seed = 42;
    size_t sent = 0, recvd = 0, got, i;
    int r;
    for (i = 0; i < TOTAL; i++)
        src[i] = (unsigned char)lmt_rand(&seed);
    server_start(&s, pki.good, 0, 0);
    LMT_CHECK(lm_tls_new(&c, ctx, "localhost") == LM_OK);
    LMT_CHECK(handshake(c, &s) == LM_OK);
    while (sent < TOTAL) { /* client -> server */
        size_t n = (size_t)(lmt_rand(&seed) % 70000) + 1;
        if (n > TOTAL - sent)
            n = TOTAL - sent;
        LMT_CHECK(lm_tls_write(c, src + sent, n) == LM_OK);
        sent += n;
        pump(c, &s);
        while ((r = SSL_read(s.ssl, dst + recvd, (int)(TOTAL - recvd))) > 0)
            recvd += (size_t)r;
    }
    LMT_CHECK(recvd == TOTAL && memcmp(src, dst, TOTAL) == 0);
    memset(dst, 0, TOTAL);
    recvd = 0;
    for (sent = 0; sent < TOTAL; sent += 50000) { /* server -> client */
        int n = (int)(TOTAL - sent < 50000 ? TOTAL - sent : 50000);
        LMT_CHECK(SSL_write(s.ssl, src + sent, n) == n);
        pump(c, &s);
        while (lm_tls_read(c, dst + recvd, 7777, &got) == LM_OK)
            recvd += got;
    }
    LMT_CHECK(recvd == TOTAL && memcmp(src, dst, TOTAL) == 0);
    free(src);
    free(dst);
    lm_tls_free(c);
    lm_tls_ctx_free(ctx);
    server_stop(&s);
}

static void test_verify_failures(void)
{
    long code = 0;
    LMT_CHECK(attempt(pki.cafile, 0, "localhost", pki.expired, &code) == LM_ECERT);
    LMT_CHECK(code == X509_V_ERR_CERT_HAS_EXPIRED);
    LMT_CHECK(strcmp(lm_tls_verify_reason(code), "expired") == 0);
    LMT_CHECK(attempt(pki.cafile, 0, "localhost", pki.wrong, &code) == LM_ECERT);
    LMT_CHECK(strcmp(lm_tls_verify_reason(code), "hostname mismatch") == 0);
    LMT_CHECK(attempt(pki.other_cafile, 0, "localhost", pki.good, &code) == LM_ECERT);
    LMT_CHECK(strcmp(lm_tls_verify_reason(code), "unknown issuer") == 0);
    LMT_CHECK(attempt(pki.cafile, 0, "localhost", pki.self, &code) == LM_ECERT);
    LMT_CHECK(strcmp(lm_tls_verify_reason(code), "self-signed") == 0);
    LMT_CHECK(attempt(pki.cafile, 0, "127.0.0.2", pki.good, &code) == LM_ECERT);
    LMT_CHECK(strcmp(lm_tls_verify_reason(code), "hostname mismatch") == 0);
    LMT_CHECK(strcmp(lm_tls_verify_reason(123456), "verification failed") == 0);
}

static void test_verify_successes(void)
{
    long code = -1;
    LMT_CHECK(attempt(pki.cafile, 0, "127.0.0.1", pki.good, &code) == LM_OK);
    LMT_CHECK(code == 0);
    LMT_CHECK(attempt(NULL, 1, "localhost", pki.self, &code) == LM_OK);
    LMT_CHECK(attempt(NULL, 1, NULL, pki.expired, &code) == LM_OK);
}

/* RFC 6066 section 3: no SNI for an IP literal, and the insecure info. */
static void test_sni_and_info(void)
{
    lm_tls_ctx *ctx = client_ctx(NULL, 1, NULL);
    lm_tls *c = NULL;
    lm_tls_info info;
    server s;
    server_start(&s, pki.self, 0, 0);
    LMT_CHECK(lm_tls_new(&c, ctx, "127.0.0.1") == LM_OK);
    LMT_CHECK(lm_tls_get_info(c, &info) == LM_ESTATE);
    LMT_CHECK(handshake(c, &s) == LM_OK);
    LMT_CHECK(strcmp(s.sni, "") == 0);
    LMT_CHECK(lm_tls_get_info(c, &info) == LM_OK && info.verified == 0);
    lm_tls_free(c);
    lm_tls_ctx_free(ctx);
    server_stop(&s);
}

static void test_old_protocol_refused(void)
{
    lm_tls_ctx *ctx = client_ctx(pki.cafile, 0, NULL);
    lm_tls *c = NULL;
    server s;
    server_start(&s, pki.good, TLS1_1_VERSION, 0);
    LMT_CHECK(lm_tls_new(&c, ctx, "localhost") == LM_OK);
    LMT_CHECK(handshake(c, &s) == LM_ETLS);
    LMT_CHECK(strstr(lm_tls_errmsg(c), "handshake failed") != NULL);
    lm_tls_free(c);
    lm_tls_ctx_free(ctx);
    server_stop(&s);
}

static void test_client_cert(void)
{
    lm_tls_ctx *ctx = client_ctx(pki.cafile, 0, pki.clientfile);
    lm_tls *c = NULL;
    server s;
    char buf[8];
    X509 *peer;
    server_start(&s, pki.good, 0, 1);
    LMT_CHECK(lm_tls_new(&c, ctx, "localhost") == LM_OK);
    LMT_CHECK(handshake(c, &s) == LM_OK);
    LMT_CHECK(lm_tls_write(c, "ok", 2) == LM_OK);
    pump(c, &s);
    LMT_CHECK(SSL_read(s.ssl, buf, sizeof buf) == 2);
    peer = SSL_get_peer_certificate(s.ssl);
    LMT_CHECK(peer != NULL && X509_cmp(peer, pki.client) == 0);
    X509_free(peer);
    lm_tls_free(c);
    lm_tls_ctx_free(ctx);
    server_stop(&s);
}

static void test_garbage_from_peer(void)
{
    lm_tls_ctx *ctx = client_ctx(pki.cafile, 0, NULL);
    lm_tls *c = NULL;
    char buf[4096];
    size_t got;
    LMT_CHECK(lm_tls_new(&c, ctx, "localhost") == LM_OK);
    LMT_CHECK(lm_tls_handshake(c) == LM_EAGAIN);
    LMT_CHECK(lm_tls_pending(c) > 0); /* the ClientHello */
    LMT_CHECK(lm_tls_take(c, buf, sizeof buf) > 0 && lm_tls_pending(c) == 0);
    LMT_CHECK(lm_tls_read(c, buf, sizeof buf, &got) == LM_ESTATE);
    LMT_CHECK(lm_tls_feed(c, "220 smtp.example.com ESMTP\r\n", 28) == LM_OK);
    LMT_CHECK(lm_tls_handshake(c) == LM_ETLS);
    LMT_CHECK(lm_tls_verify_code(c) == 0);
    LMT_CHECK(lm_tls_write(c, "x", 1) == LM_ETLS);
    LMT_CHECK(lm_tls_shutdown(c) == LM_OK);
    lm_tls_free(c);
    lm_tls_ctx_free(ctx);
}

static void test_bad_options(void)
{
    lm_tls_ctx_opts o;
    lm_tls_ctx *ctx = (lm_tls_ctx *)&o;
    lm_tls *c = (lm_tls *)&o;
    char err[LM_TLS_ERRMAX];
    memset(&o, 0, sizeof o);
    o.cafile = "/nonexistent/ca.pem";
    LMT_CHECK(lm_tls_ctx_new(&ctx, &o, err, sizeof err) == LM_ETLS && ctx == NULL);
    LMT_CHECK(strstr(err, "trust store") != NULL);
    o.cafile = pki.cafile;
    o.cert = "/nonexistent/cert.pem";
    LMT_CHECK(lm_tls_ctx_new(&ctx, &o, err, sizeof err) == LM_ETLS && ctx == NULL);
    LMT_CHECK(strstr(err, "client certificate") != NULL);
    o.cert = pki.clientfile;
    o.key = pki.cafile; /* a file holding no key */
    LMT_CHECK(lm_tls_ctx_new(&ctx, &o, err, sizeof err) == LM_ETLS && ctx == NULL);
    o.cert = NULL;
    LMT_CHECK(lm_tls_ctx_new(&ctx, &o, err, sizeof err) == LM_EINVAL && ctx == NULL);
    o.key = NULL;
    LMT_CHECK(lm_tls_ctx_new(&ctx, &o, NULL, 0) == LM_OK && ctx != NULL);
    LMT_CHECK(lm_tls_new(&c, ctx, NULL) == LM_EINVAL && c == NULL);
    LMT_CHECK(lm_tls_new(&c, ctx, "") == LM_EINVAL && c == NULL);
    LMT_CHECK(lm_tls_new(&c, NULL, "localhost") == LM_EINVAL && c == NULL);
    lm_tls_ctx_free(ctx);
    lm_tls_ctx_free(NULL);
    lm_tls_free(NULL);
}

int main(void)
{
    pki_build();
    LMT_RUN(test_good_round_trip);
    LMT_RUN(test_bulk);
    LMT_RUN(test_verify_failures);
    LMT_RUN(test_verify_successes);
    LMT_RUN(test_sni_and_info);
    LMT_RUN(test_old_protocol_refused);
    LMT_RUN(test_client_cert);
    LMT_RUN(test_garbage_from_peer);
    LMT_RUN(test_bad_options);
    pki_free();
    return lmt_report("tls");
}
