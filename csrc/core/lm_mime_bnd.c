/* lm_mime_bnd.c: the active boundary set (lm_mime_bnd.h). */
#include "lm_mime_bnd.h"

#include <string.h>

void lm_bnd_init(lm_bnd *t, const lm_alloc *a)
{
    memset(t, 0, sizeof *t);
    t->a = *a;
    lm_buf_init(&t->bytes, a, (size_t)-1);
    lm_buf_init(&t->entries, a, (size_t)-1);
}

void lm_bnd_free(lm_bnd *t)
{
    lm_buf_free(&t->bytes);
    lm_buf_free(&t->entries);
    lm_free(&t->a, t->slots, t->nslots * sizeof *t->slots);
    t->slots = NULL;
    t->nslots = 0;
}

size_t lm_bnd_count(const lm_bnd *t)
{
    return lm_buf_size(&t->entries) / sizeof(lm_bnd_entry);
}

static lm_bnd_entry *entry(const lm_bnd *t, size_t i)
{
    return (lm_bnd_entry *)(void *)(t->entries.p + t->entries.off) + i;
}

/* FNV-1a, 64 bits. */
static uint64_t hash(const char *s, size_t n)
{
    uint64_t h = UINT64_C(14695981039346656037);
    size_t i;
    for (i = 0; i < n; i++) {
        h ^= (unsigned char)s[i];
        h *= UINT64_C(1099511628211);
    }
    return h;
}

static int same(const lm_bnd *t, const lm_bnd_entry *e, const char *s, size_t n)
{
    return e->len == n && memcmp(t->bytes.p + t->bytes.off + e->off, s, n) == 0;
}

/* The slot holding s, or the empty slot where it would go. */
static size_t probe(lm_bnd *t, const char *s, size_t n)
{
    size_t mask = t->nslots - 1, i = (size_t)hash(s, n) & mask;
    t->work += n;
    while (t->slots[i] && !same(t, entry(t, t->slots[i] - 1), s, n)) {
        t->work += n;
        i = (i + 1) & mask;
    }
    return i;
}

/* Rebuilds the table with twice the slots (in stack order, so shadowing
 * is rebuilt as it was). */
static int grow(lm_bnd *t)
{
    size_t nn = t->nslots ? t->nslots * 2 : 16, k = lm_bnd_count(t), i;
    size_t *ns = lm_malloc(&t->a, nn * sizeof *ns);
    if (!ns)
        return LM_ENOMEM;
    memset(ns, 0, nn * sizeof *ns);
    lm_free(&t->a, t->slots, t->nslots * sizeof *t->slots);
    t->slots = ns;
    t->nslots = nn;
    for (i = 0; i < k; i++) {
        lm_bnd_entry *e = entry(t, i);
        size_t s = probe(t, (const char *)t->bytes.p + t->bytes.off + e->off, e->len);
        e->slot = s;
        t->slots[s] = i + 1;
    }
    return LM_OK;
}

int lm_bnd_push(lm_bnd *t, const char *s, size_t n, size_t owner)
{
    lm_bnd_entry e;
    size_t slot, k = lm_bnd_count(t);
    int rc;
    if ((k + 1) * 2 > t->nslots && (rc = grow(t)) != LM_OK)
        return rc;
    e.off = lm_buf_size(&t->bytes);
    e.len = n;
    e.owner = owner;
    if ((rc = lm_buf_append(&t->bytes, s, n)) != LM_OK)
        return rc;
    slot = probe(t, s, n);
    e.shadow = t->slots[slot];
    e.slot = slot;
    if ((rc = lm_buf_append(&t->entries, &e, sizeof e)) != LM_OK) {
        t->bytes.len -= n;
        return rc;
    }
    t->slots[slot] = k + 1;
    return LM_OK;
}

size_t lm_bnd_top_owner(const lm_bnd *t)
{
    return entry(t, lm_bnd_count(t) - 1)->owner;
}

void lm_bnd_pop(lm_bnd *t)
{
    size_t k = lm_bnd_count(t);
    lm_bnd_entry *e = entry(t, k - 1);
    t->slots[e->slot] = e->shadow;
    t->bytes.len = t->bytes.off + e->off;
    t->entries.len -= sizeof *e;
}

int lm_bnd_find(lm_bnd *t, const char *s, size_t n, size_t *owner)
{
    size_t slot;
    if (!lm_bnd_count(t))
        return 0;
    slot = probe(t, s, n);
    if (!t->slots[slot])
        return 0;
    *owner = entry(t, t->slots[slot] - 1)->owner;
    return 1;
}
