/* lm_net.h: the default blocking TCP transport (DESIGN.md section 3). The only
 * part of lmail that touches sockets or the clock. Every wait is bounded by a
 * deadline on the monotonic clock, so a slow or dripping peer can never keep
 * one call alive past it. */
#ifndef LM_NET_H
#define LM_NET_H

#include <stddef.h>

#include "../core/lm.h"

/* A deadline value meaning "wait for ever". */
#define LM_NET_NO_DEADLINE (-1.0)

/* Seconds on CLOCK_MONOTONIC; deadlines are absolute values of this clock. */
double lm_net_now(void);
/* Sleeps for seconds (>= 0) on the monotonic clock, resuming after a
 * signal until the time has passed. */
void lm_net_sleep(double seconds);

/* Resolves host (IPv6 and IPv4) and tries each address in turn, all within
 * the one deadline. On LM_OK *fd is a connected non-blocking socket the caller
 * owns (release it with lm_net_close). Returns LM_ENAMERESOLVE,
 * LM_ECONNREFUSED, LM_EHOSTUNREACH, LM_ETIMEDOUT or LM_EIO; on failure *fd is
 * -1. Name resolution itself (getaddrinfo) cannot be interrupted and is only
 * bounded by the system resolver's own timeouts. */
int lm_net_connect(int *fd, const char *host, const char *port, double deadline);

/* Writes all n bytes or fails; *sent says how many went out either way.
 * Returns LM_OK, LM_ETIMEDOUT, LM_ECLOSED (peer gone) or LM_EIO. Never raises
 * SIGPIPE. */
int lm_net_send(int fd, const void *buf, size_t n, double deadline, size_t *sent);

/* Reads 1..max bytes, whatever is available first. Returns LM_OK,
 * LM_ETIMEDOUT (nothing read, nothing lost), LM_ECLOSED (orderly end of
 * stream) or LM_EIO. A deadline already past still takes data that is there. */
int lm_net_recv(int fd, void *buf, size_t max, double deadline, size_t *got);

/* The local address of a connected socket as text ("192.0.2.1", "2001:db8::1")
 * into buf (n >= 46 bytes), and *family 4 or 6. LM_OK or LM_EIO. */
int lm_net_local_address(int fd, char *buf, size_t n, int *family);

/* Closes fd if it is >= 0; never fails. */
void lm_net_close(int fd);

#endif
