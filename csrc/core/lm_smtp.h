/* lm_smtp.h: the sans-IO SMTP client engine (RFC 5321 with the extensions
 * of RFC 1870 SIZE, 2034/3463 enhanced status codes, 2920 PIPELINING, 3030
 * CHUNKING, 3207 STARTTLS, 3461 DSN, 4954 AUTH, 6152 8BITMIME, 6531
 * SMTPUTF8). It never blocks, never reads a clock and never calls back:
 * the caller feeds server bytes (lm_smtp_feed), pulls replies
 * (lm_smtp_next_event), queues commands (lm_smtp_cmd_*) and writes what
 * lm_smtp_pending hands out.
 *
 * Invariants kept here (policy - dialogue order, mechanism choice, TLS
 * policy, retries - is the caller's):
 * - Every argument that becomes part of a command line is checked first:
 *   CR, LF, NUL and other control characters are refused (LM_EINVAL) and
 *   nothing is queued, so no command can be injected.
 * - A command is refused (LM_ESTATE) when the protocol forbids it now: before
 *   the greeting, anything but EHLO/HELO/RSET/NOOP/QUIT before a successful
 *   EHLO/HELO (and again after STARTTLS), a second command while a reply is
 *   outstanding unless the server offered PIPELINING, any command after one
 *   that must end a pipelined group (RFC 2920 3.1: EHLO, HELO, DATA, VRFY,
 *   NOOP, QUIT, AUTH, STARTTLS) until its replies are in, anything while the
 *   message body or an AUTH exchange is under way.
 * - Each reply is matched to the command it answers; a reply nobody asked
 *   for is a protocol error (except 421, which a server may send at any
 *   time before it closes: RFC 5321 3.8). 354 answers only DATA and 334 only
 *   AUTH; any other 3xx is a protocol error.
 * - Replies are parsed exactly (RFC 5321 4.2: three digits, '-' or ' ' or
 *   the end of the line, the same code on every line, CRLF only) within
 *   limits on line length, number of lines and total bytes.
 * - The body goes through the dot-stuffer (DATA, lm_dot) or the CRLF
 *   normaliser (BDAT, lm_eol), so no bare CR or LF reaches the server and a
 *   body can never end the DATA early (SMTP smuggling, CVE-2023-51764).
 * - STARTTLS (RFC 3207 4): lm_smtp_starttls_begin fails when any byte came
 *   after the 220 go-ahead (response injection, CVE-2021-22947 family), and
 *   forgets the capabilities learned in clear.
 * Any error other than LM_EINVAL/LM_ESTATE from a command call is sticky:
 * the engine stays failed and every later call returns the same code.
 *
 * Memory: every buffer is allocated through the lm_alloc given to
 * lm_smtp_new and bounded by the options; lm_smtp_free returns everything.
 * Output that carried a secret (AUTH) is wiped when consumed. */
#ifndef LM_SMTP_H
#define LM_SMTP_H

#include "lm.h"

typedef struct lm_smtp lm_smtp;

/* Limits (0 in a field: the default). */
typedef struct lm_smtp_opts {
    size_t max_line;        /* longest reply line with CRLF (default 2048; RFC 5321
                               4.5.3.1.5 says 512, real servers go beyond) */
    size_t max_reply_lines; /* lines in one reply (default 256) */
    size_t max_reply_bytes; /* bytes in one reply (default 65536) */
    size_t max_pending;     /* queued output and outstanding commands (default 4 MiB) */
    int allow_bare_lf;      /* accept replies ending in a bare LF (default: EPROTO) */
} lm_smtp_opts;

/* What a reply answers (lm_smtp_reply.cmd); lm_smtp_cmd_name gives "EHLO"... */
enum {
    LM_SMTP_CMD_NONE = 0, /* an unsolicited 421 */
    LM_SMTP_CMD_GREETING,
    LM_SMTP_CMD_EHLO,
    LM_SMTP_CMD_HELO,
    LM_SMTP_CMD_MAIL,
    LM_SMTP_CMD_RCPT,
    LM_SMTP_CMD_DATA,     /* the 354 (or refusal) answering DATA */
    LM_SMTP_CMD_DATA_END, /* the reply after the final "." */
    LM_SMTP_CMD_BDAT,     /* a BDAT chunk that is not the last */
    LM_SMTP_CMD_BDAT_LAST,
    LM_SMTP_CMD_RSET,
    LM_SMTP_CMD_NOOP,
    LM_SMTP_CMD_VRFY,
    LM_SMTP_CMD_QUIT,
    LM_SMTP_CMD_STARTTLS,
    LM_SMTP_CMD_AUTH,     /* AUTH and every answer to a 334 */
    LM_SMTP_CMD_COUNT_
};

/* The engine's states; lm_smtp_state_name gives "READY"... */
enum {
    LM_SMTP_ST_GREETING = 0, /* waiting for the server's greeting */
    LM_SMTP_ST_HELLO,        /* greeted (or TLS begun): EHLO/HELO needed */
    LM_SMTP_ST_READY,        /* commands allowed */
    LM_SMTP_ST_DATA_WAIT,    /* DATA sent, its reply not in yet */
    LM_SMTP_ST_BODY,         /* 354 received: the body goes now */
    LM_SMTP_ST_AUTH_WAIT,    /* AUTH or a response sent, reply not in yet */
    LM_SMTP_ST_AUTH_CONT,    /* 334 received: an answer (or "*") goes now */
    LM_SMTP_ST_TLS_WAIT,     /* STARTTLS sent, reply not in yet */
    LM_SMTP_ST_TLS_READY,    /* 220 to STARTTLS: the handshake comes next */
    LM_SMTP_ST_QUIT,         /* QUIT sent */
    LM_SMTP_ST_FAILED,       /* a sticky error */
    LM_SMTP_ST_COUNT_
};

/* Extension flags (lm_smtp_has), from the last successful EHLO. */
enum {
    LM_SMTP_EXT_PIPELINING = 1 << 0,
    LM_SMTP_EXT_SIZE = 1 << 1,
    LM_SMTP_EXT_8BITMIME = 1 << 2,
    LM_SMTP_EXT_SMTPUTF8 = 1 << 3,
    LM_SMTP_EXT_DSN = 1 << 4,
    LM_SMTP_EXT_CHUNKING = 1 << 5,
    LM_SMTP_EXT_ENHANCEDSTATUSCODES = 1 << 6,
    LM_SMTP_EXT_STARTTLS = 1 << 7,
    LM_SMTP_EXT_AUTH = 1 << 8,
    LM_SMTP_EXT_BINARYMIME = 1 << 9
};

/* One reply. The pointers go into the engine and stay valid until the next
 * call on it. text is every line's text (after "xyz-" / "xyz "), with the
 * enhanced status code and its space taken off each line that starts with
 * it, the lines joined by '\n'. enhanced is "" when the first line has none
 * (RFC 3463 2: class "." subject "." detail, the class matching the reply
 * code's first digit). */
typedef struct lm_smtp_reply {
    int code;
    int cmd;
    int lines;
    char enhanced[16];
    const char *text;
    size_t text_len;
} lm_smtp_reply;

/* LM_OK, LM_ENOMEM. *out owns nothing until then. */
int lm_smtp_new(lm_smtp **out, const lm_smtp_opts *opts, const lm_alloc *a);
void lm_smtp_free(lm_smtp *s);

/* Appends server bytes. LM_ETOOLONG when more than a reply's worth would
 * wait unread; LM_EPROTO when bytes arrive after the STARTTLS go-ahead. */
int lm_smtp_feed(lm_smtp *s, const void *data, size_t n);
/* The next whole reply: LM_OK and *r, LM_EAGAIN (feed more), or a sticky
 * LM_EPROTO / LM_ETOOLONG. */
int lm_smtp_next_event(lm_smtp *s, lm_smtp_reply *r);
/* Replies still expected for the commands queued so far. */
size_t lm_smtp_outstanding(const lm_smtp *s);

/* Output. *p points into the engine until the next call; consume what was
 * written. */
void lm_smtp_pending(const lm_smtp *s, const unsigned char **p, size_t *n);
void lm_smtp_consume(lm_smtp *s, size_t n);

/* Commands. name: the EHLO/HELO domain or address literal (printable
 * ASCII, no spaces). addr: a path without the angle brackets ("" is the
 * null reverse-path, MAIL only); no controls, spaces (outside a quoted
 * local part), '<' or '>'; 8-bit bytes allowed (SMTPUTF8 is the caller's
 * to ask for). params: "" or space-separated esmtp-params (RFC 5321 4.1.2:
 * keyword ["=" value], value bytes 33..126 except '=', or 8-bit). Each
 * returns LM_OK, LM_EINVAL (bad argument, nothing queued), LM_ESTATE (not
 * allowed now, nothing queued), LM_ETOOLONG / LM_ENOMEM (sticky). */
int lm_smtp_cmd_ehlo(lm_smtp *s, const char *name, size_t n);
int lm_smtp_cmd_helo(lm_smtp *s, const char *name, size_t n);
int lm_smtp_cmd_mail(lm_smtp *s, const char *addr, size_t an, const char *params,
                     size_t pn);
int lm_smtp_cmd_rcpt(lm_smtp *s, const char *addr, size_t an, const char *params,
                     size_t pn);
int lm_smtp_cmd_data(lm_smtp *s);
int lm_smtp_cmd_rset(lm_smtp *s);
int lm_smtp_cmd_noop(lm_smtp *s);
/* arg: a user name or address: printable, no controls. */
int lm_smtp_cmd_vrfy(lm_smtp *s, const char *arg, size_t n);
int lm_smtp_cmd_quit(lm_smtp *s);
int lm_smtp_cmd_starttls(lm_smtp *s);
/* AUTH mech [initial-response] (RFC 4954 4): the raw initial response is
 * base64-encoded here ("=" when has_initial and n == 0). mech: 1..20 of
 * A-Z 0-9 - _ (RFC 4422 3.1). */
int lm_smtp_cmd_auth(lm_smtp *s, const char *mech, size_t mn, const void *initial,
                     size_t n, int has_initial);
/* The answer to a 334: raw bytes, base64-encoded onto the line. */
int lm_smtp_cmd_auth_response(lm_smtp *s, const void *data, size_t n);
/* "*": gives up the exchange (the server answers 501). */
int lm_smtp_cmd_auth_cancel(lm_smtp *s);

/* DATA body (only in LM_SMTP_ST_BODY). Writes the stuffed, CRLF-normalised
 * bytes of in into out, which must hold LM_SMTP_BODY_BOUND(n); with final,
 * also the end of the body (CRLF when missing, ".\r\n"), after which the
 * reply DATA_END is expected. The bytes go to the caller, not to
 * lm_smtp_pending, so pending output must be empty (LM_ESTATE). */
#define LM_SMTP_BODY_BOUND(n) (2 * (n) + 5)
int lm_smtp_body(lm_smtp *s, const void *in, size_t n, int final, void *out,
                 size_t *outlen);

/* BDAT (RFC 3030 2, only with CHUNKING): out (LM_SMTP_BDAT_BOUND(n) bytes)
 * gets the CRLF-normalised chunk, and with last the line break that ends
 * the message when it does not end in one; then "BDAT <size>[ LAST]\r\n"
 * for exactly those bytes is queued in the pending output, which the caller
 * writes before out. A chunk that is already clean (see lm_smtp_clean)
 * need not be copied: with out == NULL, in is taken as is (LM_EINVAL if it
 * is not clean), and *outlen is 0 or 2 when a final CRLF must follow it. */
#define LM_SMTP_BDAT_BOUND(n) (2 * (n) + 2)
int lm_smtp_bdat(lm_smtp *s, const void *in, size_t n, int last, void *out,
                 size_t *outlen);
/* 1 when the BDAT normaliser would leave p[0..n) unchanged at this point
 * of the body: every CR is followed by LF and every LF follows a CR. With
 * dots, also no line (the first one included when the body is at a line
 * start) starts with '.'. */
int lm_smtp_clean(const lm_smtp *s, const void *p, size_t n, int dots);

/* After the 220 answering STARTTLS: LM_OK when nothing is buffered past it
 * (the TLS handshake may start; the capabilities are forgotten and EHLO is
 * needed again), LM_EPROTO (sticky) when bytes follow it, LM_ESTATE in any
 * other state. */
int lm_smtp_starttls_begin(lm_smtp *s);

/* Capabilities of the last successful EHLO. */
unsigned lm_smtp_has(const lm_smtp *s, unsigned ext);
/* The SIZE limit (RFC 1870 4): 0 when none is stated. */
uint64_t lm_smtp_size_limit(const lm_smtp *s);
/* 1 when mech (case-insensitive) is among the AUTH mechanisms. */
int lm_smtp_auth_offered(const lm_smtp *s, const char *mech, size_t n);
/* Iterates the EHLO keywords: start with *it = 0; LM_OK with the keyword
 * (upper-cased) and its parameters (possibly empty), LM_EAGAIN at the end. */
int lm_smtp_cap_next(const lm_smtp *s, size_t *it, const char **kw, size_t *kn,
                     const char **params, size_t *pn);

int lm_smtp_state(const lm_smtp *s);
const char *lm_smtp_state_name(int state);
const char *lm_smtp_cmd_name(int cmd);
/* The sticky error (LM_OK when none) and the offset in the server's byte
 * stream where parsing stopped. */
int lm_smtp_error(const lm_smtp *s, uint64_t *offset);

/* Address and parameter checks used by the commands, for callers that want
 * to validate a whole transaction before queuing any of it. */
int lm_smtp_check_path(const char *addr, size_t n, int allow_empty);
int lm_smtp_check_params(const char *params, size_t n);
/* 1 when p[0..n) holds a byte >= 0x80. */
int lm_smtp_has_8bit(const void *p, size_t n);
/* The octets a whole message p[0..n) becomes on the wire before any dot
 * stuffing, which is what SIZE declares (RFC 1870 4: CRLF pairs counted,
 * stuffing dots not): every bare CR and bare LF becomes CRLF, and a
 * non-empty message that does not end with a line end gets a final CRLF,
 * as lm_smtp_body and lm_smtp_bdat send it. n at most SIZE_MAX / 2. */
size_t lm_smtp_wire_size(const void *p, size_t n);

#endif
