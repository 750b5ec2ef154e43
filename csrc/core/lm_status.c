/* lm_status.c: the one table of status names and messages. */
#include "lm.h"

#include <stdlib.h>

struct status_entry {
    const char *name;
    const char *message;
};

/* Indexed by -rc. */
static const struct status_entry status_table[] = {
    {"OK", "success"},
    {"EAGAIN", "more input needed"},
    {"ENOMEM", "out of memory"},
    {"EINVAL", "invalid input"},
    {"EPROTO", "protocol error"},
    {"ETOOLONG", "limit exceeded"},
    {"ESTATE", "not allowed in the current state"},
    {"ECLOSED", "connection closed"},
    {"ETIMEDOUT", "timed out"},
    {"ECONNREFUSED", "connection refused"},
    {"EHOSTUNREACH", "host unreachable"},
    {"ENAMERESOLVE", "host name did not resolve"},
    {"ETLS", "TLS failure"},
    {"ECERT", "certificate verification failed"},
    {"EIO", "input/output error"},
};

static const struct status_entry *status_lookup(int rc)
{
    if (rc > 0 || rc <= LM_ELAST_)
        return NULL;
    return &status_table[-rc];
}

const char *lm_errname(int rc)
{
    const struct status_entry *e = status_lookup(rc);
    return e ? e->name : "EUNKNOWN";
}

const char *lm_strerror(int rc)
{
    const struct status_entry *e = status_lookup(rc);
    return e ? e->message : "unknown error";
}

static void *libc_alloc(void *ud, void *ptr, size_t osize, size_t nsize)
{
    (void)ud;
    (void)osize;
    if (nsize == 0) {
        free(ptr);
        return NULL;
    }
    return realloc(ptr, nsize);
}

lm_alloc lm_alloc_libc(void)
{
    lm_alloc a = {libc_alloc, NULL};
    return a;
}
