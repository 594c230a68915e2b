/* json.h: a small strict JSON reader (RFC 8259) and the text helpers the io
 * writers share (a growable buffer, JSON strings and numbers). Internal to
 * lib/; the safetensors header and the metrics log are its only users.
 */
#ifndef PORTA_IO_JSON_H
#define PORTA_IO_JSON_H

#include <stddef.h>
#include <stdint.h>

typedef enum porta__json_type {
    PORTA__JSON_NULL = 0,
    PORTA__JSON_FALSE,
    PORTA__JSON_TRUE,
    PORTA__JSON_NUMBER,
    PORTA__JSON_STRING,
    PORTA__JSON_ARRAY,
    PORTA__JSON_OBJECT
} porta__json_type;

typedef struct porta__json porta__json;
struct porta__json {
    porta__json_type type;
    size_t offset; /* where the value starts in the text, for messages */
    /* STRING: the decoded UTF-8, NUL-terminated (U+0000 is rejected). */
    char *str;
    size_t len;
    /* NUMBER: its value; is_uint when the literal is a non-negative integer
     * (no fraction, no exponent) that fits in u. */
    double num;
    int is_uint;
    uint64_t u;
    /* ARRAY and OBJECT: n items in text order; OBJECT keys (decoded,
     * unique) parallel to items. */
    size_t n;
    porta__json *items;
    char **keys;
};

/* Parse text[0 .. len) as exactly one JSON value with optional whitespace
 * around it: strict RFC 8259 (no comments, no trailing commas, no NaN),
 * valid UTF-8 only, nesting at most 64 deep, duplicate object keys
 * rejected. Returns 0 and *out (free with porta__json_free), or -1 with
 * "byte N: what is wrong" in err. */
int porta__json_parse(const char *text, size_t len, porta__json **out, char *err, size_t err_cap);

/* Free a parsed value (NULL is a no-op). */
void porta__json_free(porta__json *v);

/* The value of `key` in an object, or NULL (also when v is not an object). */
const porta__json *porta__json_get(const porta__json *v, const char *key);

/* Non-zero when s[0 .. len) is valid UTF-8 (no overlongs, no surrogates). */
int porta__utf8_valid(const char *s, size_t len);

/* A growable NUL-terminated text. An allocation failure sets `failed` and
 * later appends do nothing, so a writer checks once at the end. Start from
 * {0}. */
typedef struct porta__text {
    char *data;
    size_t len, cap;
    int failed;
} porta__text;

void porta__text_append(porta__text *t, const char *s, size_t n);
void porta__text_puts(porta__text *t, const char *s);
void porta__text_printf(porta__text *t, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
/* s as a quoted JSON string: ", \ and control characters escaped, other
 * bytes (valid UTF-8, checked by the caller) as they are. */
void porta__text_json_string(porta__text *t, const char *s);
/* v as a JSON number in the shortest form that reads back to the same
 * value: to the same float when v is exactly a float (0.1f gives "0.1"),
 * else to the same double. NaN and infinities give null (JSON has none). */
void porta__text_json_number(porta__text *t, double v);
void porta__text_free(porta__text *t);

#endif
