/* lm_b64.h: base64 (RFC 4648 section 4 alphabet) with RFC 2045 6.8 line
 * wrapping. Incremental step/finish codecs that never allocate: the caller
 * owns every buffer and sizes output with the bound macros below.
 *
 * Encoder output format. With linelen > 0 (a multiple of 4; 76 is the
 * RFC 2045 maximum and the default of the binding) every line holds exactly
 * linelen characters except the last, and EVERY line, the last one included,
 * ends with CRLF; empty input encodes to empty output. With linelen == 0 the
 * output is one line with no line break. Padding '=' is always written
 * (RFC 4648 3.2). Fed whole or in any chunks, the output is the same bytes.
 *
 * Decoder rules.
 * - Lenient (default): every character outside the alphabet is skipped, as
 *   RFC 2045 6.8 prescribes ("Any characters outside of the base64 alphabet
 *   are to be ignored"), so CR, LF, space, tab and stray bytes all vanish.
 *   '=' after two or three data characters of a quantum ends the data (RFC
 *   2045 6.8: "'=' characters may be taken as evidence that the end of the
 *   data has been reached"); everything after it is ignored. '=' earlier in
 *   a quantum is skipped like any other stray byte. Pad bits are ignored.
 *   Missing padding is accepted: a final quantum of 2 or 3 characters gives 1
 *   or 2 bytes; a final quantum of 1 character is an error (it cannot hold a
 *   byte), reported at the offset of the end of the input.
 * - Strict (RFC 4648 3.3 and 3.5, canonical encoding): only alphabet
 *   characters and correct padding are allowed: no line breaks, no
 *   whitespace. The error names the 0-based offset, counted over the whole
 *   stream, of the first bad character: a character outside the alphabet,
 *   '=' in the first two positions of a quantum, anything after the padding
 *   (including a third '='), a non-'=' after "xx=", or the last data
 *   character of a padded quantum whose unused pad bits are not zero. A stream
 *   ending inside a quantum (unpadded or "xx=") fails with the offset of the
 *   end of the input and the `truncated` flag set.
 * After an error the decoder stays failed until finish; finish (which
 * returns the same error) resets either codec so it can be reused.
 *
 * The character tables assume an ASCII execution character set. */
#ifndef LM_B64_H
#define LM_B64_H

#include "lm.h"

/* Implementations. AUTO picks the fastest the CPU supports at run time;
 * the others exist so tests can compare every path against the scalar one. */
enum { LM_B64_AUTO = 0, LM_B64_SCALAR = 1, LM_B64_SSSE3 = 2, LM_B64_AVX2 = 3 };

/* 1 when implementation `impl` can run on this machine (AUTO and SCALAR
 * always can; the SIMD ones only on x86-64 CPUs that have the feature). */
int lm_b64_impl_available(int impl);
/* "scalar", "ssse3", "avx2" for the implementation AUTO resolves to. */
const char *lm_b64_impl_name(int impl);

/* Upper bound on the bytes lm_b64_enc_step(n bytes) plus lm_b64_enc_finish
 * can write in total, whatever is pending from earlier steps (n must be at
 * most SIZE_MAX / 2). It is also a bound for one step alone or one finish
 * alone (n = 0). */
#define LM_B64_ENC_CHARS_(n) (((n) / 3 + 2) * 4)
#define LM_B64_ENCODE_BOUND(n, linelen)                                        \
    (LM_B64_ENC_CHARS_(n) +                                                    \
     ((linelen) ? 2 * (LM_B64_ENC_CHARS_(n) / (linelen) + 2) : 0))

/* The exact length of the whole encoding of n bytes (what lm_b64_encode
 * writes); linelen as for lm_b64_enc_init. */
size_t lm_b64_encoded_len(size_t n, size_t linelen);

/* Upper bound on the bytes lm_b64_dec_step(n chars) plus lm_b64_dec_finish
 * can write in total, whatever is pending; also bounds each call alone. */
#define LM_B64_DECODE_BOUND(n) (((n) / 4 + 2) * 3)

/* The largest linelen accepted (keeps column arithmetic far from overflow). */
#define LM_B64_MAX_LINELEN 0x10000000u

typedef struct lm_b64_enc {
    size_t linelen;          /* 0: one line */
    size_t col;              /* characters on the current output line */
    unsigned char pend[3];   /* input bytes waiting for a full 3-byte group */
    unsigned npend;
    int impl;                /* resolved implementation, never AUTO */
} lm_b64_enc;

typedef struct lm_b64_dec {
    uint64_t pos;            /* stream offset of the next input byte */
    uint64_t err_off;        /* offset reported by the failure */
    uint32_t acc;            /* sextets of the current quantum */
    unsigned nacc;           /* how many (0..3) */
    int state;               /* private: data, after "xx=", after padding */
    int strict;
    int err;                 /* LM_OK or the sticky LM_EINVAL */
    int truncated;           /* the failure is an unfinished final quantum */
    int impl;
} lm_b64_dec;

/* Encoder. linelen: 0 or a positive multiple of 4 up to LM_B64_MAX_LINELEN;
 * LM_EINVAL otherwise, or when impl is not available here. */
int lm_b64_enc_init(lm_b64_enc *e, size_t linelen, int impl);
/* Encodes n bytes of in into out, which must hold
 * LM_B64_ENCODE_BOUND(n, linelen) bytes; *outlen gets the bytes written.
 * Up to 2 input bytes stay pending until more input or finish. LM_OK. */
int lm_b64_enc_step(lm_b64_enc *e, const void *in, size_t n, char *out,
                    size_t *outlen);
/* Writes the last quantum with padding and the final CRLF (when wrapping)
 * into out (LM_B64_ENCODE_BOUND(0, linelen) bytes), then resets e. LM_OK. */
int lm_b64_enc_finish(lm_b64_enc *e, char *out, size_t *outlen);

/* Decoder. strict: 0 lenient, 1 strict (see above). LM_EINVAL if impl is
 * not available here. */
int lm_b64_dec_init(lm_b64_dec *d, int strict, int impl);
/* Decodes n characters of in into out, which must hold
 * LM_B64_DECODE_BOUND(n) bytes; *outlen gets the bytes written (when the
 * step fails, the bytes decoded before the bad character). Returns LM_OK
 * or LM_EINVAL (sticky; see lm_b64_dec_error). */
int lm_b64_dec_step(lm_b64_dec *d, const void *in, size_t n, void *out,
                    size_t *outlen);
/* Ends the stream: writes the bytes of an unpadded final quantum (lenient)
 * into out (LM_B64_DECODE_BOUND(0) bytes). Returns LM_OK or LM_EINVAL; then
 * resets d, keeping its mode. */
int lm_b64_dec_finish(lm_b64_dec *d, void *out, size_t *outlen);
/* After a step or finish returned LM_EINVAL (finish's reset keeps these
 * until the next call): the stream offset of the failure, and in
 * *truncated (if not NULL) 1 when the input ended inside a quantum rather
 * than holding a bad character. */
uint64_t lm_b64_dec_error(const lm_b64_dec *d, int *truncated);

/* One-shot helpers over the codecs above (same output, same rules).
 * out must hold LM_B64_ENCODE_BOUND(n, linelen) / LM_B64_DECODE_BOUND(n). */
int lm_b64_encode(const void *in, size_t n, size_t linelen, char *out,
                  size_t *outlen);
/* On LM_EINVAL, *err_off (if not NULL) gets the offset of the failure. */
int lm_b64_decode(const void *in, size_t n, int strict, void *out,
                  size_t *outlen, uint64_t *err_off);

#endif
