/* lm_eol.h: line-end normalisation to CRLF, the canonical form of text in
 * Internet mail (RFC 5322 2.1, RFC 2045 2.10, RFC 5321 2.3.8).
 *
 * CRLF stays CRLF; a bare LF and a bare CR each become CRLF ("a\rb" is two
 * lines, as in old Mac text). Nothing is ever held back: a CR is written as
 * CRLF at once and the state only remembers to drop an LF that follows it,
 * possibly at the start of the next chunk. So the output of a step is final,
 * and any split of the input gives the same bytes. The codec never
 * allocates and never fails. */
#ifndef LM_EOL_H
#define LM_EOL_H

#include "lm.h"

/* Upper bound on the bytes lm_eol_step(n bytes) writes (n at most
 * SIZE_MAX / 2): every byte becomes at most two. */
#define LM_EOL_BOUND(n) (2 * (n))

typedef struct lm_eol {
    int cr; /* the last byte seen was a CR: drop an LF that follows */
} lm_eol;

int lm_eol_init(lm_eol *e);
/* Normalises n bytes of in into out, which must hold LM_EOL_BOUND(n)
 * bytes; *outlen gets the bytes written (out past them, within the bound,
 * may hold scratch). LM_OK. */
int lm_eol_step(lm_eol *e, const void *in, size_t n, void *out, size_t *outlen);
/* Ends the stream (nothing is pending, so nothing is written: *outlen = 0)
 * and resets e. LM_OK. */
int lm_eol_finish(lm_eol *e, size_t *outlen);

/* Normalises a leading part of p[0..n) into out, which must hold 2n bytes
 * (past the output they may hold scratch): at least the longest prefix
 * that normalisation leaves unchanged (within it every CR is followed by
 * LF, every LF follows a CR, an LF at p[0] not counting as following one,
 * and, with dots non-zero, no '.' follows an LF), and possibly more, bare
 * LFs becoming CRLF. It stops before a bare CR, a CR ending p, an LF at
 * p[0] or (dots) a '.' after an LF, which are the caller's: the SMTP
 * stuffer's view, where a '.' at p[0] is the caller's business too. So the
 * part read never ends with a CR. Returns the bytes read and puts the bytes
 * written in *produced. Shared with lm_dot. */
size_t lm_eol_run(const void *p, size_t n, int dots, void *out, size_t *produced);

/* One-shot: out must hold LM_EOL_BOUND(n) bytes. LM_OK. */
int lm_eol_normalize(const void *in, size_t n, void *out, size_t *outlen);

#endif
