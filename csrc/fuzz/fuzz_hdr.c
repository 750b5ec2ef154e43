/* fuzz_hdr.c: libFuzzer target for the header-field decoders and the
 * encoder (csrc/core/lm_hdr*.c, lm_charset.c). The first byte picks the
 * function; the encoder's output must decode back to its input. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/lm_charset.h"
#include "../core/lm_hdr.h"

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

static void check_records(const lm_buf *b)
{
    size_t pos = 0, n;
    const char *s;
    int rc;
    while ((rc = lm_hdr_rec_next(lm_buf_data(b), lm_buf_size(b), &pos, &s, &n)) == LM_OK)
        ;
    if (rc != LM_EAGAIN)
        abort();
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    lm_alloc a = lm_alloc_libc();
    lm_buf out, back;
    const char *in;
    size_t n, off;
    unsigned warn = 0;
    int64_t t;
    int zone, rc;
    if (size < 1)
        return 0;
    in = (const char *)data + 1;
    n = size - 1;
    lm_buf_init(&out, &a, (size_t)-1);
    lm_buf_init(&back, &a, (size_t)-1);
    switch (data[0] % 7) {
    case 0:
        lm_hdr_decode_words(in, n, &out, &warn);
        if (!lm_utf8_valid(lm_buf_data(&out), lm_buf_size(&out)))
            abort(); /* decoded text is always UTF-8 */
        break;
    case 1:
        if (lm_hdr_params(in, n, data[0] & 8 ? LM_HDR_DISPOSITION : LM_HDR_CTYPE, &out,
                          &warn) == LM_OK)
            check_records(&out);
        break;
    case 2:
        if (lm_hdr_addresses(in, n, &out, &off) == LM_OK)
            check_records(&out);
        else if (off > n)
            abort();
        break;
    case 3:
        lm_hdr_date(in, n, &t, &zone);
        break;
    case 4:
        lm_hdr_unfold(in, n, &out);
        break;
    case 5:
    case 6:
        rc = lm_hdr_encode_words(in, n, NULL, 0, data[0] % 7 == 5 ? LM_HDR_TEXT : LM_HDR_PHRASE,
                                 data[0] >> 3, &out);
        if (rc == LM_OK && data[0] % 7 == 5) {
            if (lm_hdr_decode_words((const char *)lm_buf_data(&out), lm_buf_size(&out), &back,
                                    &warn) != LM_OK ||
                lm_buf_size(&back) != n || memcmp(lm_buf_data(&back), in, n) != 0) {
                fprintf(stderr, "fuzz_hdr: encode/decode round trip differs\n");
                abort();
            }
        }
        break;
    }
    lm_buf_free(&out);
    lm_buf_free(&back);
    return 0;
}
