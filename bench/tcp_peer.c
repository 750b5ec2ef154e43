/* tcp_peer.c: the far end of bench_tcp.sh, in C so it is never the
 * bottleneck. Listens on 127.0.0.1, prints its port, then serves connections
 * one after another until killed. A client sends one line:
 *   "S <n>\n"  the peer reads n bytes and answers "ok\n"
 *   "R <n>\n"  the peer sends n bytes and closes */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static char buf[1 << 20];

static int read_line(int fd, char *line, size_t max)
{
    size_t n = 0;
    while (n + 1 < max && read(fd, line + n, 1) == 1)
        if (line[n++] == '\n') {
            line[n] = 0;
            return 0;
        }
    return -1;
}

static void sink(int fd, long long n)
{
    while (n > 0) {
        ssize_t r = read(fd, buf, sizeof buf);
        if (r <= 0)
            return;
        n -= r;
    }
    if (write(fd, "ok\n", 3) != 3)
        return;
}

static void source(int fd, long long n)
{
    while (n > 0) {
        size_t want = n < (long long)sizeof buf ? (size_t)n : sizeof buf;
        ssize_t w = write(fd, buf, want);
        if (w <= 0)
            return;
        n -= w;
    }
}

int main(void)
{
    struct sockaddr_in a;
    socklen_t len = sizeof a;
    int l = socket(AF_INET, SOCK_STREAM, 0);
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (l < 0 || bind(l, (struct sockaddr *)&a, sizeof a) < 0 || listen(l, 8) < 0)
        return 1;
    getsockname(l, (struct sockaddr *)&a, &len);
    printf("%u\n", ntohs(a.sin_port));
    fflush(stdout);
    memset(buf, 'x', sizeof buf);
    for (;;) {
        char line[64];
        long long n;
        int fd = accept(l, NULL, NULL);
        if (fd < 0)
            continue;
        if (read_line(fd, line, sizeof line) == 0 && sscanf(line + 1, "%lld", &n) == 1) {
            if (line[0] == 'S')
                sink(fd, n);
            else if (line[0] == 'R')
                source(fd, n);
        }
        close(fd);
    }
}
