/* lm_hdr.c: records, unfolding and the lexical helpers shared by the
 * header parsers (lm_hdr.h, lm_hdr_lex.h). */
#include "lm_hdr_lex.h"

#include <string.h>

int lm_hdr_rec_put(lm_buf *b, const void *p, size_t n)
{
    unsigned char len[4];
    int rc;
    if (n > 0xFFFFFFFFu)
        return LM_ETOOLONG;
    len[0] = (unsigned char)(n & 0xFF);
    len[1] = (unsigned char)((n >> 8) & 0xFF);
    len[2] = (unsigned char)((n >> 16) & 0xFF);
    len[3] = (unsigned char)((n >> 24) & 0xFF);
    if ((rc = lm_buf_append(b, len, 4)) != LM_OK)
        return rc;
    return lm_buf_append(b, p, n);
}

int lm_hdr_rec_open(lm_buf *b, size_t *start)
{
    *start = lm_buf_size(b);
    return lm_buf_append(b, "\0\0\0\0", 4);
}

void lm_hdr_rec_close(lm_buf *b, size_t start)
{
    size_t len = lm_buf_size(b) - start - 4;
    unsigned char *w = lm_hdr_at(b, start);
    w[0] = (unsigned char)(len & 0xFF);
    w[1] = (unsigned char)((len >> 8) & 0xFF);
    w[2] = (unsigned char)((len >> 16) & 0xFF);
    w[3] = (unsigned char)((len >> 24) & 0xFF);
}

int lm_hdr_rec_next(const unsigned char *buf, size_t len, size_t *pos, const char **s,
                    size_t *n)
{
    size_t p = *pos, k;
    if (p >= len)
        return LM_EAGAIN;
    if (len - p < 4)
        return LM_EINVAL;
    k = (size_t)buf[p] | (size_t)buf[p + 1] << 8 | (size_t)buf[p + 2] << 16 |
        (size_t)buf[p + 3] << 24;
    if (len - p - 4 < k)
        return LM_EINVAL;
    *s = (const char *)buf + p + 4;
    *n = k;
    *pos = p + 4 + k;
    return LM_OK;
}

/* RFC 5322 2.2.3: "Unfolding is accomplished by simply removing any CRLF
 * that is immediately followed by WSP." A bare LF counts as a line break
 * too (mail stored with Unix line ends). */
int lm_hdr_unfold(const char *in, size_t n, lm_buf *out)
{
    size_t i = 0, run = 0;
    int rc;
    while (i < n) {
        const char *lf = memchr(in + i, '\n', n - i);
        size_t at, end;
        if (!lf)
            break;
        at = (size_t)(lf - in);
        end = at + 1;
        if (at > run && in[at - 1] == '\r')
            at--;
        if (end == n || in[end] == ' ' || in[end] == '\t') {
            if ((rc = lm_buf_append(out, in + run, at - run)) != LM_OK)
                return rc;
            run = end;
        }
        i = end;
    }
    if (run < n && in[n - 1] == '\r' && n - 1 >= run)
        n--; /* a lone final CR belongs to a cut line break */
    return lm_buf_append(out, in + run, n - run);
}

size_t lm_hdr_skip_cfws(const char *in, size_t n, size_t i, int *bad, lm_buf *cmt, int *rc)
{
    while (i < n) {
        unsigned char c = (unsigned char)in[i];
        if (lm_hdr_is_wsp(c)) {
            i++;
        } else if (c == '(') {
            size_t depth = 1, start = ++i;
            int want = cmt && lm_buf_size(cmt) == 0;
            while (i < n && depth) {
                c = (unsigned char)in[i];
                if (c == '\\' && i + 1 < n) {
                    if (want && *rc == LM_OK)
                        *rc = lm_buf_append(cmt, in + start, i - start);
                    start = ++i; /* keep the escaped character */
                    i++;
                    continue;
                }
                if (c == '(')
                    depth++;
                else if (c == ')' && --depth == 0)
                    break;
                i++;
            }
            if (want && *rc == LM_OK)
                *rc = lm_buf_append(cmt, in + start, i - start);
            if (depth) {
                if (bad)
                    *bad = 1;
                return n;
            }
            i++;
        } else {
            break;
        }
    }
    return i;
}

size_t lm_hdr_quoted(const char *in, size_t n, size_t i, lm_buf *out, int *closed, int *rc)
{
    size_t run = ++i;
    *closed = 0;
    while (i < n) {
        char c = in[i];
        if (c == '"') {
            if (*rc == LM_OK)
                *rc = lm_buf_append(out, in + run, i - run);
            *closed = 1;
            return i + 1;
        }
        if (c == '\\' && i + 1 < n) {
            if (*rc == LM_OK)
                *rc = lm_buf_append(out, in + run, i - run);
            run = i + 1;
            i += 2;
            continue;
        }
        if (c == '\r' || c == '\n') {
            /* folding inside the quotes (RFC 5322 3.2.4): drop the break */
            if (*rc == LM_OK)
                *rc = lm_buf_append(out, in + run, i - run);
            run = i + 1;
        }
        i++;
    }
    if (*rc == LM_OK)
        *rc = lm_buf_append(out, in + run, n - run);
    return n;
}

void lm_hdr_lower(unsigned char *p, size_t k)
{
    size_t i;
    for (i = 0; i < k; i++)
        if (p[i] >= 'A' && p[i] <= 'Z')
            p[i] = (unsigned char)(p[i] + 32);
}
