/* lm_hdr_date.c: RFC 5322 3.3 date-time with the obsolete forms of 4.3
 * (lm_hdr.h). Pure arithmetic: no clock, no time zone database. */
#include "lm_hdr_lex.h"

#include <string.h>

typedef struct dparser {
    const char *in;
    size_t n, i;
    int rc;
} dparser;

static void skip(dparser *p)
{
    int bad = 0;
    /* commas between the parts are obs-CFWS-ish noise in real mail */
    for (;;) {
        p->i = lm_hdr_skip_cfws(p->in, p->n, p->i, &bad, NULL, &p->rc);
        if (p->i < p->n && p->in[p->i] == ',')
            p->i++;
        else
            break;
    }
}

static int is_alpha(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static int is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* A run of up to max digits; -1 when there is none. *len gets the count. */
static long number(dparser *p, int max, int *len)
{
    long v = 0;
    int k = 0;
    while (p->i < p->n && is_digit(p->in[p->i])) {
        if (k == max) {
            *len = k + 1;
            return -1;
        }
        v = v * 10 + (p->in[p->i++] - '0');
        k++;
    }
    *len = k;
    return k ? v : -1;
}

static size_t word(dparser *p)
{
    size_t s = p->i;
    while (p->i < p->n && is_alpha(p->in[p->i]))
        p->i++;
    return p->i - s;
}

static int word_is(const char *w, size_t n, const char *name)
{
    size_t i;
    if (n != strlen(name))
        return 0;
    for (i = 0; i < n; i++)
        if ((w[i] | 0x20) != name[i])
            return 0;
    return 1;
}

static int month_of(const char *w, size_t n)
{
    static const char *const months[] = {"jan", "feb", "mar", "apr", "may", "jun",
                                         "jul", "aug", "sep", "oct", "nov", "dec"};
    int m;
    /* RFC 5322 says three letters; full names are seen in real mail */
    static const char *const full[] = {"january", "february", "march",     "april",
                                       "may",     "june",     "july",      "august",
                                       "september", "october", "november", "december"};
    for (m = 0; m < 12; m++)
        if (word_is(w, n, months[m]) || word_is(w, n, full[m]))
            return m + 1;
    return 0;
}

static int day_name(const char *w, size_t n)
{
    static const char *const days[] = {"mon", "tue", "wed", "thu", "fri", "sat", "sun",
                                       "monday", "tuesday", "wednesday", "thursday",
                                       "friday", "saturday", "sunday"};
    size_t d;
    for (d = 0; d < sizeof days / sizeof days[0]; d++)
        if (word_is(w, n, days[d]))
            return 1;
    return 0;
}

/* RFC 5322 4.3 zone names, in minutes east of UTC; military letters are
 * -0000 ("their meaning is unknown"). 1 when known. */
static int zone_name(const char *w, size_t n, int *zone)
{
    static const struct {
        const char *name;
        int minutes;
    } zones[] = {{"ut", 0},        {"utc", 0},       {"gmt", 0},      {"z", 0},
                 {"est", -5 * 60}, {"edt", -4 * 60}, {"cst", -6 * 60}, {"cdt", -5 * 60},
                 {"mst", -7 * 60}, {"mdt", -6 * 60}, {"pst", -8 * 60}, {"pdt", -7 * 60}};
    size_t k;
    for (k = 0; k < sizeof zones / sizeof zones[0]; k++)
        if (word_is(w, n, zones[k].name)) {
            *zone = zones[k].minutes;
            return 1;
        }
    if (n == 1 && (w[0] | 0x20) != 'j') {
        *zone = 0;
        return 1;
    }
    return 0;
}

/* Days from 1970-01-01 to y-m-d (proleptic Gregorian). */
static int64_t days_from_civil(int64_t y, int m, int d)
{
    int64_t era, yoe, doy, doe;
    y -= m <= 2;
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = y - era * 400;
    doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static int days_in_month(long y, int m)
{
    static const int dm[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return m == 2 && leap ? 29 : dm[m - 1];
}

static int parse_zone(dparser *p, int *zone)
{
    skip(p);
    if (p->i >= p->n) {
        *zone = 0; /* no zone: taken as -0000, the "unknown" zone */
        return LM_OK;
    }
    if (p->in[p->i] == '+' || p->in[p->i] == '-') {
        int neg = p->in[p->i++] == '-', len;
        long v = number(p, 4, &len);
        if (len != 4 || v % 100 > 59)
            return LM_EINVAL;
        *zone = (int)((v / 100) * 60 + v % 100) * (neg ? -1 : 1);
        return LM_OK;
    }
    {
        const char *w = p->in + p->i;
        size_t k = word(p);
        if (!k || !zone_name(w, k, zone))
            return LM_EINVAL;
    }
    return LM_OK;
}

int lm_hdr_date(const char *in, size_t n, int64_t *t, int *zone)
{
    dparser p;
    long day, year, hh, mm, ss = 0;
    int month, len;
    memset(&p, 0, sizeof p);
    p.in = in;
    p.n = n;
    skip(&p);
    if (p.i < n && is_alpha(in[p.i])) {
        const char *w = in + p.i;
        size_t k = word(&p);
        if (!day_name(w, k))
            return LM_EINVAL;
        skip(&p);
    }
    if ((day = number(&p, 2, &len)) < 1)
        return LM_EINVAL;
    skip(&p);
    {
        const char *w = in + p.i;
        size_t k = word(&p);
        if (!(month = month_of(w, k)))
            return LM_EINVAL;
    }
    skip(&p);
    if ((year = number(&p, 4, &len)) < 0)
        return LM_EINVAL;
    if (len == 2)
        year += year < 50 ? 2000 : 1900; /* RFC 5322 4.3 */
    else if (len == 3)
        year += 1900;
    else if (len != 4 || year < 1900)
        return LM_EINVAL;
    if (day > days_in_month(year, month))
        return LM_EINVAL;
    skip(&p);
    if ((hh = number(&p, 2, &len)) < 0 || hh > 23)
        return LM_EINVAL;
    skip(&p);
    if (p.i >= n || in[p.i] != ':')
        return LM_EINVAL;
    p.i++;
    skip(&p);
    if ((mm = number(&p, 2, &len)) < 0 || len != 2 || mm > 59)
        return LM_EINVAL;
    skip(&p);
    if (p.i < n && in[p.i] == ':') {
        p.i++;
        skip(&p);
        if ((ss = number(&p, 2, &len)) < 0 || len != 2 || ss > 60)
            return LM_EINVAL;
    }
    if (parse_zone(&p, zone) != LM_OK)
        return LM_EINVAL;
    skip(&p);
    if (p.i != n || p.rc != LM_OK)
        return LM_EINVAL;
    *t = days_from_civil(year, month, (int)day) * 86400 + hh * 3600 + mm * 60 + ss -
         (int64_t)*zone * 60;
    return LM_OK;
}
