/* lm_qp.h: quoted-printable (RFC 2045 section 6.7). Incremental step/finish
 * codecs that never allocate: the caller owns every buffer and sizes output
 * with the bound macros below. Fed whole or in any chunks, a codec writes
 * the same bytes in total.
 *
 * Encoder output format.
 * - Encoded lines hold at most 76 characters before their CRLF; a soft line
 *   break "=" CRLF is inserted where a line would be longer (rule 5), never
 *   inside an "=XX" escape, so a line ending in a soft break holds at most
 *   75 characters and then the "=". A line ended by a hard break (or by the
 *   end of the data) may use all 76 columns: 76 printable characters and a
 *   line break come out unchanged.
 * - Literal: '!' to '~' except '=' (rules 1 and 2), and SPACE and TAB
 *   unless they end an encoded line (followed by a hard line break or by the
 *   end of the data), where they become =20 and =09 (rule 3). Everything
 *   else, '=' and 8-bit bytes included, is "=XX" with upper-case hex.
 * - Text mode (default): CRLF and a bare LF are hard line breaks and are
 *   written as CRLF (rule 4: the canonical form of text has CRLF lines, and
 *   a Unix LF file is such text). A CR that is not followed by LF is data
 *   and becomes =0D, so no CR or LF of the input is lost silently.
 * - Binary mode (LM_QP_BINARY): there are no hard breaks; CR and LF are
 *   data and become =0D and =0A, so the decoder gives back the exact bytes.
 * - The end of the data ends the last line as it is: no line break and no
 *   soft break is added, so data not ending in a line break round-trips
 *   exactly. Empty input encodes to empty output.
 *
 * Decoder rules (lenient, as RFC 2045 6.7 recommends for robustness).
 * - Lines end at CRLF or at a bare LF; both are kept as they are in the
 *   output. A bare CR is data.
 * - "=XX" with two hex digits in either case gives the byte XX.
 * - A soft line break is '=', then optional SPACE/TAB (the note to rule 3:
 *   an encoder may have left trailing white space), then CRLF or a bare LF,
 *   or then the end of the data; it decodes to nothing.
 * - Any other '=' sequence is malformed and is kept verbatim ("=4G" stays
 *   "=4G", "=" followed by SPACE and a letter stays so).
 * - SPACE and TAB at the end of a line (before CRLF, a bare LF or the end of
 *   the data) are removed: rule 3 says such white space "must be deleted"
 *   when decoding, since transports may have added it.
 * - Trailing white space is held until its line ends, in the decoder state,
 *   up to LM_QP_WS_MAX characters. A longer run cannot belong to a legal
 *   line (76 characters; even the SMTP 998-octet limit is smaller), so once a
 *   run exceeds LM_QP_WS_MAX it is kept whole as data.
 *
 * The character tables assume an ASCII execution character set. */
#ifndef LM_QP_H
#define LM_QP_H

#include "lm.h"

/* Flags of the encoder. */
enum { LM_QP_BINARY = 1 };

/* Longest white-space run the decoder can hold (see above). */
#define LM_QP_WS_MAX 1024

/* Upper bound on the bytes lm_qp_enc_step(n bytes) can write, whatever is
 * pending from earlier steps: up to two held bytes and n bytes of at most
 * 3 characters each, and at most one soft break per 73 characters plus one
 * (n at most SIZE_MAX / 4). LM_QP_ENCODE_BOUND(0) bounds lm_qp_enc_finish. */
#define LM_QP_ENCODE_BOUND(n) (3 * ((n) + 2) + 3 * ((n) / 24 + 2))

/* Upper bound on the bytes lm_qp_dec_step(n chars) can write, whatever is
 * held from earlier steps (n at most SIZE_MAX / 2). LM_QP_DECODE_BOUND(0)
 * bounds lm_qp_dec_finish. */
#define LM_QP_DECODE_BOUND(n) ((n) + LM_QP_WS_MAX + 4)

typedef struct lm_qp_enc {
    const unsigned char *cls; /* private: character classes of the mode */
    unsigned col;             /* characters on the current output line */
    int pend;                 /* input byte held for one byte of look-ahead, or -1 */
    int cr;                   /* text mode: a CR held to see whether LF follows */
} lm_qp_enc;

typedef struct lm_qp_dec {
    int state;         /* private */
    int hex;           /* private: the first digit of an "=X" being read */
    int keep;          /* private: the current white-space run is data */
    unsigned nws;      /* white-space characters held */
    unsigned char tabs[LM_QP_WS_MAX / 8]; /* bit set: that held one is TAB */
} lm_qp_dec;

/* flags: 0 (text) or LM_QP_BINARY. LM_EINVAL for any other flag. */
int lm_qp_enc_init(lm_qp_enc *e, int flags);
/* Encodes n bytes of in into out, which must hold LM_QP_ENCODE_BOUND(n)
 * bytes; *outlen gets the bytes written (out past them, within the bound,
 * may hold scratch). The last byte (two when they are CR and something)
 * stays held until more input or finish. LM_OK. */
int lm_qp_enc_step(lm_qp_enc *e, const void *in, size_t n, char *out,
                   size_t *outlen);
/* Writes what is held into out (LM_QP_ENCODE_BOUND(0) bytes), then resets
 * e to the state after init, keeping its mode. LM_OK. */
int lm_qp_enc_finish(lm_qp_enc *e, char *out, size_t *outlen);

/* No flags yet: flags must be 0, else LM_EINVAL. */
int lm_qp_dec_init(lm_qp_dec *d, int flags);
/* Decodes n characters of in into out, which must hold
 * LM_QP_DECODE_BOUND(n) bytes; *outlen gets the bytes written (out past
 * them, within the bound, may hold scratch). Never fails (malformed input
 * is kept verbatim): LM_OK. */
int lm_qp_dec_step(lm_qp_dec *d, const void *in, size_t n, void *out,
                   size_t *outlen);
/* Ends the stream: writes what is held (LM_QP_DECODE_BOUND(0) bytes), then
 * resets d. LM_OK. */
int lm_qp_dec_finish(lm_qp_dec *d, void *out, size_t *outlen);

/* One-shot helpers over the codecs above (same output, same rules); out
 * must hold LM_QP_ENCODE_BOUND(n) / n bytes (decoding never grows the data,
 * so n is enough for a whole input). LM_EINVAL for bad flags, else LM_OK. */
int lm_qp_encode(const void *in, size_t n, int flags, char *out, size_t *outlen);
int lm_qp_decode(const void *in, size_t n, void *out, size_t *outlen);

#endif
