/* lm_line.c: the CRLF line framer (lm_line.h). */
#include "lm_line.h"

#include <string.h>

void lm_line_init(lm_line *f, const lm_alloc *a, size_t max_line, size_t max_buffered)
{
    if (max_line < 2)
        max_line = 2;
    if (max_buffered < max_line)
        max_buffered = max_line;
    lm_buf_init(&f->in, a, max_buffered);
    f->max_line = max_line;
    f->scanned = 0;
    f->held = 0;
}

/* Consumes the line handed out by the previous lm_line_next. */
static void release(lm_line *f)
{
    if (f->held) {
        lm_buf_consume(&f->in, f->held);
        f->held = 0;
        f->scanned = 0;
    }
}

int lm_line_feed(lm_line *f, const void *data, size_t n)
{
    release(f);
    return lm_buf_append(&f->in, data, n);
}

int lm_line_next(lm_line *f, const char **line, size_t *len, int *bare_lf)
{
    const unsigned char *p, *lf;
    size_t n, limit;

    release(f);
    p = lm_buf_data(&f->in);
    n = lm_buf_size(&f->in);
    limit = n < f->max_line ? n : f->max_line;
    lf = f->scanned < limit ? memchr(p + f->scanned, '\n', limit - f->scanned) : NULL;
    if (!lf) {
        f->scanned = limit;
        return n >= f->max_line ? LM_ETOOLONG : LM_EAGAIN;
    }
    f->held = (size_t)(lf - p) + 1;
    *bare_lf = !(lf > p && lf[-1] == '\r');
    *len = f->held - (*bare_lf ? 1 : 2);
    *line = (const char *)p;
    return LM_OK;
}

size_t lm_line_buffered(const lm_line *f)
{
    return lm_buf_size(&f->in) - f->held;
}

void lm_line_raw(lm_line *f, const unsigned char **data, size_t *n)
{
    release(f);
    *data = lm_buf_data(&f->in);
    *n = lm_buf_size(&f->in);
}

void lm_line_consume_raw(lm_line *f, size_t n)
{
    release(f);
    lm_buf_consume(&f->in, n);
    f->scanned = 0;
}

void lm_line_clear(lm_line *f)
{
    lm_buf_clear(&f->in);
    f->held = 0;
    f->scanned = 0;
}

void lm_line_free(lm_line *f)
{
    lm_buf_free(&f->in);
    f->held = 0;
    f->scanned = 0;
}
