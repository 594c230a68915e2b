/* json_parse.c: the strict JSON reader of json.h (recursive descent). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/json.h"

#define JSON_MAX_DEPTH 64

typedef struct parser {
    const unsigned char *s;
    size_t len, at;
    char *err;
    size_t err_cap;
    int failed;
} parser;

static int fail(parser *p, size_t at, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

static int fail(parser *p, size_t at, const char *fmt, ...)
{
    if (!p->failed && p->err_cap > 0) {
        int n = snprintf(p->err, p->err_cap, "byte %zu: ", at);
        if (n >= 0 && (size_t)n < p->err_cap) {
            va_list ap;
            va_start(ap, fmt);
            vsnprintf(p->err + n, p->err_cap - (size_t)n, fmt, ap);
            va_end(ap);
        }
    }
    p->failed = 1;
    return -1;
}

static void skip_space(parser *p)
{
    while (p->at < p->len) {
        unsigned char c = p->s[p->at];
        if (c != ' ' && c != '\t' && c != '\n' && c != '\r')
            break;
        p->at++;
    }
}

/* Length of the valid UTF-8 sequence at s (0 if invalid). */
static size_t utf8_seq(const unsigned char *s, size_t avail)
{
    unsigned c = s[0];
    size_t n;
    unsigned cp;
    if (c < 0x80)
        return 1;
    if (c >= 0xC2 && c <= 0xDF) {
        n = 2;
        cp = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
        n = 3;
        cp = c & 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        n = 4;
        cp = c & 0x07;
    } else {
        return 0;
    }
    if (avail < n)
        return 0;
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3F);
    }
    if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10FFFF)) ||
        (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return n;
}

int porta__utf8_valid(const char *s, size_t len)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0;
    while (i < len) {
        size_t n = utf8_seq(u + i, len - i);
        if (n == 0)
            return 0;
        i += n;
    }
    return 1;
}

static int hex4(parser *p, size_t at, unsigned *out)
{
    if (p->len - at < 4)
        return fail(p, at, "\\u escape needs 4 hex digits");
    unsigned v = 0;
    for (size_t i = 0; i < 4; i++) {
        unsigned c = p->s[at + i], d;
        if (c >= '0' && c <= '9')
            d = c - '0';
        else if (c >= 'a' && c <= 'f')
            d = c - 'a' + 10;
        else if (c >= 'A' && c <= 'F')
            d = c - 'A' + 10;
        else
            return fail(p, at + i, "\\u escape needs 4 hex digits");
        v = v * 16 + d;
    }
    *out = v;
    return 0;
}

static size_t put_utf8(char *out, unsigned cp)
{
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xC0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xE0 | (cp >> 12));
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (char)(0xF0 | (cp >> 18));
    out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    out[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

/* A string at p->at (the opening quote); decoded into a malloc'ed *out. */
static int parse_string(parser *p, char **out, size_t *out_len)
{
    size_t start = p->at++;
    /* The decoded text is never longer than the literal. */
    size_t end = p->at;
    while (end < p->len && p->s[end] != '"')
        end += p->s[end] == '\\' ? 2 : 1;
    if (end >= p->len)
        return fail(p, start, "unterminated string");
    char *buf = malloc(end - p->at + 1);
    if (!buf)
        return fail(p, start, "out of memory");
    size_t n = 0;
    while (p->s[p->at] != '"') {
        unsigned char c = p->s[p->at];
        if (c < 0x20) {
            free(buf);
            return fail(p, p->at, "control character 0x%02x in a string (must be escaped)", c);
        }
        if (c != '\\') {
            size_t k = utf8_seq(p->s + p->at, p->len - p->at);
            if (k == 0) {
                free(buf);
                return fail(p, p->at, "invalid UTF-8 in a string");
            }
            memcpy(buf + n, p->s + p->at, k);
            n += k;
            p->at += k;
            continue;
        }
        size_t esc = p->at;
        char e = (char)p->s[p->at + 1];
        p->at += 2;
        const char *simple = strchr("\"\\/bfnrt", e);
        if (e && simple) {
            static const char decoded[] = "\"\\/\b\f\n\r\t";
            buf[n++] = decoded[simple - "\"\\/bfnrt"];
            continue;
        }
        if (e != 'u') {
            free(buf);
            return fail(p, esc, "invalid escape \\%c", e >= 0x20 && e < 0x7f ? e : '?');
        }
        unsigned cp = 0;
        if (hex4(p, p->at, &cp)) {
            free(buf);
            return -1;
        }
        p->at += 4;
        if (cp >= 0xDC00 && cp <= 0xDFFF) {
            free(buf);
            return fail(p, esc, "lone low surrogate \\u%04x", cp);
        }
        if (cp >= 0xD800 && cp <= 0xDBFF) {
            unsigned lo = 0;
            if (p->len - p->at < 6 || p->s[p->at] != '\\' || p->s[p->at + 1] != 'u' ||
                hex4(p, p->at + 2, &lo) || lo < 0xDC00 || lo > 0xDFFF) {
                free(buf);
                p->failed = 0;
                return fail(p, esc, "high surrogate \\u%04x not followed by a low one", cp);
            }
            p->at += 6;
            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
        }
        if (cp == 0) {
            free(buf);
            return fail(p, esc, "\\u0000 in a string is not supported");
        }
        n += put_utf8(buf + n, cp);
    }
    p->at++;
    buf[n] = '\0';
    *out = buf;
    *out_len = n;
    return 0;
}

static int parse_number(parser *p, porta__json *v)
{
    size_t start = p->at, i = p->at;
    int negative = 0, integral = 1;
    if (p->s[i] == '-') {
        negative = 1;
        i++;
    }
    if (i >= p->len || p->s[i] < '0' || p->s[i] > '9')
        return fail(p, start, "invalid number");
    if (p->s[i] == '0')
        i++;
    else
        while (i < p->len && p->s[i] >= '0' && p->s[i] <= '9')
            i++;
    if (i < p->len && p->s[i] == '.') {
        integral = 0;
        i++;
        if (i >= p->len || p->s[i] < '0' || p->s[i] > '9')
            return fail(p, start, "invalid number (no digit after '.')");
        while (i < p->len && p->s[i] >= '0' && p->s[i] <= '9')
            i++;
    }
    if (i < p->len && (p->s[i] == 'e' || p->s[i] == 'E')) {
        integral = 0;
        i++;
        if (i < p->len && (p->s[i] == '+' || p->s[i] == '-'))
            i++;
        if (i >= p->len || p->s[i] < '0' || p->s[i] > '9')
            return fail(p, start, "invalid number (no digit in the exponent)");
        while (i < p->len && p->s[i] >= '0' && p->s[i] <= '9')
            i++;
    }
    char tmp[64];
    size_t n = i - start;
    if (n >= sizeof(tmp))
        return fail(p, start, "number longer than %zu characters", sizeof(tmp) - 1);
    memcpy(tmp, p->s + start, n);
    tmp[n] = '\0';
    v->type = PORTA__JSON_NUMBER;
    v->num = strtod(tmp, NULL);
    if (integral && !negative) {
        uint64_t u = 0;
        int fits = 1;
        for (size_t k = 0; k < n; k++) {
            unsigned d = (unsigned)(tmp[k] - '0');
            if (u > (UINT64_MAX - d) / 10) {
                fits = 0;
                break;
            }
            u = u * 10 + d;
        }
        v->is_uint = fits;
        v->u = fits ? u : 0;
    }
    p->at = i;
    return 0;
}

static int literal(parser *p, const char *word, porta__json_type type, porta__json *v)
{
    size_t n = strlen(word);
    if (p->len - p->at < n || memcmp(p->s + p->at, word, n) != 0)
        return fail(p, p->at, "unexpected character '%c'",
                    p->s[p->at] >= 0x20 && p->s[p->at] < 0x7f ? p->s[p->at] : '?');
    v->type = type;
    p->at += n;
    return 0;
}

static int compare_keys(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int check_unique_keys(parser *p, const porta__json *v)
{
    if (v->n < 2)
        return 0;
    char **sorted = malloc(v->n * sizeof(*sorted));
    if (!sorted)
        return fail(p, v->offset, "out of memory");
    memcpy(sorted, v->keys, v->n * sizeof(*sorted));
    qsort(sorted, v->n, sizeof(*sorted), compare_keys);
    const char *dup = NULL;
    for (size_t i = 1; i < v->n && !dup; i++)
        if (strcmp(sorted[i - 1], sorted[i]) == 0)
            dup = sorted[i];
    int st = 0;
    if (dup) {
        size_t at = v->offset;
        for (size_t i = 0, seen = 0; i < v->n; i++)
            if (strcmp(v->keys[i], dup) == 0 && seen++ == 1)
                at = v->items[i].offset;
        st = fail(p, at, "duplicate key \"%.200s\"", dup);
    }
    free(sorted);
    return st;
}

static int parse_value(parser *p, porta__json *v, int depth);

/* Grow an array or object by one item; returns the new item. */
static porta__json *push_item(porta__json *v, size_t *cap)
{
    if (v->n == *cap) {
        size_t nc = *cap ? *cap * 2 : 4;
        porta__json *items = realloc(v->items, nc * sizeof(*items));
        if (!items)
            return NULL;
        v->items = items;
        if (v->type == PORTA__JSON_OBJECT) {
            char **keys = realloc(v->keys, nc * sizeof(*keys));
            if (!keys)
                return NULL;
            v->keys = keys;
        }
        *cap = nc;
    }
    porta__json *item = &v->items[v->n];
    memset(item, 0, sizeof(*item));
    return item;
}

static int parse_container(parser *p, porta__json *v, int depth)
{
    int object = p->s[p->at] == '{';
    char close = object ? '}' : ']';
    v->type = object ? PORTA__JSON_OBJECT : PORTA__JSON_ARRAY;
    if (depth >= JSON_MAX_DEPTH)
        return fail(p, p->at, "nested deeper than %d", JSON_MAX_DEPTH);
    p->at++;
    size_t cap = 0;
    skip_space(p);
    if (p->at < p->len && p->s[p->at] == close) {
        p->at++;
        return 0;
    }
    for (;;) {
        skip_space(p);
        char *key = NULL;
        size_t key_len;
        if (object) {
            if (p->at >= p->len || p->s[p->at] != '"')
                return fail(p, p->at, "expected a string key in an object");
            if (parse_string(p, &key, &key_len))
                return -1;
            skip_space(p);
            if (p->at >= p->len || p->s[p->at] != ':') {
                free(key);
                return fail(p, p->at, "expected ':' after an object key");
            }
            p->at++;
        }
        porta__json *item = push_item(v, &cap);
        if (!item) {
            free(key);
            return fail(p, p->at, "out of memory");
        }
        if (object)
            v->keys[v->n] = key;
        v->n++;
        if (parse_value(p, item, depth + 1))
            return -1;
        skip_space(p);
        if (p->at < p->len && p->s[p->at] == ',') {
            p->at++;
            skip_space(p);
            if (p->at < p->len && p->s[p->at] == close)
                return fail(p, p->at, "trailing comma before '%c'", close);
            continue;
        }
        if (p->at < p->len && p->s[p->at] == close) {
            p->at++;
            return object ? check_unique_keys(p, v) : 0;
        }
        return fail(p, p->at, "expected ',' or '%c' in %s", close,
                    object ? "an object" : "an array");
    }
}

static int parse_value(parser *p, porta__json *v, int depth)
{
    skip_space(p);
    v->offset = p->at;
    if (p->at >= p->len)
        return fail(p, p->at, "unexpected end of text");
    unsigned char c = p->s[p->at];
    switch (c) {
    case '{':
    case '[':
        return parse_container(p, v, depth);
    case '"':
        v->type = PORTA__JSON_STRING;
        return parse_string(p, &v->str, &v->len);
    case 't':
        return literal(p, "true", PORTA__JSON_TRUE, v);
    case 'f':
        return literal(p, "false", PORTA__JSON_FALSE, v);
    case 'n':
        return literal(p, "null", PORTA__JSON_NULL, v);
    default:
        if (c == '-' || (c >= '0' && c <= '9'))
            return parse_number(p, v);
        return fail(p, p->at, "unexpected character '%c'", c >= 0x20 && c < 0x7f ? c : '?');
    }
}

static void free_contents(porta__json *v)
{
    for (size_t i = 0; i < v->n; i++) {
        free_contents(&v->items[i]);
        if (v->keys)
            free(v->keys[i]);
    }
    free(v->items);
    free(v->keys);
    free(v->str);
}

int porta__json_parse(const char *text, size_t len, porta__json **out, char *err, size_t err_cap)
{
    *out = NULL;
    if (err_cap)
        err[0] = '\0';
    parser p = {(const unsigned char *)text, len, 0, err, err_cap, 0};
    porta__json *v = calloc(1, sizeof(*v));
    if (!v) {
        fail(&p, 0, "out of memory");
        return -1;
    }
    if (parse_value(&p, v, 0) == 0) {
        skip_space(&p);
        if (p.at < p.len)
            fail(&p, p.at, "unexpected text after the value");
    }
    if (p.failed) {
        porta__json_free(v);
        return -1;
    }
    *out = v;
    return 0;
}

void porta__json_free(porta__json *v)
{
    if (!v)
        return;
    free_contents(v);
    free(v);
}

const porta__json *porta__json_get(const porta__json *v, const char *key)
{
    if (!v || v->type != PORTA__JSON_OBJECT)
        return NULL;
    for (size_t i = 0; i < v->n; i++)
        if (strcmp(v->keys[i], key) == 0)
            return &v->items[i];
    return NULL;
}
