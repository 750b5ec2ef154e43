/* test_net.c: lm_net against listeners opened in this process on loopback.
 * Connections complete in the kernel backlog, so one thread plays both ends.
 * Time checks are loose bounds on a hang, never performance assertions. */
#include "../net/lm_net.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "lmt.h"

/* A listener on addr:0; its port is written to port (decimal). */
static int listener(int family, const char *addr, char *port, size_t portsz)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    int fd = socket(family, SOCK_STREAM, 0);
    memset(&ss, 0, sizeof ss);
    if (family == AF_INET) {
        struct sockaddr_in *a = (struct sockaddr_in *)&ss;
        a->sin_family = AF_INET;
        inet_pton(AF_INET, addr, &a->sin_addr);
        len = sizeof *a;
    } else {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
        a->sin6_family = AF_INET6;
        inet_pton(AF_INET6, addr, &a->sin6_addr);
        len = sizeof *a;
    }
    if (fd < 0 || bind(fd, (struct sockaddr *)&ss, len) < 0 || listen(fd, 4) < 0) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    len = sizeof ss;
    getsockname(fd, (struct sockaddr *)&ss, &len);
    snprintf(port, portsz, "%u",
             ntohs(family == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port
                                     : ((struct sockaddr_in6 *)&ss)->sin6_port));
    return fd;
}

/* A connected pair: *c is the lm_net end, the return value the peer. */
static int pair(int family, const char *addr, int *c)
{
    char port[16];
    int l = listener(family, addr, port, sizeof port), peer;
    *c = -1;
    if (l < 0)
        return -1;
    LMT_CHECK(lm_net_connect(c, addr, port, lm_net_now() + 5) == LM_OK);
    peer = accept(l, NULL, NULL);
    close(l);
    return peer;
}

static void test_roundtrip(void)
{
    char buf[16];
    size_t n = 0;
    int c, p = pair(AF_INET, "127.0.0.1", &c);
    LMT_CHECK(p >= 0 && c >= 0);
    LMT_CHECK(lm_net_send(c, "hello", 5, lm_net_now() + 2, &n) == LM_OK && n == 5);
    LMT_CHECK(read(p, buf, sizeof buf) == 5 && memcmp(buf, "hello", 5) == 0);
    LMT_CHECK(write(p, "world!", 6) == 6);
    LMT_CHECK(lm_net_recv(c, buf, 4, lm_net_now() + 2, &n) == LM_OK && n == 4);
    LMT_CHECK_MEM(buf, "worl", 4);
    /* a deadline already past still takes the data that is there */
    LMT_CHECK(lm_net_recv(c, buf, sizeof buf, lm_net_now() - 1, &n) == LM_OK && n == 2);
    LMT_CHECK_MEM(buf, "d!", 2);
    close(p);
    LMT_CHECK(lm_net_recv(c, buf, sizeof buf, lm_net_now() + 2, &n) == LM_ECLOSED && n == 0);
    lm_net_close(c);
}

static void test_recv_timeout(void)
{
    char buf[4];
    size_t n = 7;
    int c, p = pair(AF_INET, "127.0.0.1", &c);
    double t0 = lm_net_now(), dt;
    LMT_CHECK(lm_net_recv(c, buf, sizeof buf, t0 + 0.2, &n) == LM_ETIMEDOUT);
    dt = lm_net_now() - t0;
    LMT_CHECK(n == 0 && dt >= 0.19 && dt < 3);
    LMT_CHECK(write(p, "x", 1) == 1);
    LMT_CHECK(lm_net_recv(c, buf, sizeof buf, lm_net_now() + 2, &n) == LM_OK && n == 1);
    close(p);
    lm_net_close(c);
}

/* The peer never reads: one big send must end at its deadline. */
static void test_send_deadline(void)
{
    size_t big = (size_t)64 << 20, n = 0;
    char *data = calloc(big, 1);
    int c, p = pair(AF_INET, "127.0.0.1", &c);
    double t0 = lm_net_now(), dt;
    LMT_CHECK(data != NULL);
    if (data)
        LMT_CHECK(lm_net_send(c, data, big, t0 + 0.3, &n) == LM_ETIMEDOUT);
    dt = lm_net_now() - t0;
    LMT_CHECK(n > 0 && n < big && dt >= 0.29 && dt < 3);
    free(data);
    close(p);
    lm_net_close(c);
}

/* Writing to a peer that is gone: ECLOSED, and this process must survive
 * (without MSG_NOSIGNAL it would die of SIGPIPE). */
static void test_send_closed_peer(void)
{
    static char chunk[65536];
    size_t n;
    int i, rc = LM_OK, c, p = pair(AF_INET, "127.0.0.1", &c);
    close(p);
    for (i = 0; i < 1000 && rc == LM_OK; i++)
        rc = lm_net_send(c, chunk, sizeof chunk, lm_net_now() + 2, &n);
    LMT_CHECK(rc == LM_ECLOSED);
    lm_net_close(c);
}

static void test_connect_errors(void)
{
    char port[16];
    int fd = 5, l = listener(AF_INET, "127.0.0.1", port, sizeof port);
    close(l); /* nothing listens there now */
    LMT_CHECK(lm_net_connect(&fd, "127.0.0.1", port, lm_net_now() + 5) == LM_ECONNREFUSED);
    LMT_CHECK(fd == -1);
    LMT_CHECK(lm_net_connect(&fd, "nonexistent.invalid", "25", lm_net_now() + 5) ==
              LM_ENAMERESOLVE);
    LMT_CHECK(lm_net_connect(&fd, "127.0.0.1", "no-such-service-x", lm_net_now() + 5) ==
              LM_EINVAL);
    LMT_CHECK(fd == -1);
    lm_net_close(-1); /* a no-op */
}

static void test_ipv6_loopback(void)
{
    char buf[4];
    size_t n;
    int c, p, probe = socket(AF_INET6, SOCK_STREAM, 0);
    if (probe < 0) {
        printf("test_net: no IPv6 sockets here; ::1 not tested\n");
        return;
    }
    close(probe);
    p = pair(AF_INET6, "::1", &c);
    if (p < 0) {
        printf("test_net: ::1 cannot be bound here; ::1 not tested\n");
        return;
    }
    LMT_CHECK(write(p, "v6", 2) == 2);
    LMT_CHECK(lm_net_recv(c, buf, sizeof buf, lm_net_now() + 2, &n) == LM_OK && n == 2);
    close(p);
    lm_net_close(c);
}

int main(void)
{
    LMT_RUN(test_roundtrip);
    LMT_RUN(test_recv_timeout);
    LMT_RUN(test_send_deadline);
    LMT_RUN(test_send_closed_peer);
    LMT_RUN(test_connect_errors);
    LMT_RUN(test_ipv6_loopback);
    return lmt_report("net");
}
