/* lm_pop3_parse.c: the syntax of POP3 responses (RFC 1939, RFC 2449),
 * used by the engine in lm_pop3.c. Pure functions over one line. */
#include "lm_pop3.h"

#include <string.h>

static int is_digit(int c)
{
    return c >= '0' && c <= '9';
}

/* RFC 2449 8: resp-level = 1*rchar, rchar = %x21-2E / %x30-5C / %x5E-7F
 * (printable, no "/" and no "]"), levels separated by "/". */
#define CODE_MAX 64

static int check_code(const char *s, size_t n)
{
    size_t i;
    int level = 0;
    if (n == 0 || n > CODE_MAX)
        return 0;
    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '/') {
            if (level == 0)
                return 0;
            level = 0;
        } else if (c >= 0x21 && c <= 0x7e && c != ']') {
            level++;
        } else {
            return 0;
        }
    }
    return level > 0;
}

/* Splits "[CODE] text" (RFC 2449 8) when the brackets hold a valid code;
 * anything else is all text. */
static void split_code(lm_pop3_status *st)
{
    const char *close;
    size_t clen;
    st->code = NULL;
    st->code_len = 0;
    if (st->len < 3 || st->text[0] != '[')
        return;
    close = memchr(st->text + 1, ']', st->len - 1);
    if (!close)
        return;
    clen = (size_t)(close - st->text) - 1;
    if (!check_code(st->text + 1, clen))
        return;
    st->code = st->text + 1;
    st->code_len = clen;
}

/* Text after a status indicator of length k: "" at the line end, else
 * everything after the one SP; any other byte there is not a status. */
static int status_text(const char *line, size_t n, size_t k, lm_pop3_status *st)
{
    if (n == k) {
        st->text = line + n;
        st->len = 0;
        return LM_OK;
    }
    if (line[k] != ' ')
        return LM_EPROTO;
    st->text = line + k + 1;
    st->len = n - k - 1;
    return LM_OK;
}

/* RFC 1939 3: "+OK" / "-ERR" then SP or the end; RFC 5034 4: "+" SP
 * base64 (or "+" alone) during AUTH. */
int lm_pop3_parse_status(const char *line, size_t n, int challenge_ok, lm_pop3_status *st)
{
    int rc = LM_EPROTO;
    memset(st, 0, sizeof *st);
    if (n >= 3 && memcmp(line, "+OK", 3) == 0 && (rc = status_text(line, n, 3, st)) == LM_OK) {
        st->kind = LM_POP3_EV_OK;
        split_code(st);
        return LM_OK;
    }
    if (n >= 4 && memcmp(line, "-ERR", 4) == 0 && (rc = status_text(line, n, 4, st)) == LM_OK) {
        st->kind = LM_POP3_EV_ERR;
        split_code(st);
        return LM_OK;
    }
    if (challenge_ok && n >= 1 && line[0] == '+' && status_text(line, n, 1, st) == LM_OK) {
        st->kind = LM_POP3_EV_CHALLENGE;
        return LM_OK;
    }
    memset(st, 0, sizeof *st);
    return LM_EPROTO;
}

int lm_pop3_parse_number(const char *s, size_t n, uint64_t *v)
{
    uint64_t x = 0;
    size_t i;
    if (n == 0)
        return LM_EPROTO;
    for (i = 0; i < n; i++) {
        unsigned d;
        if (!is_digit((unsigned char)s[i]))
            return LM_EPROTO;
        d = (unsigned)(s[i] - '0');
        if (x > (LM_POP3_MAX_NUMBER - d) / 10)
            return LM_EPROTO;
        x = x * 10 + d;
    }
    *v = x;
    return LM_OK;
}

/* Length of the run of digits at the front of s. */
static size_t digits(const char *s, size_t n)
{
    size_t i = 0;
    while (i < n && is_digit((unsigned char)s[i]))
        i++;
    return i;
}

int lm_pop3_parse_pair(const char *s, size_t n, int rest_ok, uint64_t *a, uint64_t *b,
                       const char **rest, size_t *rest_len)
{
    size_t da = digits(s, n), db, off;
    if (da == 0 || da == n || s[da] != ' ')
        return LM_EPROTO;
    off = da + 1;
    db = digits(s + off, n - off);
    if (db == 0)
        return LM_EPROTO;
    if (lm_pop3_parse_number(s, da, a) != LM_OK ||
        lm_pop3_parse_number(s + off, db, b) != LM_OK)
        return LM_EPROTO;
    off += db;
    if (rest) {
        *rest = s + n;
        *rest_len = 0;
    }
    if (off == n)
        return LM_OK;
    /* RFC 1939 5 (STAT, LIST): more may follow the size after a space. */
    if (!rest_ok || s[off] != ' ')
        return LM_EPROTO;
    if (rest) {
        *rest = s + off + 1;
        *rest_len = n - off - 1;
    }
    return LM_OK;
}

int lm_pop3_check_uid(const char *s, size_t n)
{
    size_t i;
    if (n == 0 || n > LM_POP3_UID_MAX)
        return LM_EPROTO;
    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x21 || c > 0x7e)
            return LM_EPROTO;
    }
    return LM_OK;
}

/* RFC 1939 7: unique-id listing "n SP uid"; the uid is all that follows. */
int lm_pop3_parse_uid_line(const char *s, size_t n, uint64_t *num, const char **uid,
                           size_t *uid_len)
{
    size_t d = digits(s, n);
    if (d == 0 || d == n || s[d] != ' ')
        return LM_EPROTO;
    if (lm_pop3_parse_number(s, d, num) != LM_OK)
        return LM_EPROTO;
    if (lm_pop3_check_uid(s + d + 1, n - d - 1) != LM_OK)
        return LM_EPROTO;
    *uid = s + d + 1;
    *uid_len = n - d - 1;
    return LM_OK;
}

/* A msg-id as RFC 1939 7 uses it (RFC 822 4.6.1 "<" addr-spec ">"), kept
 * to what is unambiguous: printable ASCII without space, "<" and ">" only
 * at the ends, one "@" or more with bytes on both sides of the last. */
static int valid_msg_id(const char *s, size_t n)
{
    size_t i, at = 0;
    if (n < 5 || n > LM_POP3_TIMESTAMP_MAX || s[0] != '<' || s[n - 1] != '>')
        return 0;
    for (i = 1; i + 1 < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x21 || c > 0x7e || c == '<' || c == '>')
            return 0;
        if (c == '@')
            at = i;
    }
    return at > 1 && at + 2 < n;
}

int lm_pop3_find_timestamp(const char *text, size_t n, const char **ts, size_t *tslen)
{
    const char *lt = memchr(text, '<', n), *gt;
    if (!lt) {
        /* a ">" alone is odd but harmless text */
        return LM_POP3_TS_NONE;
    }
    gt = memchr(lt, '>', n - (size_t)(lt - text));
    if (!gt)
        return LM_POP3_TS_MALFORMED;
    /* A second "<" anywhere makes the choice ambiguous: refuse it. */
    if (memchr(lt + 1, '<', n - (size_t)(lt - text) - 1))
        return LM_POP3_TS_MALFORMED;
    if (!valid_msg_id(lt, (size_t)(gt - lt) + 1))
        return LM_POP3_TS_MALFORMED;
    *ts = lt;
    *tslen = (size_t)(gt - lt) + 1;
    return LM_POP3_TS_VALID;
}

int lm_pop3_check_mech(const char *s, size_t n)
{
    size_t i;
    if (n == 0 || n > 20)
        return LM_EINVAL;
    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (!((c >= 'A' && c <= 'Z') || is_digit(c) || c == '-' || c == '_'))
            return LM_EINVAL;
    }
    return LM_OK;
}

/* RFC 2449 5: capa-tag *(SP param); tags and params are printable. */
int lm_pop3_parse_capa(const char *s, size_t n, const char **tag, size_t *tag_len,
                       const char **args, size_t *args_len)
{
    size_t i = 0, j;
    while (i < n && (unsigned char)s[i] >= 0x21 && (unsigned char)s[i] <= 0x7e)
        i++;
    if (i == 0 || (i < n && s[i] != ' '))
        return LM_EPROTO;
    for (j = i; j < n; j++) {
        unsigned char c = (unsigned char)s[j];
        if ((c < 0x20 && c != '\t') || c == 0x7f)
            return LM_EPROTO;
    }
    *tag = s;
    *tag_len = i;
    *args = i < n ? s + i + 1 : s + n;
    *args_len = i < n ? n - i - 1 : 0;
    return LM_OK;
}
