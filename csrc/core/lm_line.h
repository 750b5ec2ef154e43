/* lm_line.h: the line framer shared by the SMTP and POP3 engines.
 *
 * Fed the server's bytes in chunks of any size, it hands back one line at
 * a time without its line break. A line ends at LF; a CR right before the
 * LF is part of the break. RFC 5321 2.3.8 and RFC 1939 3 allow only CRLF,
 * so each line says whether its break was a bare LF and the engine decides
 * (both engines refuse one by default). A line with no LF within max_line
 * bytes (break included) is LM_ETOOLONG: a server cannot make the client
 * buffer an endless line.
 *
 * Raw mode: a POP3 multi-line body is not framed here (lm_dot reads it);
 * lm_line_raw gives the engine the bytes after the last line handed out and
 * lm_line_consume_raw drops what it used.
 *
 * A line returned by lm_line_next points into the framer and is valid until
 * the next call on the framer. */
#ifndef LM_LINE_H
#define LM_LINE_H

#include "lm_buf.h"

typedef struct lm_line {
    lm_buf in;
    size_t max_line; /* longest line accepted, line break included */
    size_t scanned;  /* bytes at the front already searched: no LF there */
    size_t held;     /* length (with break) of the line last handed out */
} lm_line;

/* max_line >= 2; max_buffered >= max_line bounds the unread input. */
void lm_line_init(lm_line *f, const lm_alloc *a, size_t max_line, size_t max_buffered);
/* Appends n input bytes. LM_ETOOLONG when more than max_buffered bytes
 * would be waiting (nothing is appended), LM_ENOMEM. */
int lm_line_feed(lm_line *f, const void *data, size_t n);
/* The next line: LM_OK with *line, *len (break excluded) and *bare_lf (1
 * when the break was a lone LF); LM_EAGAIN when no full line is buffered;
 * LM_ETOOLONG when max_line bytes are buffered without an LF. */
int lm_line_next(lm_line *f, const char **line, size_t *len, int *bare_lf);
/* Bytes buffered after the last line handed out (for example: anything
 * after a STARTTLS go-ahead, RFC 3207 section 4). */
size_t lm_line_buffered(const lm_line *f);
/* Raw access to those bytes; lm_line_consume_raw(n) drops the first n. */
void lm_line_raw(lm_line *f, const unsigned char **data, size_t *n);
void lm_line_consume_raw(lm_line *f, size_t n);
/* Drops every buffered byte. */
void lm_line_clear(lm_line *f);
void lm_line_free(lm_line *f);

#endif
