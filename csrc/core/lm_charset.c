/* lm_charset.c: charset conversion (lm_charset.h). */
#include "lm_charset.h"

#include <errno.h>
#include <iconv.h>
#include <string.h>

#define LABEL_MAX 40

static const unsigned char REPLACEMENT[3] = {0xEF, 0xBF, 0xBD}; /* U+FFFD */

size_t lm_utf8_seqlen(const unsigned char *s, size_t n)
{
    unsigned c = s[0];
    if (c < 0x80)
        return 1;
    if (c < 0xC2 || c > 0xF4)
        return 0;
    if (c < 0xE0) {
        return n >= 2 && (s[1] & 0xC0) == 0x80 ? 2 : 0;
    }
    if (c < 0xF0) {
        /* RFC 3629 4: E0 needs A0..BF (no overlong), ED needs 80..9F (no
         * surrogates). */
        unsigned lo = c == 0xE0 ? 0xA0 : 0x80, hi = c == 0xED ? 0x9F : 0xBF;
        return n >= 3 && s[1] >= lo && s[1] <= hi && (s[2] & 0xC0) == 0x80 ? 3 : 0;
    }
    {
        unsigned lo = c == 0xF0 ? 0x90 : 0x80, hi = c == 0xF4 ? 0x8F : 0xBF;
        return n >= 4 && s[1] >= lo && s[1] <= hi && (s[2] & 0xC0) == 0x80 &&
                       (s[3] & 0xC0) == 0x80
                   ? 4
                   : 0;
    }
}

int lm_utf8_valid(const void *s, size_t n)
{
    const unsigned char *p = s;
    size_t i = 0;
    while (i < n) {
        size_t k;
        if (p[i] < 0x80) {
            i++;
            continue;
        }
        k = lm_utf8_seqlen(p + i, n - i);
        if (!k)
            return 0;
        i += k;
    }
    return 1;
}

/* Copies valid UTF-8, each invalid byte becoming U+FFFD. */
static int utf8_repair(const unsigned char *p, size_t n, lm_buf *out, unsigned *flags)
{
    size_t i = 0, run = 0;
    int rc;
    while (i < n) {
        size_t k = p[i] < 0x80 ? 1 : lm_utf8_seqlen(p + i, n - i);
        if (k) {
            i += k;
            continue;
        }
        if ((rc = lm_buf_append(out, p + run, i - run)) != LM_OK ||
            (rc = lm_buf_append(out, REPLACEMENT, 3)) != LM_OK)
            return rc;
        *flags |= LM_CS_REPLACED;
        run = ++i;
    }
    return lm_buf_append(out, p + run, n - run);
}

/* Lower-cased, trimmed label without an RFC 2231 language; 0 when it is
 * empty, too long or holds a character never seen in a charset name. */
static size_t clean_label(const char *label, size_t n, char *out)
{
    size_t i, k = 0;
    while (n && (label[0] == ' ' || label[0] == '\t'))
        label++, n--;
    for (i = 0; i < n && label[i] != '*'; i++) {
        unsigned char c = (unsigned char)label[i];
        if (c == ' ' || c == '\t')
            break;
        if (k == LABEL_MAX)
            return 0;
        if (c >= 'A' && c <= 'Z')
            c = (unsigned char)(c + 32);
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
              c == '.' || c == ':' || c == '+'))
            return 0;
        out[k++] = (char)c;
    }
    out[k] = 0;
    return k;
}

struct alias {
    const char *label, *name;
};

/* Labels mapped to the iconv name of the charset mail so labelled really
 * uses (the WHATWG Encoding Standard makes the same choices). "utf-8" maps
 * to NULL: no conversion. */
static const struct alias aliases[] = {
    {"utf-8", NULL},          {"utf8", NULL},         {"us-ascii", NULL},
    {"ascii", NULL},          {"ansi_x3.4-1968", NULL}, {"iso646-us", NULL},
    {"us", NULL},             {"gb2312", "GB18030"},  {"gbk", "GB18030"},
    {"x-gbk", "GB18030"},     {"cp936", "GB18030"},   {"euc-cn", "GB18030"},
    {"gb18030", "GB18030"},   {"csgb2312", "GB18030"}, {"chinese", "GB18030"},
    {"big5", "BIG5-HKSCS"},   {"x-x-big5", "BIG5-HKSCS"}, {"big5-hkscs", "BIG5-HKSCS"},
    {"cn-big5", "BIG5-HKSCS"}, {"shift_jis", "CP932"}, {"shift-jis", "CP932"},
    {"sjis", "CP932"},        {"x-sjis", "CP932"},    {"ms_kanji", "CP932"},
    {"windows-31j", "CP932"}, {"cp932", "CP932"},     {"csshiftjis", "CP932"},
    {"euc-jp", "EUC-JP"},     {"x-euc-jp", "EUC-JP"}, {"iso-2022-jp", "ISO-2022-JP"},
    {"euc-kr", "CP949"},      {"ks_c_5601-1987", "CP949"}, {"ksc5601", "CP949"},
    {"ks_c_5601", "CP949"},   {"cp949", "CP949"},     {"windows-949", "CP949"},
    {"koi8-r", "KOI8-R"},     {"koi8-u", "KOI8-U"},   {"latin1", "ISO-8859-1"},
    {"l1", "ISO-8859-1"},     {"iso8859-1", "ISO-8859-1"}, {"iso_8859-1", "ISO-8859-1"},
};

/* The iconv name for a label, "" for UTF-8 (no conversion), NULL when
 * unknown. buf holds what the result may point to. */
static const char *iconv_name(const char *label, size_t n, char *buf)
{
    size_t k = clean_label(label, n, buf), i;
    if (!k)
        return NULL;
    for (i = 0; i < sizeof aliases / sizeof aliases[0]; i++)
        if (strcmp(buf, aliases[i].label) == 0)
            return aliases[i].name ? aliases[i].name : "";
    /* x-cp1252, windows-1252, cp1252: iconv knows CP1252. */
    if (strncmp(buf, "x-", 2) == 0)
        memmove(buf, buf + 2, k - 1);
    if (strncmp(buf, "windows-", 8) == 0 && strlen(buf) == 12) {
        memmove(buf + 2, buf + 8, 5);
        buf[0] = 'c', buf[1] = 'p';
    }
    return buf;
}

static iconv_t open_cd(const char *to, const char *from)
{
    return iconv_open(to, from);
}

/* Runs cd over in, appending to out; invalid sequences become U+FFFD when
 * repl is set, else LM_EINVAL. */
static int run_iconv(iconv_t cd, const unsigned char *in, size_t n, lm_buf *out, int repl,
                     unsigned *flags)
{
    char *ip = (char *)(size_t)in; /* iconv's prototype lacks const */
    size_t left = n;
    int rc = LM_OK, flushing = 0;
    for (;;) {
        size_t room = left * 4 + 64, oleft = room, r;
        unsigned char *w = lm_buf_reserve(out, room, &rc);
        char *op = (char *)w;
        if (!w)
            return rc;
        r = flushing ? iconv(cd, NULL, NULL, &op, &oleft) : iconv(cd, &ip, &left, &op, &oleft);
        lm_buf_commit(out, room - oleft);
        if (r != (size_t)-1) {
            if (flushing)
                return LM_OK;
            if (left == 0) {
                flushing = 1;
                continue;
            }
        } else if (errno == E2BIG) {
            continue;
        } else {
            /* EILSEQ (bad sequence) or EINVAL (truncated at the end) */
            if (!repl)
                return LM_EINVAL;
            if ((rc = lm_buf_append(out, REPLACEMENT, 3)) != LM_OK)
                return rc;
            *flags |= LM_CS_REPLACED;
            if (errno == EINVAL)
                left = 0;
            else
                ip++, left--;
            iconv(cd, NULL, NULL, NULL, NULL); /* back to the initial state */
            if (left == 0)
                flushing = 1;
        }
    }
}

int lm_charset_is_utf8(const char *label, size_t n)
{
    char buf[LABEL_MAX + 1];
    const char *name = iconv_name(label, n, buf);
    return name && !*name;
}

int lm_charset_known(const char *label, size_t n)
{
    char buf[LABEL_MAX + 1];
    const char *name = iconv_name(label, n, buf);
    iconv_t cd;
    if (!name)
        return 0;
    if (!*name)
        return 1;
    cd = open_cd("UTF-8", name);
    if (cd == (iconv_t)-1)
        return 0;
    iconv_close(cd);
    return 1;
}

int lm_charset_to_utf8(const char *label, size_t lablen, const void *in, size_t n,
                       lm_buf *out, unsigned *flags)
{
    char buf[LABEL_MAX + 1];
    const char *name = iconv_name(label, lablen, buf);
    iconv_t cd;
    int rc;
    if (name && !*name)
        return utf8_repair(in, n, out, flags);
    cd = name ? open_cd("UTF-8", name) : (iconv_t)-1;
    if (cd == (iconv_t)-1) {
        *flags |= LM_CS_UNKNOWN;
        return utf8_repair(in, n, out, flags);
    }
    rc = run_iconv(cd, in, n, out, 1, flags);
    iconv_close(cd);
    return rc;
}

int lm_charset_from_utf8(const char *label, size_t lablen, const void *in, size_t n,
                         lm_buf *out)
{
    char buf[LABEL_MAX + 1];
    const char *name = iconv_name(label, lablen, buf);
    iconv_t cd;
    unsigned flags = 0;
    int rc;
    if (!name || !lm_utf8_valid(in, n))
        return LM_EINVAL;
    if (!*name) {
        /* the ASCII labels: only 7-bit text has a form there */
        const unsigned char *p = in;
        size_t i;
        if (strcmp(buf, "utf-8") != 0 && strcmp(buf, "utf8") != 0)
            for (i = 0; i < n; i++)
                if (p[i] >= 0x80)
                    return LM_EINVAL;
        return lm_buf_append(out, in, n);
    }
    cd = open_cd(name, "UTF-8");
    if (cd == (iconv_t)-1)
        return LM_EINVAL;
    rc = run_iconv(cd, in, n, out, 0, &flags);
    iconv_close(cd);
    return rc;
}
