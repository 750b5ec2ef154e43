/* lm_charset.h: charset conversion to and from UTF-8 for MIME (RFC 2045
 * 5.1 charset parameters, RFC 2047 and RFC 2231 charset labels), through
 * the C library's iconv (POSIX) and a UTF-8 fast path.
 *
 * Labels are matched case-insensitively after trimming white space and an
 * RFC 2231 section 5 language suffix ("utf-8*en"). Common labels are mapped
 * to the superset that real mail labelled so actually uses: gb2312 and gbk
 * to GB18030, shift_jis to CP932, euc-kr and ks_c_5601-1987 to CP949, big5
 * to BIG5-HKSCS; us-ascii is read as UTF-8 (a superset). Other labels go to
 * iconv as they are, but only when they are made of letters, digits and
 * "._:+-" and at most 40 characters long: a label from a message never
 * reaches iconv_open with "/" (which would select glibc conversion flags)
 * or any other surprise.
 *
 * Conversion never fails on bad input: an invalid or truncated sequence
 * becomes U+FFFD and sets LM_CS_REPLACED; an unknown label reads the bytes
 * as UTF-8 (with the same repair) and sets LM_CS_UNKNOWN. Output goes to a
 * caller-owned lm_buf; the only errors are that buffer's (LM_ENOMEM,
 * LM_ETOOLONG). No state is kept between calls. */
#ifndef LM_CHARSET_H
#define LM_CHARSET_H

#include "lm_buf.h"

/* Flags reported by the conversions (ORed into *flags). */
enum {
    LM_CS_UNKNOWN = 1,  /* the label named no charset iconv knows */
    LM_CS_REPLACED = 2, /* invalid input sequences became U+FFFD */
};

/* 1 when the n bytes are well-formed UTF-8 (RFC 3629: no overlong forms,
 * no surrogates, nothing above U+10FFFF). */
int lm_utf8_valid(const void *s, size_t n);
/* Length of the valid UTF-8 sequence starting at s[0] (1..4), or 0 when
 * s[0..n) does not start with one. */
size_t lm_utf8_seqlen(const unsigned char *s, size_t n);

/* 1 when the label names a charset this machine can convert (UTF-8 and
 * ASCII always). */
int lm_charset_known(const char *label, size_t n);
/* 1 for the labels read without conversion: UTF-8 and US-ASCII. */
int lm_charset_is_utf8(const char *label, size_t n);

/* Appends the UTF-8 form of in[0..n) read in charset `label` to out. */
int lm_charset_to_utf8(const char *label, size_t lablen, const void *in, size_t n,
                       lm_buf *out, unsigned *flags);
/* Appends UTF-8 in[0..n) converted to charset `label` to out. LM_EINVAL
 * when the label is unknown, the input is not UTF-8 or a character has no
 * form in that charset (nothing useful is appended then). A stateful
 * charset (ISO-2022-JP) is returned to its initial state at the end. */
int lm_charset_from_utf8(const char *label, size_t lablen, const void *in, size_t n,
                         lm_buf *out);

#endif
