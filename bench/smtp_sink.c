/* smtp_sink.c: a fast discarding SMTP server for bench_smtp.sh, in C so it
 * is never the bottleneck. Listens on 127.0.0.1, prints its port, then
 * serves connections one after another until killed (bench_smtp.sh runs it
 * under `timeout` and stops it by PID).
 *
 * It answers every command at once, in order, and writes the replies of a
 * pipelined group in one send when it has no more input to read (RFC 2920).
 * EHLO offers PIPELINING, 8BITMIME, SIZE and, unless started with -n,
 * CHUNKING. DATA bodies are scanned for the CRLF.CRLF terminator; BDAT
 * chunks are counted and skipped. Nothing is stored. With -c it prints the
 * number of messages accepted on each connection to stderr. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#define INBUF (4 << 20)

static char in[INBUF];
static char out[1 << 16];
static size_t outn;
static int chunking = 1, counting = 0;

static void reply(int fd, const char *s)
{
    size_t n = strlen(s);
    if (outn + n > sizeof out) {
        if (write(fd, out, outn) < 0)
            exit(1);
        outn = 0;
    }
    memcpy(out + outn, s, n);
    outn += n;
}

static void flush(int fd)
{
    size_t off = 0;
    while (off < outn) {
        ssize_t w = write(fd, out + off, outn - off);
        if (w <= 0)
            return;
        off += (size_t)w;
    }
    outn = 0;
}

enum { CMD, DATA, BDAT };

/* One connection. */
static void serve(int fd)
{
    size_t len = 0, pos = 0;
    int mode = CMD, last = 0, line_start = 1;
    unsigned long long skip = 0, messages = 0;
    char tail[4] = {0};
    reply(fd, "220 sink.test ESMTP discard\r\n");
    flush(fd);
    for (;;) {
        ssize_t r;
        if (pos == len) {
            pos = len = 0;
        } else if (pos > INBUF / 2) {
            memmove(in, in + pos, len - pos);
            len -= pos;
            pos = 0;
        }
        if (outn)
            flush(fd); /* nothing more to read right now: the group is done */
        r = read(fd, in + len, INBUF - len);
        if (r <= 0)
            break;
        len += (size_t)r;
        while (pos < len) {
            if (mode == BDAT) {
                size_t take = len - pos < skip ? len - pos : (size_t)skip;
                pos += take;
                skip -= take;
                if (skip)
                    break;
                mode = CMD;
                if (last)
                    messages++;
                reply(fd, last ? "250 2.0.0 Ok: queued\r\n" : "250 2.0.0 Ok: chunk\r\n");
                continue;
            }
            if (mode == DATA) {
                /* the terminator is CRLF "." CRLF; the body starts at a line start */
                char *p = in + pos, *end = in + len, *hit = NULL;
                size_t k;
                if (line_start && end - p >= 3 && memcmp(p, ".\r\n", 3) == 0)
                    hit = p + 3;
                for (k = 1; !hit && k < 5 && k <= (size_t)(end - p); k++) {
                    char win[8];
                    size_t t = 5 - k;
                    memcpy(win, tail + 4 - t, t);
                    memcpy(win + t, p, k);
                    if (memcmp(win, "\r\n.\r\n", 5) == 0)
                        hit = p + k;
                }
                if (!hit) {
                    char *m = memmem(p, (size_t)(end - p), "\r\n.\r\n", 5);
                    if (m)
                        hit = m + 5;
                }
                if (!hit) {
                    size_t have = (size_t)(end - p);
                    if (have >= 4) {
                        memcpy(tail, end - 4, 4);
                    } else {
                        memmove(tail, tail + have, 4 - have);
                        memcpy(tail + 4 - have, p, have);
                    }
                    line_start = 0;
                    pos = len;
                    break;
                }
                pos = (size_t)(hit - in);
                mode = CMD;
                messages++;
                reply(fd, "250 2.0.0 Ok: queued\r\n");
                continue;
            }
            {
                char *p = in + pos, *nl = memchr(p, '\n', len - pos);
                if (!nl)
                    break;
                pos = (size_t)(nl - in) + 1;
                if (!strncasecmp(p, "EHLO", 4)) {
                    reply(fd, "250-sink.test\r\n250-PIPELINING\r\n250-8BITMIME\r\n"
                              "250-SIZE 2147483647\r\n");
                    reply(fd, chunking ? "250-CHUNKING\r\n250 ENHANCEDSTATUSCODES\r\n"
                                       : "250 ENHANCEDSTATUSCODES\r\n");
                } else if (!strncasecmp(p, "HELO", 4)) {
                    reply(fd, "250 sink.test\r\n");
                } else if (!strncasecmp(p, "MAIL", 4)) {
                    reply(fd, "250 2.1.0 Ok\r\n");
                } else if (!strncasecmp(p, "RCPT", 4)) {
                    reply(fd, "250 2.1.5 Ok\r\n");
                } else if (!strncasecmp(p, "DATA", 4)) {
                    reply(fd, "354 End data with <CR><LF>.<CR><LF>\r\n");
                    mode = DATA;
                    line_start = 1;
                    memcpy(tail, "\0\0\r\n", 4);
                } else if (!strncasecmp(p, "BDAT", 4)) {
                    skip = strtoull(p + 5, NULL, 10);
                    last = strstr(p, "LAST") != NULL && strstr(p, "LAST") < nl;
                    mode = BDAT;
                } else if (!strncasecmp(p, "QUIT", 4)) {
                    reply(fd, "221 2.0.0 Bye\r\n");
                    flush(fd);
                    goto done;
                } else if (!strncasecmp(p, "RSET", 4) || !strncasecmp(p, "NOOP", 4)) {
                    reply(fd, "250 2.0.0 Ok\r\n");
                } else {
                    reply(fd, "502 5.5.2 Error: command not recognized\r\n");
                }
            }
        }
    }
done:
    if (counting)
        fprintf(stderr, "sink: %llu messages\n", messages);
}

int main(int argc, char **argv)
{
    struct sockaddr_in a;
    socklen_t alen = sizeof a;
    int one = 1, s, i;
    for (i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-n"))
            chunking = 0;
        else if (!strcmp(argv[i], "-c"))
            counting = 1;
    }
    s = socket(AF_INET, SOCK_STREAM, 0);
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (s < 0 || bind(s, (struct sockaddr *)&a, sizeof a) < 0 || listen(s, 8) < 0 ||
        getsockname(s, (struct sockaddr *)&a, &alen) < 0) {
        perror("smtp_sink");
        return 1;
    }
    printf("%d\n", ntohs(a.sin_port));
    fflush(stdout);
    for (;;) {
        int c = accept(s, NULL, NULL);
        if (c < 0)
            continue;
        setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        serve(c);
        close(c);
    }
}
