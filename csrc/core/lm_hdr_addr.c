/* lm_hdr_addr.c: the RFC 5322 3.4 address-list parser, with the obsolete
 * forms of RFC 5322 4.4 (lm_hdr.h). One pass, no backtracking: linear. */
#include "lm_hdr_lex.h"

#include <string.h>

enum { W_ATOM, W_QSTR, W_DOT, W_DLIT };

typedef struct item {
    int kind;
    int space;       /* white space or a comment came before it */
    size_t off, len; /* text in the scratch bytes */
} item;

typedef struct aparser {
    const char *in;
    size_t n, i;
    lm_buf bytes;   /* word texts */
    lm_buf items;   /* item[] of the words being read */
    lm_buf name;    /* scratch: a display name / group name */
    lm_buf addr;    /* scratch: the address */
    lm_buf cmt;     /* the first comment after a bare address */
    lm_buf group;   /* the current group's decoded name */
    lm_buf *out;
    int rc;
    size_t err;
} aparser;

static int fail(aparser *p)
{
    p->err = p->i < p->n ? p->i : p->n;
    return LM_EINVAL;
}

static int is_special(unsigned char c)
{
    return c == '(' || c == ')' || c == '<' || c == '>' || c == '[' || c == ']' ||
           c == ':' || c == ';' || c == '@' || c == '\\' || c == ',' || c == '.' || c == '"';
}

static int skip(aparser *p, lm_buf *cmt)
{
    int bad = 0;
    p->i = lm_hdr_skip_cfws(p->in, p->n, p->i, &bad, cmt, &p->rc);
    if (bad)
        return fail(p);
    return p->rc;
}

static int push_item(aparser *p, int kind, size_t off, int space)
{
    item it;
    it.kind = kind;
    it.space = space;
    it.off = off;
    it.len = lm_buf_size(&p->bytes) - off;
    return lm_buf_append(&p->items, &it, sizeof it);
}

/* Reads words (atoms, quoted-strings) and dots up to a special that is not
 * a dot, into p->items (cleared first). */
static int read_words(aparser *p)
{
    int rc;
    lm_buf_clear(&p->items);
    lm_buf_clear(&p->bytes);
    for (;;) {
        size_t off = lm_buf_size(&p->bytes), before = p->i;
        unsigned char c;
        int space;
        if ((rc = skip(p, NULL)) != LM_OK)
            return rc;
        space = p->i != before;
        if (p->i >= p->n)
            return LM_OK;
        c = (unsigned char)p->in[p->i];
        if (c == '"') {
            int closed;
            p->i = lm_hdr_quoted(p->in, p->n, p->i, &p->bytes, &closed, &p->rc);
            if (!closed)
                return fail(p);
            if (p->rc != LM_OK)
                return p->rc;
            rc = push_item(p, W_QSTR, off, space);
        } else if (c == '.') {
            p->i++;
            rc = push_item(p, W_DOT, off, space);
        } else if (is_special(c)) {
            return LM_OK;
        } else {
            size_t s = p->i;
            while (p->i < p->n && !is_special((unsigned char)p->in[p->i]) &&
                   !lm_hdr_is_wsp((unsigned char)p->in[p->i]))
                p->i++;
            if ((rc = lm_buf_append(&p->bytes, p->in + s, p->i - s)) != LM_OK)
                return rc;
            rc = push_item(p, W_ATOM, off, space);
        }
        if (rc != LM_OK)
            return rc;
    }
}

static size_t nitems(aparser *p)
{
    return lm_buf_size(&p->items) / sizeof(item);
}

static const item *items(aparser *p)
{
    return (const item *)(const void *)lm_buf_data(&p->items);
}

/* The words as a display name: joined by one space where the input had
 * white space or a comment between them, else glued (obs-phrase "John Q.
 * Public", and dots inside encoded words real mail writes), then RFC
 * 2047-decoded. */
static int phrase_to(aparser *p, lm_buf *dst)
{
    const item *it = items(p);
    size_t k = nitems(p), i;
    unsigned warn = 0;
    int rc;
    lm_buf_clear(&p->name);
    for (i = 0; i < k; i++) {
        if (i > 0 && it[i].space && (rc = lm_buf_append(&p->name, " ", 1)) != LM_OK)
            return rc;
        if (it[i].kind == W_DOT)
            rc = lm_buf_append(&p->name, ".", 1);
        else
            rc = lm_buf_append(&p->name, lm_buf_data(&p->bytes) + it[i].off, it[i].len);
        if (rc != LM_OK)
            return rc;
    }
    lm_buf_clear(dst);
    return lm_hdr_decode_words((const char *)lm_buf_data(&p->name), lm_buf_size(&p->name),
                               dst, &warn);
}

static int is_dot_atom_text(const unsigned char *s, size_t n)
{
    size_t i;
    if (!n || s[0] == '.' || s[n - 1] == '.')
        return 0;
    for (i = 0; i < n; i++) {
        if (s[i] == '.' && s[i + 1] == '.')
            return 0;
        if (s[i] != '.' && (is_special(s[i]) || s[i] <= ' ' || s[i] == 127))
            return 0;
    }
    return 1;
}

/* The words as a local part: word *("." word), CFWS around the dots
 * allowed (obs-local-part). Quoted only when it has to be. */
static int local_part(aparser *p)
{
    const item *it = items(p);
    size_t k = nitems(p), i, start;
    int quoted = 0, rc;
    if (!k)
        return fail(p);
    for (i = 0; i < k; i++) {
        int want_word = (i % 2) == 0;
        if (want_word != (it[i].kind != W_DOT))
            return fail(p); /* "a b@c", "a..b@c", ".a@c" */
        if (it[i].kind == W_QSTR)
            quoted = 1;
    }
    if (it[k - 1].kind == W_DOT)
        return fail(p);
    lm_buf_clear(&p->addr);
    start = lm_buf_size(&p->addr);
    for (i = 0; i < k; i++) {
        rc = it[i].kind == W_DOT
                 ? lm_buf_append(&p->addr, ".", 1)
                 : lm_buf_append(&p->addr, lm_buf_data(&p->bytes) + it[i].off, it[i].len);
        if (rc != LM_OK)
            return rc;
    }
    if (quoted && !is_dot_atom_text(lm_buf_data(&p->addr) + start, lm_buf_size(&p->addr))) {
        /* re-quote: "john doe"@example.com */
        const unsigned char *s = lm_buf_data(&p->addr);
        size_t n = lm_buf_size(&p->addr);
        lm_buf_clear(&p->name);
        if ((rc = lm_buf_append(&p->name, "\"", 1)) != LM_OK)
            return rc;
        for (i = 0; i < n; i++) {
            if ((s[i] == '"' || s[i] == '\\') && (rc = lm_buf_append(&p->name, "\\", 1)) != LM_OK)
                return rc;
            if ((rc = lm_buf_append(&p->name, s + i, 1)) != LM_OK)
                return rc;
        }
        if ((rc = lm_buf_append(&p->name, "\"", 1)) != LM_OK)
            return rc;
        lm_buf_clear(&p->addr);
        return lm_buf_append(&p->addr, lm_buf_data(&p->name), lm_buf_size(&p->name));
    }
    return LM_OK;
}

/* After "@": dot-atom, obs-domain (CFWS around dots) or a domain-literal. */
static int domain(aparser *p)
{
    int rc, want_atom = 1;
    if ((rc = lm_buf_append(&p->addr, "@", 1)) != LM_OK || (rc = skip(p, NULL)) != LM_OK)
        return rc;
    if (p->i < p->n && p->in[p->i] == '[') {
        size_t s = p->i;
        while (p->i < p->n && p->in[p->i] != ']') {
            if (p->in[p->i] == '[' && p->i > s)
                return fail(p);
            if (p->in[p->i] == '\\')
                p->i++;
            p->i++;
        }
        if (p->i >= p->n)
            return fail(p);
        p->i++;
        return lm_buf_append(&p->addr, p->in + s, p->i - s);
    }
    for (;;) {
        unsigned char c;
        if (p->i >= p->n)
            break;
        c = (unsigned char)p->in[p->i];
        if (c == '.') {
            if (want_atom)
                return fail(p);
            p->i++;
            want_atom = 1;
            if ((rc = lm_buf_append(&p->addr, ".", 1)) != LM_OK)
                return rc;
        } else if (!is_special(c) && !lm_hdr_is_wsp(c)) {
            size_t s = p->i;
            if (!want_atom)
                return fail(p); /* "a@b c" */
            while (p->i < p->n && !is_special((unsigned char)p->in[p->i]) &&
                   !lm_hdr_is_wsp((unsigned char)p->in[p->i]))
                p->i++;
            if ((rc = lm_buf_append(&p->addr, p->in + s, p->i - s)) != LM_OK)
                return rc;
            want_atom = 0;
        } else {
            size_t save = p->i;
            if ((rc = skip(p, NULL)) != LM_OK)
                return rc;
            if (p->i < p->n && p->in[p->i] == '.' && !want_atom)
                continue;
            if (p->i < p->n && !is_special((unsigned char)p->in[p->i]) && want_atom)
                continue;
            p->i = save;
            break;
        }
    }
    return want_atom ? fail(p) : LM_OK;
}

static int emit(aparser *p, lm_buf *name)
{
    int rc;
    if ((rc = lm_hdr_rec_put(p->out, lm_buf_data(name), lm_buf_size(name))) != LM_OK ||
        (rc = lm_hdr_rec_put(p->out, lm_buf_data(&p->addr), lm_buf_size(&p->addr))) != LM_OK)
        return rc;
    return lm_hdr_rec_put(p->out, lm_buf_data(&p->group), lm_buf_size(&p->group));
}

/* "<" [obs-route] addr-spec ">", at p->in[p->i] == '<'. */
static int angle_addr(aparser *p)
{
    int rc;
    p->i++;
    if ((rc = skip(p, NULL)) != LM_OK)
        return rc;
    lm_buf_clear(&p->addr);
    if (p->i < p->n && p->in[p->i] == '>') { /* <>: the null path */
        p->i++;
        return LM_OK;
    }
    if (p->i < p->n && p->in[p->i] == '@') {
        /* obs-route: "@a,@b:" before the address is dropped (RFC 5322 4.4) */
        while (p->i < p->n && p->in[p->i] != ':' && p->in[p->i] != '>')
            p->i++;
        if (p->i >= p->n || p->in[p->i] != ':')
            return fail(p);
        p->i++;
    }
    if ((rc = read_words(p)) != LM_OK)
        return rc;
    if (p->i < p->n && p->in[p->i] == '@') {
        if ((rc = local_part(p)) != LM_OK)
            return rc;
        p->i++;
        if ((rc = domain(p)) != LM_OK || (rc = skip(p, NULL)) != LM_OK)
            return rc;
    } else if ((rc = local_part(p)) != LM_OK) {
        return rc;
    }
    if (p->i >= p->n || p->in[p->i] != '>')
        return fail(p); /* "<a@b@c>", "<a@b" */
    p->i++;
    return LM_OK;
}

/* One mailbox (or, outside a group, a group) up to the next ',' or ';' or
 * the end. */
static int address(aparser *p, int in_group)
{
    int rc;
    unsigned char c;
    if ((rc = read_words(p)) != LM_OK)
        return rc;
    c = p->i < p->n ? (unsigned char)p->in[p->i] : 0;
    if (c == '<') {
        lm_buf dname;
        lm_buf_init(&dname, &p->out->a, (size_t)-1);
        rc = phrase_to(p, &dname);
        if (rc == LM_OK)
            rc = angle_addr(p);
        if (rc == LM_OK)
            rc = emit(p, &dname);
        lm_buf_free(&dname);
        return rc;
    }
    if (c == ':') {
        if (in_group)
            return fail(p); /* RFC 5322 3.4: groups do not nest */
        if (!nitems(p))
            return fail(p);
        if ((rc = phrase_to(p, &p->group)) != LM_OK)
            return rc;
        p->i++;
        for (;;) {
            if ((rc = skip(p, NULL)) != LM_OK)
                return rc;
            if (p->i >= p->n)
                break; /* "undisclosed-recipients:" without ';', seen in real mail */
            c = (unsigned char)p->in[p->i];
            if (c == ';') {
                p->i++;
                break;
            }
            if (c == ',') {
                p->i++;
                continue;
            }
            if ((rc = address(p, 1)) != LM_OK)
                return rc;
            if ((rc = skip(p, NULL)) != LM_OK)
                return rc;
            if (p->i < p->n && p->in[p->i] != ',' && p->in[p->i] != ';')
                return fail(p);
        }
        lm_buf_clear(&p->group);
        return LM_OK;
    }
    if (c == '@') {
        if ((rc = local_part(p)) != LM_OK)
            return rc;
        p->i++;
        if ((rc = domain(p)) != LM_OK)
            return rc;
    } else if (nitems(p) == 0) {
        return LM_OK; /* an empty element (obs-addr-list) */
    } else if ((rc = local_part(p)) != LM_OK) {
        return rc; /* "Alice Smith" alone: a name with no address */
    }
    /* addr-spec [CFWS]: a comment after a bare address is its name */
    lm_buf_clear(&p->cmt);
    if ((rc = skip(p, &p->cmt)) != LM_OK)
        return rc;
    {
        unsigned warn = 0;
        lm_buf_clear(&p->name);
        rc = lm_hdr_decode_words((const char *)lm_buf_data(&p->cmt), lm_buf_size(&p->cmt),
                                 &p->name, &warn);
        if (rc == LM_OK)
            rc = emit(p, &p->name);
    }
    return rc;
}

static int address_list(aparser *p)
{
    int rc;
    for (;;) {
        if ((rc = skip(p, NULL)) != LM_OK)
            return rc;
        if (p->i >= p->n)
            return LM_OK;
        if (p->in[p->i] == ',') {
            p->i++;
            continue;
        }
        if ((rc = address(p, 0)) != LM_OK)
            return rc;
        if ((rc = skip(p, NULL)) != LM_OK)
            return rc;
        if (p->i < p->n && p->in[p->i] != ',')
            return fail(p); /* "a@b c@d", "a@b@c", "<a@b> x" */
    }
}

int lm_hdr_addresses(const char *in, size_t n, lm_buf *out, size_t *err_off)
{
    aparser p;
    int rc;
    memset(&p, 0, sizeof p);
    p.in = in;
    p.n = n;
    p.out = out;
    lm_buf_init(&p.bytes, &out->a, (size_t)-1);
    lm_buf_init(&p.items, &out->a, (size_t)-1);
    lm_buf_init(&p.name, &out->a, (size_t)-1);
    lm_buf_init(&p.addr, &out->a, (size_t)-1);
    lm_buf_init(&p.cmt, &out->a, (size_t)-1);
    lm_buf_init(&p.group, &out->a, (size_t)-1);
    rc = address_list(&p);
    if (rc == LM_OK)
        rc = p.rc;
    if (rc == LM_EINVAL && err_off)
        *err_off = p.err;
    lm_buf_free(&p.bytes);
    lm_buf_free(&p.items);
    lm_buf_free(&p.name);
    lm_buf_free(&p.addr);
    lm_buf_free(&p.cmt);
    lm_buf_free(&p.group);
    return rc;
}
