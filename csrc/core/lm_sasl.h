/* lm_sasl.h: the client messages of the SASL mechanisms SMTP (RFC 4954)
 * and POP3 (RFC 5034) use, as raw bytes: the engines base64-encode them
 * onto the wire. Pure functions; nothing allocates or keeps a secret (the
 * caller wipes out[] when done with it).
 *
 * Every function checks its inputs and returns LM_EINVAL (writing nothing)
 * for what the mechanism cannot carry, and LM_ETOOLONG when out is smaller
 * than the bound macro says. Only lm_sasl_cram_md5 is computed from a
 * server challenge; the others are initial responses.
 *
 * LOGIN has no message to build: its two answers are the user name and the
 * password themselves (draft-murchison-sasl-login), checked with
 * lm_sasl_check_text. */
#ifndef LM_SASL_H
#define LM_SASL_H

#include "lm.h"

/* PLAIN (RFC 4616 section 2): [authzid] NUL authcid NUL passwd. authzid may
 * be empty (n = 0); authcid and passwd may not; none may contain NUL. */
#define LM_SASL_PLAIN_BOUND(azn, un, pn) ((azn) + (un) + (pn) + 2)
int lm_sasl_plain(const char *authzid, size_t azn, const char *user, size_t un,
                  const char *pass, size_t pn, unsigned char *out, size_t cap,
                  size_t *outlen);

/* CRAM-MD5 (RFC 2195 section 2): user SP 32 lowercase hex digits of
 * HMAC-MD5(key = password, challenge). The user name may not be empty or
 * hold control characters; the challenge (already base64-decoded) is used
 * as the server sent it. */
#define LM_SASL_CRAM_MD5_BOUND(un) ((un) + 33)
int lm_sasl_cram_md5(const char *user, size_t un, const char *pass, size_t pn,
                     const char *challenge, size_t cn, unsigned char *out, size_t cap,
                     size_t *outlen);

/* XOAUTH2 (Google's and Microsoft's SMTP/POP3/IMAP OAuth 2.0 mechanism):
 * "user=" user ^A "auth=Bearer " token ^A ^A. The token must be an RFC 6750
 * section 2.1 b64token; the user may not hold control characters. */
#define LM_SASL_XOAUTH2_BOUND(un, tn) ((un) + (tn) + 20)
int lm_sasl_xoauth2(const char *user, size_t un, const char *token, size_t tn,
                    unsigned char *out, size_t cap, size_t *outlen);

/* OAUTHBEARER (RFC 7628 section 3.1): the GS2 header "n,a=" saslname ","
 * (RFC 5801 section 4, with "," and "=" escaped as =2C and =3D), then
 * ^A "host=" host ^A "port=" port ^A "auth=Bearer " token ^A ^A. host may be
 * empty (then host= and port= are left out); port is 0..65535. */
#define LM_SASL_OAUTHBEARER_BOUND(un, hn, tn) (3 * (un) + (hn) + (tn) + 40)
int lm_sasl_oauthbearer(const char *user, size_t un, const char *host, size_t hn,
                        unsigned port, const char *token, size_t tn, unsigned char *out,
                        size_t cap, size_t *outlen);

/* LM_OK when s (a user name or password for LOGIN, USER/PASS, ...) can be
 * sent on a command line: not empty, no CR, LF or NUL. */
int lm_sasl_check_text(const char *s, size_t n);

#endif
