/* lm_dot.h: the SMTP DATA stuffer (RFC 5321 4.5.2) and the POP3
 * multi-line response reader (RFC 1939 section 3). Both are incremental,
 * never allocate, and give the same result however the input is split.
 *
 * Stuffer (client to SMTP server). The body is normalised to CRLF lines
 * exactly as lm_eol does (a bare CR and a bare LF each become CRLF), so no
 * bare CR or LF can reach the server: the "SMTP smuggling" family
 * (CVE-2023-51764 and relatives: "\n.\n", "\r.\r", "\n.\r\n", ...) relies
 * on servers and clients disagreeing about such line ends, and here each
 * of them becomes an ordinary CRLF line whose dot is doubled. A line
 * starting with "." gets another "." in front (4.5.2). The finish ends the
 * body with CRLF if it does not end with a line break already, then writes
 * the terminating ".\r\n"; an empty body gives just ".\r\n".
 *
 * Reader (POP3 server to client), fed the bytes after the "+OK" status line.
 * Lines end only at CRLF, as RFC 1939 3 specifies. A bare LF or CR is
 * ordinary data and never ends a line: a server or a message could
 * otherwise slip a ".\n" past the server's stuffing and end the response
 * early, after which the rest of the message would be read as responses (a
 * desynchronisation like SMTP smuggling). A line that is exactly "." is the
 * terminator; another line starting with "." loses that first dot (so ".."
 * becomes "."). The output is the unstuffed data with CRLF kept; the
 * terminator line is not part of it. The reader stops right after the
 * terminator: the bytes after it belong to the next response and are left
 * to the caller. */
#ifndef LM_DOT_H
#define LM_DOT_H

#include "lm.h"

/* lm_dot_stuff_step(n bytes) writes at most LM_DOT_STUFF_BOUND(n) bytes (n
 * at most SIZE_MAX / 2); lm_dot_stuff_finish at most LM_DOT_FINISH_MAX. */
#define LM_DOT_STUFF_BOUND(n) (2 * (n))
#define LM_DOT_FINISH_MAX 5

/* lm_dot_unstuff_step(n bytes) writes at most LM_DOT_UNSTUFF_BOUND(n)
 * bytes: one byte may be held from the previous step. */
#define LM_DOT_UNSTUFF_BOUND(n) ((n) + 1)

typedef struct lm_dot_stuffer {
    int bol; /* at the beginning of a line */
    int cr;  /* the last byte was a CR (written as CRLF): drop a next LF */
} lm_dot_stuffer;

typedef struct lm_dot_unstuffer {
    int state; /* private */
} lm_dot_unstuffer;

int lm_dot_stuff_init(lm_dot_stuffer *s);
/* Stuffs n bytes of in into out, which must hold LM_DOT_STUFF_BOUND(n)
 * bytes; *outlen gets the bytes written (out past them, within the bound,
 * may hold scratch). LM_OK. */
int lm_dot_stuff_step(lm_dot_stuffer *s, const void *in, size_t n, void *out,
                      size_t *outlen);
/* Writes the final CRLF when needed and ".\r\n" into out
 * (LM_DOT_FINISH_MAX bytes), then resets s for a new body. LM_OK. */
int lm_dot_stuff_finish(lm_dot_stuffer *s, void *out, size_t *outlen);
/* One-shot: the whole stuffed body with its terminator; out must hold
 * LM_DOT_STUFF_BOUND(n) + LM_DOT_FINISH_MAX bytes. LM_OK. */
int lm_dot_stuff(const void *in, size_t n, void *out, size_t *outlen);

int lm_dot_unstuff_init(lm_dot_unstuffer *u);
/* Reads up to n bytes of in, writing the unstuffed data into out, which
 * must hold LM_DOT_UNSTUFF_BOUND(n) bytes. *outlen gets the bytes written
 * and *consumed the bytes of in read. Returns LM_OK when the terminator
 * line has been read (its last byte is in[*consumed - 1]; in[*consumed..n)
 * is left unread; every later step reads nothing and returns LM_OK again),
 * or LM_EAGAIN when all n bytes were read and more are needed. */
int lm_dot_unstuff_step(lm_dot_unstuffer *u, const void *in, size_t n, void *out,
                        size_t *outlen, size_t *consumed);
/* 1 once the terminator has been read. */
int lm_dot_unstuff_done(const lm_dot_unstuffer *u);
/* Ends the response: LM_OK when the terminator was read, LM_EPROTO when the
 * input ended before it (the response is incomplete). Resets u. */
int lm_dot_unstuff_finish(lm_dot_unstuffer *u);

#endif
