/* lm_mime_body.h: checks on transfer-encoded bodies (RFC 2045 6.7, 6.8)
 * that tell a lenient decoder's caller whether anything had to be skipped
 * or kept, so it can warn. Both are linear and read each byte once. */
#ifndef LM_MIME_BODY_H
#define LM_MIME_BODY_H

#include <stddef.h>

/* The offset of the first byte of p[0..n) that is neither in the base64
 * alphabet, nor '=', nor CR, LF, SP or HTAB; n when there is none. */
size_t lm_mime_b64_garbage(const void *p, size_t n);

/* 1 when every '=' of p[0..n) starts "=XX" (two hex digits) or a soft
 * line break ('=', optional SP/HTAB, then CRLF, LF or the end). */
int lm_mime_qp_clean(const void *p, size_t n);

#endif
