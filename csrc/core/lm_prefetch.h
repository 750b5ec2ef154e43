/* lm_prefetch.h: reading ahead in the codecs' vector loops.
 *
 * On the VMs lmail is measured on (docs/performance.md, "A second
 * machine"), the hardware prefetcher alone left the vector loops over
 * 16 MiB inputs at a third of their speed on cache-resident data (the
 * quoted-printable decoder: 2.7 GB/s against 8.8); asking for the line
 * LM_PREFETCH_AHEAD bytes ahead brought it to 7.5 GB/s. A prefetch never
 * faults, but the address is only formed inside the buffer, so the C
 * rules on pointers hold too. */
#ifndef LM_PREFETCH_H
#define LM_PREFETCH_H

#include <stddef.h>

#define LM_PREFETCH_AHEAD 1024

/* Asks for p[i + LM_PREFETCH_AHEAD] when it lies inside p[0..n). */
static inline void lm_prefetch(const unsigned char *p, size_t i, size_t n)
{
#if defined(__GNUC__) || defined(__clang__)
    if (n - i > LM_PREFETCH_AHEAD)
        __builtin_prefetch(p + i + LM_PREFETCH_AHEAD, 0, 3);
#else
    (void)p;
    (void)i;
    (void)n;
#endif
}

/* The same, and out[i + LM_PREFETCH_AHEAD] for writing, for an output
 * that holds at least n bytes from out (the one test keeps both inside). */
static inline void lm_prefetch_rw(const unsigned char *p, unsigned char *out, size_t i, size_t n)
{
#if defined(__GNUC__) || defined(__clang__)
    if (n - i > LM_PREFETCH_AHEAD) {
        __builtin_prefetch(p + i + LM_PREFETCH_AHEAD, 0, 3);
        __builtin_prefetch(out + i + LM_PREFETCH_AHEAD, 1, 3);
    }
#else
    (void)p;
    (void)out;
    (void)i;
    (void)n;
#endif
}

#endif
