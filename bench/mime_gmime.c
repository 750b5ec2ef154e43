/* bench/mime_gmime.c: the GMime 3 peer of bench/bench_mime.sh.
 *   mime_gmime parse LISTFILE    one pass over the messages named in
 *   mime_gmime decode LISTFILE   LISTFILE (loaded into memory first):
 *                                parse only, or parse + transfer-decode every
 *                                part + decode the Subject. Prints MB/s.
 *   mime_gmime build N           builds and serialises (CRLF) N messages
 *                                with a 1 MiB attachment. Prints msgs/s.
 * Times are process CPU time, like the Lua (os.clock) and Python
 * (time.process_time) sides. */
#include <gmime/gmime.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double cpu(void)
{
    struct timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

typedef struct blob {
    char *p;
    size_t n;
} blob;

static blob *load(const char *list, size_t *count, size_t *total)
{
    FILE *l = fopen(list, "r");
    char path[4096];
    blob *v = NULL;
    size_t k = 0, cap = 0;
    *total = 0;
    if (!l) {
        perror(list);
        exit(2);
    }
    while (fgets(path, sizeof path, l)) {
        FILE *f;
        path[strcspn(path, "\n")] = 0;
        if (!(f = fopen(path, "rb"))) {
            perror(path);
            exit(2);
        }
        if (k == cap)
            v = realloc(v, (cap = cap ? cap * 2 : 256) * sizeof *v);
        fseek(f, 0, SEEK_END);
        v[k].n = (size_t)ftell(f);
        fseek(f, 0, SEEK_SET);
        v[k].p = malloc(v[k].n + 1);
        if (fread(v[k].p, 1, v[k].n, f) != v[k].n)
            exit(2);
        fclose(f);
        *total += v[k].n;
        k++;
    }
    fclose(l);
    *count = k;
    return v;
}

static void decode_part(GMimeObject *parent, GMimeObject *part, gpointer data)
{
    size_t *bytes = data;
    (void)parent;
    if (GMIME_IS_PART(part)) {
        GMimeDataWrapper *w = g_mime_part_get_content(GMIME_PART(part));
        if (w) {
            GMimeStream *mem = g_mime_stream_mem_new();
            *bytes += (size_t)g_mime_data_wrapper_write_to_stream(w, mem);
            g_object_unref(mem);
        }
    }
}

static double pass(blob *v, size_t k, int decode, size_t *decoded)
{
    double t0 = cpu();
    size_t i;
    for (i = 0; i < k; i++) {
        GMimeStream *s = g_mime_stream_mem_new_with_buffer(v[i].p, v[i].n);
        GMimeParser *p = g_mime_parser_new_with_stream(s);
        GMimeMessage *m = g_mime_parser_construct_message(p, NULL);
        if (!m) {
            fprintf(stderr, "gmime: message %zu did not parse\n", i);
            exit(2);
        }
        if (decode) {
            const char *subject = g_mime_message_get_subject(m);
            *decoded += subject ? strlen(subject) : 0;
            g_mime_message_foreach(m, decode_part, decoded);
        }
        g_object_unref(m);
        g_object_unref(p);
        g_object_unref(s);
    }
    return cpu() - t0;
}

static GMimeMessage *build(const char *data, size_t n)
{
    GMimeMessage *m = g_mime_message_new(TRUE);
    GMimeMultipart *mp = g_mime_multipart_new_with_subtype("mixed");
    GMimeTextPart *text = g_mime_text_part_new_with_subtype("plain");
    GMimePart *att = g_mime_part_new_with_type("application", "octet-stream");
    GMimeStream *s = g_mime_stream_mem_new_with_buffer(data, n);
    GMimeDataWrapper *w = g_mime_data_wrapper_new_with_stream(s, GMIME_CONTENT_ENCODING_DEFAULT);
    g_mime_message_add_mailbox(m, GMIME_ADDRESS_TYPE_FROM, "Alice", "alice@example.test");
    g_mime_message_add_mailbox(m, GMIME_ADDRESS_TYPE_TO, "Bob", "bob@example.test");
    g_mime_message_add_mailbox(m, GMIME_ADDRESS_TYPE_TO, "\xE5\xBC\xA0\xE4\xB8\x89",
                               "zs@example.test");
    g_mime_message_set_subject(m, "\xE9\xAA\x8C\xE8\xAF\x81\xE7\xA0\x81 / verification code",
                               "utf-8");
    g_mime_text_part_set_text(text, "Hello Bob,\nthe report is attached.\n");
    g_mime_multipart_add(mp, GMIME_OBJECT(text));
    g_mime_part_set_filename(att, "report.bin");
    g_mime_part_set_content(att, w);
    g_mime_part_set_content_encoding(att, GMIME_CONTENT_ENCODING_BASE64);
    g_mime_multipart_add(mp, GMIME_OBJECT(att));
    g_mime_message_set_mime_part(m, GMIME_OBJECT(mp));
    g_object_unref(w);
    g_object_unref(s);
    g_object_unref(att);
    g_object_unref(text);
    g_object_unref(mp);
    return m;
}

int main(int argc, char **argv)
{
    g_mime_init();
    if (argc == 3 && (strcmp(argv[1], "parse") == 0 || strcmp(argv[1], "decode") == 0)) {
        size_t k, total, decoded = 0;
        blob *v = load(argv[2], &k, &total);
        int decode = strcmp(argv[1], "decode") == 0;
        double t = pass(v, k, decode, &decoded);
        printf("gmime-%s %.1f\n", argv[1], (double)total / t / 1e6);
        return 0;
    }
    if (argc == 3 && strcmp(argv[1], "build") == 0) {
        int n = atoi(argv[2]), i;
        size_t size = 1 << 20, j, written = 0;
        char *data = malloc(size);
        GMimeFormatOptions *fo = g_mime_format_options_new();
        double t0;
        unsigned x = 12345;
        for (j = 0; j < size; j++) {
            x = x * 1103515245u + 12345u;
            data[j] = (char)(x >> 16);
        }
        g_mime_format_options_set_newline_format(fo, GMIME_NEWLINE_FORMAT_DOS);
        t0 = cpu();
        for (i = 0; i < n; i++) {
            GMimeMessage *m = build(data, size);
            GMimeStream *out = g_mime_stream_mem_new();
            g_mime_object_write_to_stream(GMIME_OBJECT(m), fo, out);
            written += (size_t)g_mime_stream_length(out);
            g_object_unref(out);
            g_object_unref(m);
        }
        printf("gmime-build %.1f\n", n / (cpu() - t0));
        fprintf(stderr, "gmime: %zu bytes per message\n", written / (size_t)n);
        return 0;
    }
    fprintf(stderr, "usage: mime_gmime parse|decode LISTFILE | build N\n");
    return 2;
}
