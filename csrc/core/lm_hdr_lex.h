/* lm_hdr_lex.h: private lexical helpers of the header code (RFC 5322 3.2):
 * white space, comments, quoted-strings. Shared by lm_hdr_params.c and
 * lm_hdr_addr.c. Offsets index in[0..n); each helper returns the offset
 * after what it read. */
#ifndef LM_HDR_LEX_H
#define LM_HDR_LEX_H

#include "lm_hdr.h"

static inline int lm_hdr_is_wsp(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Skips white space and comments (nested, with quoted-pairs). *bad (if not
 * NULL) is set when a comment is not closed before the end. When cmt is not
 * NULL, the text of the first top-level comment met is appended to it
 * (unescaped) so a caller can use it as a display name. */
size_t lm_hdr_skip_cfws(const char *in, size_t n, size_t i, int *bad, lm_buf *cmt, int *rc);

/* Reads the quoted-string starting at in[i] == '"' into out (quotes,
 * backslashes of quoted-pairs and folding line breaks removed). *closed is
 * 0 when the input ended first. */
size_t lm_hdr_quoted(const char *in, size_t n, size_t i, lm_buf *out, int *closed, int *rc);

/* Writable pointer to the unconsumed byte k (NULL while the buffer has
 * no storage: nothing to write then). */
static inline unsigned char *lm_hdr_at(lm_buf *b, size_t k)
{
    return b->p ? b->p + b->off + k : NULL;
}

/* A record whose bytes are appended after lm_hdr_rec_open (which returns
 * where it starts) and whose length lm_hdr_rec_close then fills in. */
int lm_hdr_rec_open(lm_buf *b, size_t *start);
void lm_hdr_rec_close(lm_buf *b, size_t start);

/* ASCII lower-casing of out's last k bytes. */
void lm_hdr_lower(unsigned char *p, size_t k);

#endif
