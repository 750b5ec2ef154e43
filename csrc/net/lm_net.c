/* lm_net.c: blocking TCP with deadlines over non-blocking sockets and poll.
 * The only file of lmail with sockets; it reads the monotonic clock because a
 * wall clock can jump and turn a deadline into a hang or an instant failure. */
#define _DEFAULT_SOURCE 1 /* EAI_NODATA, EAI_ADDRFAMILY on glibc */

#include "lm_net.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#ifndef MSG_NOSIGNAL
#define MSG_NOSIGNAL 0 /* BSDs: SO_NOSIGPIPE is set on the socket instead */
#endif

double lm_net_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void lm_net_sleep(double seconds)
{
    double until = lm_net_now() + seconds;
    double left = seconds;

    while (left > 0) {
        struct timespec ts;
        ts.tv_sec = (time_t)left;
        ts.tv_nsec = (long)((left - (double)ts.tv_sec) * 1e9);
        nanosleep(&ts, NULL); /* EINTR: recompute what is left and go on */
        left = until - lm_net_now();
    }
}

static int map_errno(int e)
{
    switch (e) {
    case ECONNREFUSED:
        return LM_ECONNREFUSED;
    case ETIMEDOUT:
        return LM_ETIMEDOUT;
    case EHOSTUNREACH:
    case ENETUNREACH:
    case EADDRNOTAVAIL:
    case EAFNOSUPPORT:
    case ENETDOWN:
        return LM_EHOSTUNREACH;
    case EPIPE:
    case ECONNRESET:
        return LM_ECLOSED;
    default:
        return LM_EIO;
    }
}

/* Milliseconds left for poll: -1 for no deadline, 0 when already past. */
static int remaining_ms(double deadline)
{
    double left;
    if (deadline < 0)
        return -1;
    left = (deadline - lm_net_now()) * 1000.0;
    if (left <= 0)
        return 0;
    if (left > 2000000000.0)
        return 2000000000;
    /* Round up: rounding down would wake early and spin on a 0 ms poll. */
    return (int)left + ((double)(int)left < left);
}

/* Waits until fd is ready for events. LM_OK, LM_ETIMEDOUT or LM_EIO. A signal
 * restarts the wait with whatever time is left. */
static int wait_fd(int fd, short events, double deadline)
{
    for (;;) {
        struct pollfd p;
        int ms = remaining_ms(deadline), n;
        if (ms == 0)
            return LM_ETIMEDOUT;
        p.fd = fd;
        p.events = events;
        p.revents = 0;
        n = poll(&p, 1, ms);
        if (n > 0)
            return LM_OK; /* errors and hang-ups surface in the next call */
        if (n == 0)
            continue; /* ms was rounded; re-check the clock */
        if (errno != EINTR)
            return LM_EIO;
    }
}

static int set_options(int fd)
{
    int one = 1, flags = fcntl(fd, F_GETFL, 0);
    if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0)
        return -1;
    if (fcntl(fd, F_SETFD, FD_CLOEXEC) < 0)
        return -1;
#ifdef SO_NOSIGPIPE
    (void)setsockopt(fd, SOL_SOCKET, SO_NOSIGPIPE, &one, sizeof one);
#endif
    /* SMTP and POP3 are request/response: Nagle would only add latency. */
    (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return 0;
}

/* Connects one address; LM_OK with *out set, or an LM_E* status. */
static int connect_one(const struct addrinfo *ai, double deadline, int *out)
{
    int fd, rc, err = 0;
    socklen_t len = sizeof err;
    fd = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
    if (fd < 0)
        return map_errno(errno);
    if (set_options(fd) < 0) {
        close(fd);
        return LM_EIO;
    }
    if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
        goto done;
    if (errno != EINPROGRESS && errno != EINTR) {
        rc = map_errno(errno);
        close(fd);
        return rc;
    }
    rc = wait_fd(fd, POLLOUT, deadline);
    if (rc == LM_OK && getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
        err = errno;
    if (rc == LM_OK && err != 0)
        rc = map_errno(err);
    if (rc != LM_OK) {
        close(fd);
        return rc;
    }
done:
    *out = fd;
    return LM_OK;
}

static int map_gai(int e)
{
    switch (e) {
    case EAI_NONAME:
    case EAI_AGAIN:
    case EAI_FAIL:
#ifdef EAI_NODATA
    case EAI_NODATA:
#endif
#ifdef EAI_ADDRFAMILY
    case EAI_ADDRFAMILY:
#endif
        return LM_ENAMERESOLVE;
    case EAI_MEMORY:
        return LM_ENOMEM;
    case EAI_SERVICE:
        return LM_EINVAL;
    default:
        return LM_EIO;
    }
}

int lm_net_connect(int *fd, const char *host, const char *port, double deadline)
{
    struct addrinfo hints, *list = NULL, *ai;
    int rc, g;
    *fd = -1;
    memset(&hints, 0, sizeof hints);
    /* No AI_ADDRCONFIG: on a host with only loopback it hides 127.0.0.1/::1. */
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_protocol = IPPROTO_TCP;
    g = getaddrinfo(host, port, &hints, &list);
    if (g != 0)
        return g == EAI_SYSTEM ? map_errno(errno) : map_gai(g);
    rc = LM_ENAMERESOLVE;
    for (ai = list; ai; ai = ai->ai_next) {
        rc = connect_one(ai, deadline, fd);
        if (rc == LM_OK || rc == LM_ETIMEDOUT)
            break; /* the one overall deadline is spent: no next address */
    }
    freeaddrinfo(list);
    return rc;
}

int lm_net_send(int fd, const void *buf, size_t n, double deadline, size_t *sent)
{
    const char *p = buf;
    *sent = 0;
    while (*sent < n) {
        ssize_t w = send(fd, p + *sent, n - *sent, MSG_NOSIGNAL);
        if (w > 0) {
            *sent += (size_t)w;
            continue;
        }
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
            return map_errno(errno);
        {
            int rc = wait_fd(fd, POLLOUT, deadline);
            if (rc != LM_OK)
                return rc;
        }
    }
    return LM_OK;
}

int lm_net_recv(int fd, void *buf, size_t max, double deadline, size_t *got)
{
    *got = 0;
    for (;;) {
        ssize_t r = recv(fd, buf, max, 0);
        if (r > 0) {
            *got = (size_t)r;
            return LM_OK;
        }
        if (r == 0)
            return LM_ECLOSED;
        if (errno == EINTR)
            continue;
        if (errno != EAGAIN && errno != EWOULDBLOCK)
            return errno == ECONNRESET ? LM_EIO : map_errno(errno);
        {
            int rc = wait_fd(fd, POLLIN, deadline);
            if (rc != LM_OK)
                return rc;
        }
    }
}

void lm_net_close(int fd)
{
    if (fd >= 0)
        (void)close(fd);
}

int lm_net_local_address(int fd, char *buf, size_t n, int *family)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    const void *addr;
    if (getsockname(fd, (struct sockaddr *)&ss, &len) != 0)
        return LM_EIO;
    if (ss.ss_family == AF_INET) {
        addr = &((const struct sockaddr_in *)(const void *)&ss)->sin_addr;
        *family = 4;
    } else if (ss.ss_family == AF_INET6) {
        addr = &((const struct sockaddr_in6 *)(const void *)&ss)->sin6_addr;
        *family = 6;
    } else {
        return LM_EIO;
    }
    if (!inet_ntop(ss.ss_family, addr, buf, (socklen_t)n))
        return LM_EIO;
    return LM_OK;
}
