/* lm_hdr.h: header fields (RFC 5322, RFC 2045, RFC 2047, RFC 2183, RFC 2231).
 *
 * Every function reads a caller-owned field body (the text after the colon,
 * folded or not) and appends its result to a caller-owned lm_buf; nothing
 * else is allocated, no state is kept. The lm_buf's cap bounds the output;
 * its errors (LM_ENOMEM, LM_ETOOLONG) come back unchanged. Inputs may hold
 * any bytes: NUL, CR and LF are data to these functions, never a crash.
 *
 * List results (parameters, addresses) are records: each is a 4-byte
 * little-endian length and that many bytes, one after the other in the
 * buffer; lm_hdr_rec_next reads them back.
 *
 * Every function runs in time linear in its input. */
#ifndef LM_HDR_H
#define LM_HDR_H

#include "lm_buf.h"

/* Warnings (ORed into *warn): the input was malformed in a way that was
 * recovered from. */
enum {
    LM_HDR_W_BADWORD = 1,   /* an encoded word was malformed; kept verbatim */
    LM_HDR_W_CHARSET = 2,   /* a charset label named nothing iconv knows */
    LM_HDR_W_REPLACED = 4,  /* invalid bytes for their charset became U+FFFD */
    LM_HDR_W_CTL = 8,       /* decoded text holds CR, LF or NUL (kept as data) */
    LM_HDR_W_SYNTAX = 16,   /* a parameter list was malformed; what could be read was */
    LM_HDR_W_CONTINUATION = 32 /* RFC 2231 continuations had gaps or repeats */
};

/* Appends a record (length + bytes). */
int lm_hdr_rec_put(lm_buf *b, const void *p, size_t n);
/* Reads the record at *pos of buf[0..len): LM_OK with *s, *n and *pos
 * advanced, LM_EAGAIN at the end, LM_EINVAL when truncated. */
int lm_hdr_rec_next(const unsigned char *buf, size_t len, size_t *pos, const char **s,
                    size_t *n);

/* RFC 5322 2.2.3 unfolding: removes every CRLF (or bare LF) that is
 * followed by SP or HTAB, and a final line break. */
int lm_hdr_unfold(const char *in, size_t n, lm_buf *out);

/* RFC 2047 decoding of any header text to UTF-8 (RFC 2047 6.1 and the
 * leniency real mail needs):
 * - an encoded word "=?charset[*lang]?B|Q?text?=" is recognised anywhere
 *   (also without white space around it, as broken mailers write them);
 *   its text may not hold white space or '?';
 * - white space between two encoded words is dropped (RFC 2047 6.2), and
 *   adjacent words of one charset are joined before conversion so a
 *   character split across words comes back whole;
 * - a word whose B or Q text does not decode is kept verbatim (BADWORD);
 *   an unknown charset reads the bytes as UTF-8 (CHARSET);
 * - text outside encoded words is kept; 8-bit bytes there are taken as
 *   UTF-8 (RFC 6532) and invalid ones become U+FFFD (REPLACED);
 * - decoded CR, LF or NUL are kept as data and flagged (CTL): a caller
 *   must never write decoded text back into a header unchecked. */
int lm_hdr_decode_words(const char *in, size_t n, lm_buf *out, unsigned *warn);

/* RFC 2047 encoding of UTF-8 text (no CR, LF or NUL: LM_EINVAL).
 * Encoded words use `charset` (NULL: UTF-8), B or Q, whichever is shorter
 * for that run; each word is at most 75 characters (RFC 2047 2), never
 * splits a character, and words are separated by one space so a folder can
 * break the line at each one. The first word is sized to fit first_room
 * characters when that is at least 20 (the rest of the first line).
 * LM_HDR_TEXT: an unstructured field (RFC 5322 3.2.5). Words that need it
 * (8-bit, control characters, "=?", or longer than 900 characters, which
 * could not be folded under 998 octets) are encoded, runs of them together
 * with the white space between; everything else is copied as it is.
 * LM_HDR_PHRASE: a display name (RFC 5322 3.2.5 phrase). Atoms are copied,
 * other ASCII becomes one quoted-string, anything else becomes encoded
 * words with the restricted Q alphabet of RFC 2047 5(3).
 * LM_EINVAL also for text that is not UTF-8 or a character the charset
 * cannot represent. */
enum { LM_HDR_TEXT = 0, LM_HDR_PHRASE = 1 };
int lm_hdr_encode_words(const char *in, size_t n, const char *charset, size_t cslen,
                        int mode, size_t first_room, lm_buf *out);

/* Content-Type (RFC 2045 5.1) or Content-Disposition (RFC 2183) with
 * RFC 2231 parameters: continuations (name*0, name*1*, ...) are joined in
 * section order, extended values (name*=charset'lang'%XX) percent-decoded
 * and converted to UTF-8, quoted-strings unquoted; an RFC 2047 encoded
 * word inside a value (a common non-standard form) is decoded too. When a
 * name has both an RFC 2231 and a plain form, the RFC 2231 one wins.
 * Parameter names are lower-cased; the first of repeated names wins.
 * Comments (RFC 5322 3.2.2) are skipped.
 * Records: the value ("type/subtype" or the disposition, lower-cased; ""
 * when missing or malformed), then name and value pairs.
 * kind: LM_HDR_CTYPE needs "type/subtype"; LM_HDR_DISPOSITION a token. */
enum { LM_HDR_CTYPE = 0, LM_HDR_DISPOSITION = 1 };
int lm_hdr_params(const char *in, size_t n, int kind, lm_buf *out, unsigned *warn);

/* RFC 5322 3.4 address-list (and RFC 5322 4.4 obsolete forms: routes,
 * CFWS around dots, empty list elements, a comment as the name of a bare
 * address, quoted words in local parts). Groups are flattened: each
 * mailbox gives three records: display name (RFC 2047-decoded UTF-8,
 * quotes and escapes removed, "" when none), address (local@domain, the
 * local part quoted only when it must be, "" never), group name ("" when
 * not in a group). An address without "@" is accepted (old local mail).
 * Ambiguous input is LM_EINVAL, not a guess: two "@" in one address
 * ("a@evil.example@good.example"), two addresses in one list element,
 * an unclosed "<", quote, comment or group, text after ">", a nested
 * group. *err_off (may be NULL) gets the offset of the problem. */
int lm_hdr_addresses(const char *in, size_t n, lm_buf *out, size_t *err_off);

/* RFC 5322 3.3 date-time with the obsolete forms of 4.3: two- and
 * three-digit years, the zones UT, GMT, EST, EDT, CST, CDT, MST, MDT, PST,
 * PDT and military letters (taken as -0000, as 4.3 says), CFWS anywhere,
 * a missing day of week or seconds. *t gets seconds since 1970-01-01 UTC,
 * *zone the offset east of UTC in minutes. LM_EINVAL otherwise. */
int lm_hdr_date(const char *in, size_t n, int64_t *t, int *zone);

#endif
