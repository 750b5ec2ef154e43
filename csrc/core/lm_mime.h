/* lm_mime.h: the incremental MIME parser (RFC 5322 2.2 and 3.6, RFC 2045,
 * RFC 2046 5.1 multipart and 5.2.1 message/rfc822).
 *
 * The parser is an engine (DESIGN.md 3): fed bytes in chunks of any size,
 * it hands back events one at a time and never blocks or calls back. The
 * same input fed whole, byte by byte or in any chunks gives the same events
 * (body data may come in more pieces; its bytes and offsets are the same).
 *
 * Structure. Every entity (the message, each body part, each message inside
 * a message/rfc822 part) gives BEGIN, its header fields (HEADER, unfolded),
 * HEADERS_END, then by kind:
 * - LEAF: its body as BODY pieces;
 * - MULTIPART: PREAMBLE pieces, each part as a nested entity, EPILOGUE
 *   pieces;
 * - MESSAGE: one nested entity (the enclosed message);
 * and then END. DONE follows the END of the root.
 *
 * Delimiters (RFC 2046 5.1.1): a line "--" boundary, optionally "--" (the
 * close delimiter), optional trailing white space (transport padding). The
 * line break before a delimiter belongs to it, not to the body. Matching is
 * exact, against every boundary of the enclosing multiparts at once: a
 * delimiter of an outer multipart ends every inner entity (warning UNCLOSED
 * for an inner multipart that had not been closed). Lines are ended by LF
 * or CRLF. Lookup is by hash, so the work per line is bounded by the line's
 * length whatever the nesting depth: parsing is linear in the input.
 *
 * Content types: the first Content-Type field decides; none (or none that
 * parses) means text/plain, or message/rfc822 inside multipart/digest (RFC
 * 2046 5.1.5). a multipart type needs a boundary parameter (else warning
 * NO_BOUNDARY and the entity is a LEAF). message/rfc822, message/global and
 * message/news and message/external-body (RFC 2046 5.2.3: header fields of
 * the phantom body, then its optional content) bodies are parsed as
 * messages; the other message types (delivery-status, partial, ...) are
 * leaves. A delimiter line right after another one of the same multipart
 * opens no empty part (no CRLF of its own precedes it).
 *
 * Header lines: "Name: value" (white space before the colon accepted, RFC
 * 5322 4.5.3), continuation lines starting with SP or HTAB (RFC 5322 2.2.3;
 * one before any field is dropped with warning CONTINUATION), a leading
 * "From " line of an mbox (dropped; elsewhere warning FROM_LINE). A line
 * that is none of these ends the header block and starts the body (warning
 * NO_SEPARATOR), as an empty line does without warning.
 *
 * Limits (lm_mime_opts): nesting depth, entity count, header bytes of one
 * entity and length of one header line. Passing one is a sticky error
 * (LM_ETOOLONG); the parser never recurses, so no input can exhaust the C
 * stack. LM_ENOMEM is sticky too. */
#ifndef LM_MIME_H
#define LM_MIME_H

#include "lm_buf.h"

typedef struct lm_mime lm_mime;

typedef struct lm_mime_opts {
    size_t max_depth;        /* deepest entity (the message is depth 0); 0: 32 */
    size_t max_parts;        /* entities in all; 0: 1000 */
    size_t max_header_bytes; /* header block of one entity; 0: 256 KiB */
    size_t max_line;         /* one header line, line break included; 0: 64 KiB */
} lm_mime_opts;

#define LM_MIME_DEFAULT_DEPTH 32
#define LM_MIME_DEFAULT_PARTS 1000
#define LM_MIME_DEFAULT_HEADER_BYTES (256 * 1024)
#define LM_MIME_DEFAULT_LINE (64 * 1024)
/* Boundaries longer than this are refused (RFC 2046 5.1.1 allows 70). */
#define LM_MIME_MAX_BOUNDARY 256

enum lm_mime_event_type {
    LM_MIME_BEGIN = 1,   /* offset: where the entity's header starts */
    LM_MIME_HEADER,      /* name[0..name_len), data[0..len): the unfolded value */
    LM_MIME_HEADERS_END, /* kind; data: the content type ("text/plain");
                            offset: where the body starts */
    LM_MIME_BODY,        /* data[0..len) at stream offset `offset` */
    LM_MIME_PREAMBLE,    /* as BODY */
    LM_MIME_EPILOGUE,    /* as BODY */
    LM_MIME_END,         /* offset: where the entity's body ends */
    LM_MIME_WARNING,     /* warning (LM_MIME_W_*), offset: where */
    LM_MIME_DONE
};

enum lm_mime_kind { LM_MIME_LEAF = 1, LM_MIME_MULTIPART, LM_MIME_MESSAGE };

enum lm_mime_warning {
    LM_MIME_W_NO_SEPARATOR = 1, /* the header block ended with a non-header line */
    LM_MIME_W_CONTINUATION,     /* a continuation line before any field */
    LM_MIME_W_FROM_LINE,        /* a "From " line among the header fields */
    LM_MIME_W_BAD_HEADER,       /* a field with an empty name */
    LM_MIME_W_NO_BOUNDARY,      /* multipart without a usable boundary parameter */
    LM_MIME_W_NO_DELIMITER,     /* multipart body without any delimiter line */
    LM_MIME_W_UNCLOSED,         /* multipart without its close delimiter */
    LM_MIME_W_NO_BODY,          /* a delimiter came before the end of the header */
    LM_MIME_W_LAST_
};

typedef struct lm_mime_event {
    int type;
    int kind;             /* HEADERS_END */
    int warning;          /* WARNING */
    size_t depth;         /* of the entity the event belongs to */
    const char *name;     /* HEADER */
    size_t name_len;
    const char *data;     /* see the event types */
    size_t len;
    uint64_t offset;      /* stream offset, see the event types */
} lm_mime_event;

/* A new parser in *p; opts may be NULL (defaults). LM_ENOMEM. */
int lm_mime_new(lm_mime **p, const lm_mime_opts *opts, const lm_alloc *a);
void lm_mime_free(lm_mime *p);
/* Appends n input bytes (copied). LM_ESTATE after lm_mime_finish;
 * LM_ENOMEM; the sticky error if the parser failed. */
int lm_mime_feed(lm_mime *p, const void *data, size_t n);
/* No more input will come. */
int lm_mime_finish(lm_mime *p);
/* The next event: LM_OK with *ev (its pointers valid until the next call
 * on p), LM_EAGAIN when more input is needed, or the sticky error
 * (LM_ETOOLONG, LM_ENOMEM). After DONE every call returns DONE again. */
int lm_mime_next(lm_mime *p, lm_mime_event *ev);
/* After a failure: the stream offset where it happened and which limit
 * ("max_depth", "max_parts", "max_header_bytes", "max_line") or NULL. */
uint64_t lm_mime_error_offset(const lm_mime *p, const char **limit);
/* A short English sentence for a warning code; never NULL. */
const char *lm_mime_warning_text(int warning);
/* Total work units spent (bytes examined plus lookups), for tests that
 * prove parsing linear without timing anything. */
uint64_t lm_mime_work(const lm_mime *p);

#endif
