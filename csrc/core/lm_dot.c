/* lm_dot.c: SMTP dot-stuffing (RFC 5321 4.5.2) with CRLF normalisation, and
 * the POP3 multi-line reader (RFC 1939 3); see lm_dot.h for the rules. */
#include "lm_dot.h"

#include <string.h>

#include "lm_eol.h"

/* ---- stuffer ---- */

int lm_dot_stuff_init(lm_dot_stuffer *s)
{
    s->bol = 1;
    s->cr = 0;
    return LM_OK;
}

int lm_dot_stuff_step(lm_dot_stuffer *s, const void *in, size_t n, void *out,
                      size_t *outlen)
{
    const unsigned char *p = in;
    unsigned char *o = out;
    size_t i = 0;
    if (n) {
        if (s->cr && p[0] == '\n')
            i = 1; /* the LF of a CRLF whose CR ended the previous chunk */
        s->cr = 0;
    }
    while (i < n) {
        size_t run, made;
        if (s->bol && p[i] == '.') {
            *o++ = '.'; /* 4.5.2: a line starting with "." gets another */
            *o++ = '.';
            i++;
            s->bol = 0;
            continue;
        }
        run = lm_eol_run(p + i, n - i, 1, o, &made);
        if (run) {
            o += made;
            i += run;
            s->bol = p[i - 1] == '\n';
            continue;
        }
        /* a bare CR or LF, or a CR at the end of the chunk: CRLF anyway */
        *o++ = '\r';
        *o++ = '\n';
        s->bol = 1;
        if (p[i++] == '\r') {
            if (i == n)
                s->cr = 1;
            else if (p[i] == '\n')
                i++;
        }
    }
    *outlen = (size_t)(o - (unsigned char *)out);
    return LM_OK;
}

int lm_dot_stuff_finish(lm_dot_stuffer *s, void *out, size_t *outlen)
{
    unsigned char *o = out;
    if (!s->bol) {
        *o++ = '\r';
        *o++ = '\n';
    }
    memcpy(o, ".\r\n", 3);
    o += 3;
    *outlen = (size_t)(o - (unsigned char *)out);
    return lm_dot_stuff_init(s);
}

int lm_dot_stuff(const void *in, size_t n, void *out, size_t *outlen)
{
    lm_dot_stuffer s;
    size_t a, b;
    lm_dot_stuff_init(&s);
    lm_dot_stuff_step(&s, in, n, out, &a);
    lm_dot_stuff_finish(&s, (unsigned char *)out + a, &b);
    *outlen = a + b;
    return LM_OK;
}

/* ---- POP3 reader ---- */

enum {
    U_BOL,     /* at the beginning of a line */
    U_DOT,     /* the line began with ".", which is dropped */
    U_DOT_CR,  /* ".\r": the terminator if LF follows; the CR is held */
    U_MID,     /* inside a line */
    U_MID_CR,  /* inside a line, just after a CR */
    U_DONE     /* the terminator has been read */
};

int lm_dot_unstuff_init(lm_dot_unstuffer *u)
{
    u->state = U_BOL;
    return LM_OK;
}

int lm_dot_unstuff_done(const lm_dot_unstuffer *u)
{
    return u->state == U_DONE;
}

/* Copies the rest of a line up to and including its next CR. */
static size_t copy_to_cr(lm_dot_unstuffer *u, const unsigned char *p, size_t n,
                         unsigned char **op)
{
    const unsigned char *cr = memchr(p, '\r', n);
    size_t run = cr ? (size_t)(cr - p) + 1 : n;
    memcpy(*op, p, run);
    *op += run;
    u->state = cr ? U_MID_CR : U_MID;
    return run;
}

int lm_dot_unstuff_step(lm_dot_unstuffer *u, const void *in, size_t n, void *out,
                        size_t *outlen, size_t *consumed)
{
    const unsigned char *p = in;
    unsigned char *o = out;
    size_t i = 0;
    while (i < n && u->state != U_DONE) {
        unsigned c = p[i];
        switch (u->state) {
        case U_BOL:
            if (c == '.') {
                u->state = U_DOT;
                i++;
                break;
            }
            i += copy_to_cr(u, p + i, n - i, &o);
            break;
        case U_DOT:
            if (c == '\r') {
                u->state = U_DOT_CR;
                i++;
                break;
            }
            i += copy_to_cr(u, p + i, n - i, &o); /* 3: strip the dot */
            break;
        case U_DOT_CR:
            if (c == '\n') {
                u->state = U_DONE;
                i++;
                break;
            }
            *o++ = '\r'; /* "." CR and more: data without its first dot */
            u->state = U_MID_CR;
            break;
        case U_MID_CR:
            if (c == '\n') {
                *o++ = '\n';
                u->state = U_BOL;
                i++;
                break;
            }
            i += copy_to_cr(u, p + i, n - i, &o);
            break;
        default: /* U_MID */
            i += copy_to_cr(u, p + i, n - i, &o);
        }
    }
    *outlen = (size_t)(o - (unsigned char *)out);
    *consumed = i;
    return u->state == U_DONE ? LM_OK : LM_EAGAIN;
}

int lm_dot_unstuff_finish(lm_dot_unstuffer *u)
{
    int done = u->state == U_DONE;
    lm_dot_unstuff_init(u);
    return done ? LM_OK : LM_EPROTO;
}
