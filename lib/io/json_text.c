/* json_text.c: the growable text and JSON writing helpers of json.h. */
#include <float.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/json.h"

static int reserve(porta__text *t, size_t extra)
{
    if (t->failed)
        return -1;
    if (t->len + extra + 1 <= t->cap)
        return 0;
    size_t cap = t->cap ? t->cap : 256;
    while (cap < t->len + extra + 1) {
        if (cap > SIZE_MAX / 2) {
            t->failed = 1;
            return -1;
        }
        cap *= 2;
    }
    char *data = realloc(t->data, cap);
    if (!data) {
        t->failed = 1;
        return -1;
    }
    t->data = data;
    t->cap = cap;
    return 0;
}

void porta__text_append(porta__text *t, const char *s, size_t n)
{
    if (reserve(t, n))
        return;
    memcpy(t->data + t->len, s, n);
    t->len += n;
    t->data[t->len] = '\0';
}

void porta__text_puts(porta__text *t, const char *s)
{
    porta__text_append(t, s, strlen(s));
}

void porta__text_printf(porta__text *t, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0) {
        t->failed = 1;
        return;
    }
    if (reserve(t, (size_t)n))
        return;
    va_start(ap, fmt);
    vsnprintf(t->data + t->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    t->len += (size_t)n;
}

void porta__text_json_string(porta__text *t, const char *s)
{
    porta__text_append(t, "\"", 1);
    const char *run = s;
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c >= 0x20 && c != '"' && c != '\\')
            continue;
        porta__text_append(t, run, (size_t)(s - run));
        run = s + 1;
        switch (c) {
        case '"':
            porta__text_puts(t, "\\\"");
            break;
        case '\\':
            porta__text_puts(t, "\\\\");
            break;
        case '\n':
            porta__text_puts(t, "\\n");
            break;
        case '\r':
            porta__text_puts(t, "\\r");
            break;
        case '\t':
            porta__text_puts(t, "\\t");
            break;
        case '\b':
            porta__text_puts(t, "\\b");
            break;
        case '\f':
            porta__text_puts(t, "\\f");
            break;
        default:
            porta__text_printf(t, "\\u%04x", c);
        }
    }
    porta__text_append(t, run, (size_t)(s - run));
    porta__text_append(t, "\"", 1);
}

void porta__text_json_number(porta__text *t, double v)
{
    if (!isfinite(v)) {
        porta__text_puts(t, "null");
        return;
    }
    char buf[40];
    int as_float = fabs(v) <= FLT_MAX && (double)(float)v == v;
    for (int digits = 1; digits <= 17; digits++) {
        snprintf(buf, sizeof(buf), "%.*g", digits, v);
        double back = strtod(buf, NULL);
        /* Below 0x1.ffffffp127 (FLT_MAX + half an ulp) back rounds to a
         * finite float. */
        if (as_float ? fabs(back) < 0x1.ffffffp127 && (float)back == (float)v : back == v)
            break;
    }
    porta__text_puts(t, buf);
}

void porta__text_free(porta__text *t)
{
    free(t->data);
    t->data = NULL;
    t->len = t->cap = 0;
    t->failed = 0;
}
