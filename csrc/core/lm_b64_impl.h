/* lm_b64_impl.h: private interface between lm_b64.c (state machines and the
 * scalar code) and lm_b64_simd.c (x86-64 SSSE3/AVX2 kernels). */
#ifndef LM_B64_IMPL_H
#define LM_B64_IMPL_H

#include <stddef.h>

/* -DLM_B64_NO_SIMD builds the scalar path alone, as on other CPUs. */
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__)) &&      \
    !defined(LM_B64_NO_SIMD)
#define LM_B64_X86 1
#else
#define LM_B64_X86 0
#endif

/* Encode n bytes (a multiple of 3) into n / 3 * 4 characters, no padding,
 * no line breaks. Reads exactly in[0..n) and writes exactly out[0..4n/3). */
void lm_b64_enc_scalar(const unsigned char *in, size_t n, char *out);
/* Encode `lines` whole lines of bpl bytes each (a multiple of 3): each
 * becomes bpl / 3 * 4 characters and CRLF. Same access rules. */
void lm_b64_enc_lines_scalar(const unsigned char *in, size_t lines, size_t bpl,
                             char *out);

#if LM_B64_X86
int lm_b64_cpu_ssse3(void);
int lm_b64_cpu_avx2(void);
void lm_b64_enc_ssse3(const unsigned char *in, size_t n, char *out);
void lm_b64_enc_avx2(const unsigned char *in, size_t n, char *out);
void lm_b64_enc_lines_ssse3(const unsigned char *in, size_t lines, size_t bpl,
                            char *out);
void lm_b64_enc_lines_avx2(const unsigned char *in, size_t lines, size_t bpl,
                           char *out);
/* Decode the longest run of whole valid quanta they can take from in[0..n)
 * in vector blocks; return the characters consumed and put the bytes
 * written in *nout. They stop at a block holding a character outside the
 * alphabet (padding included), after the whole quanta before it, except
 * that with skip_breaks (lenient mode, called at a quantum boundary) a run
 * of CR/LF starting on a quantum boundary is consumed and decoding goes on.
 * They may write up to 28 bytes past *nout, but only while at least 24
 * (SSSE3) or 44 (AVX2) characters remain, so an output buffer of n / 4 * 3
 * bytes from the current position is enough. */
size_t lm_b64_dec_ssse3(const unsigned char *in, size_t n, unsigned char *out,
                        size_t *nout, int skip_breaks);
size_t lm_b64_dec_avx2(const unsigned char *in, size_t n, unsigned char *out,
                       size_t *nout, int skip_breaks);
#endif

#endif
