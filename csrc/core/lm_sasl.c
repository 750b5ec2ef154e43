/* lm_sasl.c: SASL client messages (lm_sasl.h). */
#include "lm_sasl.h"

#include "lm_md5.h"

#include <string.h>

static int has_byte(const char *s, size_t n, int c)
{
    return n && memchr(s, c, n) != NULL;
}

/* No C0 control character and no DEL. */
static int printable(const char *s, size_t n)
{
    size_t i;
    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c == 0x7f)
            return 0;
    }
    return 1;
}

/* RFC 6750 2.1: b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+"
 * / "/" ) *"=" */
static int is_b64token(const char *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        unsigned char c = (unsigned char)s[i];
        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
            c == '-' || c == '.' || c == '_' || c == '~' || c == '+' || c == '/')
            i++;
        else
            break;
    }
    if (i == 0)
        return 0;
    while (i < n && s[i] == '=')
        i++;
    return i == n;
}

/* A tiny appender over a caller buffer whose size was checked up front. */
typedef struct out {
    unsigned char *p;
    size_t n;
} out;

static void put(out *o, const void *s, size_t n)
{
    if (n)
        memcpy(o->p + o->n, s, n);
    o->n += n;
}

static void puts_(out *o, const char *s)
{
    put(o, s, strlen(s));
}

int lm_sasl_plain(const char *authzid, size_t azn, const char *user, size_t un,
                  const char *pass, size_t pn, unsigned char *buf, size_t cap,
                  size_t *outlen)
{
    out o = {buf, 0};
    if (un == 0 || pn == 0 || has_byte(authzid, azn, 0) || has_byte(user, un, 0) ||
        has_byte(pass, pn, 0))
        return LM_EINVAL;
    if (cap < LM_SASL_PLAIN_BOUND(azn, un, pn))
        return LM_ETOOLONG;
    put(&o, authzid, azn);
    put(&o, "", 1);
    put(&o, user, un);
    put(&o, "", 1);
    put(&o, pass, pn);
    *outlen = o.n;
    return LM_OK;
}

int lm_sasl_cram_md5(const char *user, size_t un, const char *pass, size_t pn,
                     const char *challenge, size_t cn, unsigned char *buf, size_t cap,
                     size_t *outlen)
{
    static const char digits[] = "0123456789abcdef";
    unsigned char mac[LM_MD5_DIGEST_LEN];
    out o = {buf, 0};
    int i;

    if (un == 0 || !printable(user, un))
        return LM_EINVAL;
    if (cap < LM_SASL_CRAM_MD5_BOUND(un))
        return LM_ETOOLONG;
    lm_hmac_md5(pass, pn, challenge, cn, mac);
    put(&o, user, un);
    put(&o, " ", 1);
    for (i = 0; i < LM_MD5_DIGEST_LEN; i++) {
        o.p[o.n++] = (unsigned char)digits[mac[i] >> 4];
        o.p[o.n++] = (unsigned char)digits[mac[i] & 15];
    }
    memset(mac, 0, sizeof mac);
    *outlen = o.n;
    return LM_OK;
}

int lm_sasl_xoauth2(const char *user, size_t un, const char *token, size_t tn,
                    unsigned char *buf, size_t cap, size_t *outlen)
{
    out o = {buf, 0};
    if (un == 0 || !printable(user, un) || !is_b64token(token, tn))
        return LM_EINVAL;
    if (cap < LM_SASL_XOAUTH2_BOUND(un, tn))
        return LM_ETOOLONG;
    puts_(&o, "user=");
    put(&o, user, un);
    puts_(&o, "\001auth=Bearer ");
    put(&o, token, tn);
    puts_(&o, "\001\001");
    *outlen = o.n;
    return LM_OK;
}

int lm_sasl_oauthbearer(const char *user, size_t un, const char *host, size_t hn,
                        unsigned port, const char *token, size_t tn, unsigned char *buf,
                        size_t cap, size_t *outlen)
{
    out o = {buf, 0};
    size_t i;

    if (un == 0 || !printable(user, un) || !printable(host, hn) || port > 65535 ||
        !is_b64token(token, tn))
        return LM_EINVAL;
    if (cap < LM_SASL_OAUTHBEARER_BOUND(un, hn, tn))
        return LM_ETOOLONG;
    puts_(&o, "n,a=");
    for (i = 0; i < un; i++) {
        if (user[i] == ',')
            puts_(&o, "=2C");
        else if (user[i] == '=')
            puts_(&o, "=3D");
        else
            put(&o, user + i, 1);
    }
    puts_(&o, ",");
    if (hn) {
        char num[8];
        int k = 0;
        unsigned v = port;
        char rev[8];
        puts_(&o, "\001host=");
        put(&o, host, hn);
        puts_(&o, "\001port=");
        do {
            rev[k++] = (char)('0' + v % 10);
            v /= 10;
        } while (v);
        for (i = 0; i < (size_t)k; i++)
            num[i] = rev[k - 1 - (int)i];
        put(&o, num, (size_t)k);
    }
    puts_(&o, "\001auth=Bearer ");
    put(&o, token, tn);
    puts_(&o, "\001\001");
    *outlen = o.n;
    return LM_OK;
}

int lm_sasl_check_text(const char *s, size_t n)
{
    if (n == 0 || has_byte(s, n, 0) || has_byte(s, n, '\r') || has_byte(s, n, '\n'))
        return LM_EINVAL;
    return LM_OK;
}
