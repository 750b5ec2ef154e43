/* lm_pop3.h: the POP3 client engine (RFC 1939; CAPA RFC 2449; STLS RFC
 * 2595; AUTH RFC 5034), sans I/O (DESIGN.md section 3).
 *
 * The engine is fed the server's bytes (lm_pop3_feed), hands back events
 * (lm_pop3_next_event) and queues the bytes of the commands it is asked for
 * (lm_pop3_cmd_*, read them with lm_pop3_pending and lm_pop3_consume). It
 * never blocks, reads no clock and calls no callback; the caller (the Lua
 * session) moves bytes and decides what to do next.
 *
 * What the engine enforces (invariants; the caller cannot get around them):
 * - States (RFC 1939 3): GREETING -> AUTHORIZATION -> TRANSACTION ->
 *   UPDATE; CLOSED after QUIT or a refused greeting. A command not allowed
 *   in the current state is refused with LM_ESTATE and nothing is queued:
 *   STAT before login, PASS without an accepted USER, APOP without a valid
 *   greeting timestamp, a second STLS, anything after QUIT.
 * - Pipelining (RFC 2449 6.6): a command may be queued while others wait
 *   for their responses only in TRANSACTION and only when the last CAPA
 *   advertised PIPELINING; at most opts.max_pipeline are outstanding.
 * - Arguments: CR, LF and NUL are refused (LM_EINVAL); a command line longer
 *   than 255 octets with its CRLF is refused (LM_ETOOLONG, RFC 2449 4);
 *   message numbers are 1..LM_POP3_MAX_NUMBER.
 * - Responses: a status line starts "+OK" or "-ERR" followed by SP or the
 *   line end; lines end only at CRLF; a line longer than opts.max_line is
 *   LM_ETOOLONG. Multi-line responses end at a "." line and are
 *   dot-unstuffed exactly once (RFC 1939 3): message bodies (RETR, TOP) by
 *   lm_dot's reader, which never takes a bare LF for a line end, lists
 *   (LIST, UIDL, CAPA) line by line. A body longer than opts.max_body bytes
 *   and a list longer than opts.max_entries lines are LM_ETOOLONG.
 * - Numbers (STAT, LIST, single-line UIDL) are decimal digits only, at most
 *   LM_POP3_MAX_NUMBER; message numbers in a listing are >= 1 and strictly
 *   increasing; a single-line LIST or UIDL answer must name the message
 *   asked for. UIDs are 1..70 bytes of 0x21..0x7E (RFC 1939 7); they are
 *   chosen by the server and must be treated as untrusted data.
 * - APOP (RFC 1939 7) is possible only when the greeting holds exactly one
 *   "<...>" that is a msg-id of printable ASCII: "<" local "@" domain ">",
 *   no space, at most LM_POP3_TIMESTAMP_MAX bytes. Anything else disables
 *   APOP (the greeting event says whether a malformed one was seen).
 * - STLS (RFC 2595 4): after the +OK to STLS the engine produces nothing
 *   until lm_pop3_stls_begin, which fails with LM_EPROTO when any byte is
 *   buffered past that +OK (a response injected before the handshake,
 *   curl's CVE-2021-22947 class) and otherwise forgets the capabilities,
 *   which must be read again over TLS.
 * - Credentials (PASS, APOP, AUTH answers) are wiped from the engine's
 *   buffers once consumed, and never appear in an error message.
 *
 * Errors are sticky: after any LM_E* from feed or next_event (other than
 * LM_EAGAIN) every later call returns the same code; lm_pop3_error says why
 * and at which input byte. A -ERR is not an error of the engine: it is an
 * event.
 *
 * Memory: the engine allocates through the lm_alloc given to lm_pop3_new
 * (the input buffer, capped at opts.max_buffered; the output buffer; one
 * body chunk buffer of LM_POP3_CHUNK bytes). Event pointers point into the
 * engine and are valid until the next call on it. */
#ifndef LM_POP3_H
#define LM_POP3_H

#include "lm.h"

/* Largest number accepted anywhere (2^53 - 1: exact in every Lua number). */
#define LM_POP3_MAX_NUMBER 9007199254740991ULL
/* Longest UID (RFC 1939 7) and longest APOP timestamp accepted. */
#define LM_POP3_UID_MAX 70
#define LM_POP3_TIMESTAMP_MAX 256
/* Longest command line, CRLF included (RFC 2449 4). */
#define LM_POP3_CMD_MAX 255
/* Most body bytes handed out by one DATA event. */
#define LM_POP3_CHUNK 65536
/* Hard ceiling of opts.max_pipeline. */
#define LM_POP3_QUEUE_MAX 256

enum {
    LM_POP3_ST_GREETING = 0,   /* waiting for the server's greeting */
    LM_POP3_ST_AUTHORIZATION,  /* RFC 1939 4 */
    LM_POP3_ST_TRANSACTION,    /* RFC 1939 5 */
    LM_POP3_ST_UPDATE,         /* RFC 1939 6: QUIT sent from TRANSACTION */
    LM_POP3_ST_CLOSED          /* QUIT answered or sent, or greeting refused */
};

/* What a response answers. */
enum {
    LM_POP3_CMD_GREETING = 0,
    LM_POP3_CMD_CAPA,
    LM_POP3_CMD_STLS,
    LM_POP3_CMD_USER,
    LM_POP3_CMD_PASS,
    LM_POP3_CMD_APOP,
    LM_POP3_CMD_AUTH,
    LM_POP3_CMD_STAT,
    LM_POP3_CMD_LIST,
    LM_POP3_CMD_UIDL,
    LM_POP3_CMD_RETR,
    LM_POP3_CMD_TOP,
    LM_POP3_CMD_DELE,
    LM_POP3_CMD_RSET,
    LM_POP3_CMD_NOOP,
    LM_POP3_CMD_QUIT,
    LM_POP3_CMD_COUNT_
};

enum {
    LM_POP3_EV_OK = 1,     /* "+OK": cmd, text, code; STAT: num = count, size =
                              octets; LIST n: num, size; UIDL n: num, arg = UID;
                              multi = 1 when list lines or a body follow */
    LM_POP3_EV_ERR,        /* "-ERR": cmd, text, code */
    LM_POP3_EV_CHALLENGE,  /* "+ " during AUTH: text = the decoded challenge;
                              answer with lm_pop3_auth_reply / _cram_md5 /
                              _cancel before anything else */
    LM_POP3_EV_CAPA,       /* one CAPA line: text = the tag (as sent), arg =
                              its parameters (may be empty) */
    LM_POP3_EV_LIST,       /* one LIST line: num, size (arg: what follows) */
    LM_POP3_EV_UIDL,       /* one UIDL line: num, arg = UID */
    LM_POP3_EV_DATA,       /* body bytes of RETR/TOP: text, len (unstuffed,
                              CRLF kept) */
    LM_POP3_EV_END         /* the multi-line response of cmd is complete */
};

/* Capabilities the engine itself relies on (from the last CAPA). */
enum {
    LM_POP3_CAP_PIPELINING = 1,
    LM_POP3_CAP_STLS = 2,
    LM_POP3_CAP_UIDL = 4,
    LM_POP3_CAP_TOP = 8,
    LM_POP3_CAP_USER = 16,
    LM_POP3_CAP_SASL = 32
};

/* Timestamp status of the greeting. */
enum { LM_POP3_TS_NONE = 0, LM_POP3_TS_VALID, LM_POP3_TS_MALFORMED };

typedef struct lm_pop3_opts {
    size_t max_line;      /* longest response line with CRLF (default 8192) */
    size_t max_buffered;  /* unread input cap (default 1 MiB, >= max_line) */
    uint64_t max_body;    /* RETR/TOP body bytes (default 4 GiB) */
    uint64_t max_entries; /* lines of one LIST/UIDL/CAPA (default 10,000,000) */
    unsigned max_pipeline; /* outstanding commands, 1..LM_POP3_QUEUE_MAX (64) */
} lm_pop3_opts;

typedef struct lm_pop3_event {
    int type;            /* LM_POP3_EV_* */
    int cmd;             /* LM_POP3_CMD_* answered */
    const char *text;    /* see the event types; never NULL */
    size_t len;
    const char *code;    /* RFC 2449 8 response code without "[]", or NULL */
    size_t code_len;
    const char *arg;     /* see the event types; never NULL */
    size_t arg_len;
    uint64_t num;        /* a message number or the STAT count */
    uint64_t size;       /* octets */
    int multi;           /* EV_OK: a multi-line part follows */
} lm_pop3_event;

typedef struct lm_pop3 lm_pop3;

void lm_pop3_opts_default(lm_pop3_opts *o);
/* A new engine waiting for the greeting. o may be NULL (defaults); zero
 * fields take their defaults. LM_OK or LM_ENOMEM. */
int lm_pop3_new(lm_pop3 **p, const lm_pop3_opts *o, const lm_alloc *a);
/* Wipes and frees everything; p may be NULL. */
void lm_pop3_free(lm_pop3 *p);

/* Appends server bytes. LM_ETOOLONG (sticky) when more than max_buffered
 * bytes would wait unread: drain events before feeding more. */
int lm_pop3_feed(lm_pop3 *p, const void *data, size_t n);
/* The next event: LM_OK and *ev; LM_EAGAIN when more input is needed (or
 * when nothing is outstanding, or while an STLS go-ahead waits for
 * lm_pop3_stls_begin, or a challenge for its answer); LM_EPROTO,
 * LM_ETOOLONG, LM_ENOMEM (sticky). */
int lm_pop3_next_event(lm_pop3 *p, lm_pop3_event *ev);
/* Ends the input (the connection closed): LM_OK when no response is
 * outstanding or unfinished, else LM_ECLOSED (sticky; a body that ended
 * before its "." line is never complete). */
int lm_pop3_eof(lm_pop3 *p);

/* Bytes to send: valid until the next call; lm_pop3_consume(n) drops the
 * first n of them once written. */
void lm_pop3_pending(const lm_pop3 *p, const unsigned char **data, size_t *n);
void lm_pop3_consume(lm_pop3 *p, size_t n);

int lm_pop3_state(const lm_pop3 *p);
/* Responses still expected. */
unsigned lm_pop3_outstanding(const lm_pop3 *p);
/* LM_POP3_CAP_* bits from the last CAPA (0 before one, and after STLS). */
unsigned lm_pop3_caps(const lm_pop3 *p);
/* 1 when lm_pop3_stls_begin has run. */
int lm_pop3_tls(const lm_pop3 *p);
/* LM_POP3_TS_*; with VALID, *ts and *n (may be NULL) get the timestamp. */
int lm_pop3_timestamp(const lm_pop3 *p, const char **ts, size_t *n);
/* The sticky error (LM_OK if none), a short reason (never NULL, never a
 * credential) and the input offset where it happened. */
int lm_pop3_error(const lm_pop3 *p, const char **why, uint64_t *offset);

/* Why the last command was refused (LM_ESTATE, LM_EINVAL, LM_ETOOLONG):
 * a static sentence, never a credential. */
const char *lm_pop3_refusal(const lm_pop3 *p);

/* Commands. Each returns LM_OK (queued), LM_ESTATE (not allowed now),
 * LM_EINVAL (bad argument), LM_ETOOLONG (line too long), LM_ENOMEM or the
 * sticky error. */
int lm_pop3_cmd_capa(lm_pop3 *p);
int lm_pop3_cmd_stls(lm_pop3 *p);
/* After the +OK to STLS: LM_OK (start the TLS handshake now, then CAPA
 * again), LM_EPROTO when bytes follow the go-ahead (sticky), LM_ESTATE. */
int lm_pop3_stls_begin(lm_pop3 *p);
int lm_pop3_cmd_user(lm_pop3 *p, const char *name, size_t n);
int lm_pop3_cmd_pass(lm_pop3 *p, const char *pass, size_t n);
/* "APOP name digest", digest = hex MD5(timestamp secret) (RFC 1939 7). */
int lm_pop3_cmd_apop(lm_pop3 *p, const char *name, size_t n, const char *secret,
                     size_t sn);
/* "AUTH mech [initial-response]" (RFC 5034 4). ir is the raw initial
 * response (has_ir = 0: none; an empty one is sent as "="); it goes on the
 * command line when that fits in 255 octets, and otherwise is held (wiped
 * after use) and sent on the server's first, empty, challenge. mech is a
 * SASL name (RFC 4422 3.1: 1..20 of A-Z 0-9 - _). */
int lm_pop3_cmd_auth(lm_pop3 *p, const char *mech, const void *ir, size_t irn,
                     int has_ir);
/* AUTH PLAIN, XOAUTH2 and OAUTHBEARER with their initial response built
 * by lm_sasl (LM_EINVAL for what the mechanism cannot carry). */
int lm_pop3_cmd_auth_plain(lm_pop3 *p, const char *authzid, size_t azn, const char *user,
                           size_t un, const char *pass, size_t pn);
int lm_pop3_cmd_auth_xoauth2(lm_pop3 *p, const char *user, size_t un, const char *token,
                             size_t tn);
int lm_pop3_cmd_auth_oauthbearer(lm_pop3 *p, const char *user, size_t un, const char *host,
                                 size_t hn, unsigned port, const char *token, size_t tn);
/* Answers the challenge of the last LM_POP3_EV_CHALLENGE: with data (sent
 * base64-encoded, treated as a secret), with the CRAM-MD5 answer computed
 * from that challenge (RFC 2195), or with "*" (RFC 5034 4: cancel). */
int lm_pop3_auth_reply(lm_pop3 *p, const void *data, size_t n);
int lm_pop3_auth_cram_md5(lm_pop3 *p, const char *user, size_t un, const char *pass,
                          size_t pn);
int lm_pop3_auth_cancel(lm_pop3 *p);
int lm_pop3_cmd_stat(lm_pop3 *p);
/* n = 0: the whole listing (multi-line); n >= 1: that message. */
int lm_pop3_cmd_list(lm_pop3 *p, uint64_t n);
int lm_pop3_cmd_uidl(lm_pop3 *p, uint64_t n);
int lm_pop3_cmd_retr(lm_pop3 *p, uint64_t n);
int lm_pop3_cmd_top(lm_pop3 *p, uint64_t n, uint64_t lines);
int lm_pop3_cmd_dele(lm_pop3 *p, uint64_t n);
int lm_pop3_cmd_rset(lm_pop3 *p);
int lm_pop3_cmd_noop(lm_pop3 *p);
int lm_pop3_cmd_quit(lm_pop3 *p);

/* "AUTHORIZATION" ... for a state; "RETR" ... for a command. */
const char *lm_pop3_state_name(int state);
const char *lm_pop3_cmd_name(int cmd);

/* ---- parsers (lm_pop3_parse.c), exposed for tests ---- */

typedef struct lm_pop3_status {
    int kind;          /* LM_POP3_EV_OK, LM_POP3_EV_ERR, LM_POP3_EV_CHALLENGE */
    const char *text;  /* after "+OK " / "-ERR " / "+ " */
    size_t len;
    const char *code;  /* response code or NULL */
    size_t code_len;
} lm_pop3_status;

/* A status line (without CRLF). LM_OK or LM_EPROTO. "+" alone or "+ ..."
 * is a challenge only when challenge_ok. */
int lm_pop3_parse_status(const char *line, size_t n, int challenge_ok, lm_pop3_status *st);
/* All of s[0..n) as a decimal number <= LM_POP3_MAX_NUMBER (digits only,
 * at least one). LM_OK or LM_EPROTO. */
int lm_pop3_parse_number(const char *s, size_t n, uint64_t *v);
/* "a SP b" optionally followed by SP and anything (rest_ok), where a and b
 * are numbers as above. *rest and *rest_len get what follows b's SP (may be
 * NULL). LM_OK or LM_EPROTO. */
int lm_pop3_parse_pair(const char *s, size_t n, int rest_ok, uint64_t *a, uint64_t *b,
                       const char **rest, size_t *rest_len);
/* "n SP uid": LM_OK or LM_EPROTO. */
int lm_pop3_parse_uid_line(const char *s, size_t n, uint64_t *num, const char **uid,
                           size_t *uid_len);
/* LM_OK when s is a valid UID (1..70 bytes of 0x21..0x7E). */
int lm_pop3_check_uid(const char *s, size_t n);
/* The APOP timestamp of a greeting text: LM_POP3_TS_* (see above). */
int lm_pop3_find_timestamp(const char *text, size_t n, const char **ts, size_t *tslen);
/* LM_OK when s is a SASL mechanism name (RFC 4422 3.1). */
int lm_pop3_check_mech(const char *s, size_t n);
/* One CAPA line: tag (1*0x21..0x7E) and parameters (printable ASCII or
 * tab). LM_OK or LM_EPROTO. */
int lm_pop3_parse_capa(const char *s, size_t n, const char **tag, size_t *tag_len,
                       const char **args, size_t *args_len);

#endif
