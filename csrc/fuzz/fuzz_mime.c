/* fuzz_mime.c: libFuzzer target for the MIME parser (csrc/core/lm_mime.c).
 * The first byte chooses the limits, the next two the chunk sizes the
 * rest is fed in. Besides the sanitizers, it checks what the engine
 * promises: events stay inside the input, data pieces are contiguous,
 * BEGIN and END pair up, the same input fed whole gives the same events,
 * and the work counter stays linear in the input. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/lm_mime.h"

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

typedef struct sum {
    unsigned long long events, hash, bytes;
    int rc;
} sum;

static void fail(const char *what)
{
    fprintf(stderr, "fuzz_mime: %s\n", what);
    abort();
}

static sum run(const unsigned char *in, size_t n, const lm_mime_opts *o, size_t c1, size_t c2)
{
    lm_alloc a = lm_alloc_libc();
    lm_mime *p;
    lm_mime_event ev;
    sum s = {0, 1469598103934665603ULL, 0, 0};
    size_t off = 0, k = 0, open = 0;
    int rc;
    if (lm_mime_new(&p, o, &a) != LM_OK)
        fail("new");
    for (;;) {
        rc = lm_mime_next(p, &ev);
        if (rc == LM_EAGAIN) {
            size_t c = (k++ & 1) ? c2 : c1;
            if (off >= n) {
                lm_mime_finish(p);
                continue;
            }
            if (c > n - off)
                c = n - off;
            if (lm_mime_feed(p, in + off, c) != LM_OK)
                break;
            off += c;
            continue;
        }
        if (rc != LM_OK)
            break;
        if (ev.offset > n)
            fail("offset past the input");
        if (ev.type == LM_MIME_BODY || ev.type == LM_MIME_PREAMBLE ||
            ev.type == LM_MIME_EPILOGUE) {
            if (ev.offset + ev.len > n || memcmp(ev.data, in + ev.offset, ev.len) != 0)
                fail("data event does not match the input");
            s.bytes += ev.len;
        } else {
            s.events++;
            s.hash = (s.hash ^ (unsigned)ev.type ^ ev.offset * 31 ^ ev.depth) * 1099511628211ULL;
        }
        if (ev.type == LM_MIME_BEGIN)
            open++;
        if (ev.type == LM_MIME_END) {
            if (!open)
                fail("END without BEGIN");
            open--;
        }
        if (ev.type == LM_MIME_DONE) {
            if (open)
                fail("DONE with open entities");
            break;
        }
    }
    if (lm_mime_work(p) > 2000 * (unsigned long long)n + 100000)
        fail("work not linear in the input");
    s.rc = rc;
    lm_mime_free(p);
    return s;
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    lm_mime_opts o;
    sum a, b;
    if (size < 3)
        return 0;
    memset(&o, 0, sizeof o);
    o.max_depth = (size_t)(data[0] & 15) * 4 + 1;
    o.max_parts = (size_t)(data[0] >> 4) * 64 + 1;
    o.max_header_bytes = data[0] & 1 ? 4096 : 0;
    o.max_line = data[0] & 2 ? 200 : 0;
    a = run(data + 3, size - 3, &o, (size_t)data[1] % 64 + 1, (size_t)data[2] % 512 + 1);
    b = run(data + 3, size - 3, &o, size, size);
    if (a.rc != b.rc || (a.rc == LM_OK && (a.events != b.events || a.hash != b.hash ||
                                           a.bytes != b.bytes)))
        fail("chunking changed the result");
    return 0;
}
