/* test_io.c: the output files of the training programs, host only.
 *
 *   json         the strict parser behind the safetensors header and the log
 *   safetensors  round trips, the exact bytes of a small file against the
 *                spec, every kind of corrupt file, atomic commits (a write
 *                failing halfway, a rename failing, an aborted writer), and
 *                an independent reader in Python when python3 is present
 *   metrics      JSON lines written, parsed back, appended, truncated
 *   plot         downsampling, ticks, a three-panel SVG parsed as XML
 *   progress     the apps' progress display with made-up clocks
 *
 * Files go to a fresh directory under $TMPDIR (or /tmp), removed at the end.
 * With PORTA_IO_PLOT_OUT=file.svg the example plot is also written there.
 */
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "porta/train.h"
#include "io/json.h"
#include "plot_svg.h"
#include "progress.h"

static char dir[512];
static int have_python;

static const char *in_dir(const char *name)
{
    static char paths[8][1024];
    static int next;
    char *p = paths[next++ % 8];
    snprintf(p, sizeof(paths[0]), "%s/%s", dir, name);
    return p;
}

static void write_bytes(const char *path, const void *data, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (f) {
        if (n)
            fwrite(data, 1, n, f);
        fclose(f);
    }
}

/* The whole file (malloc'ed, NUL-terminated) or NULL. */
static char *read_bytes(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)size + 1);
    if (buf && fread(buf, 1, (size_t)size, f) != (size_t)size) {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    if (buf) {
        buf[size] = '\0';
        if (n)
            *n = (size_t)size;
    }
    return buf;
}

static int file_is(const char *path, const void *data, size_t n)
{
    size_t got = 0;
    char *buf = read_bytes(path, &got);
    int same = buf && got == n && memcmp(buf, data, n) == 0;
    free(buf);
    return same;
}

/* Files in dir whose name contains ".tmp." (left-over temporary files). */
static int temp_files(const char *d)
{
    DIR *dp = opendir(d);
    int n = 0;
    if (!dp)
        return -1;
    for (struct dirent *e; (e = readdir(dp));)
        n += strstr(e->d_name, ".tmp.") != NULL;
    closedir(dp);
    return n;
}

static int has(const char *text, const char *part)
{
    return text && strstr(text, part) != NULL;
}

/* Run a Python script (written to a file) with one argument; its exit
 * status (0 = success). */
static int run_python(const char *script, const char *arg)
{
    const char *path = in_dir("check.py");
    write_bytes(path, script, strlen(script));
    char cmd[2400];
    snprintf(cmd, sizeof(cmd), "python3 '%s' '%s'", path, arg);
    int rc = system(cmd);
    return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

static void remove_tree(const char *d)
{
    DIR *dp = opendir(d);
    if (!dp)
        return;
    for (struct dirent *e; (e = readdir(dp));) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        char p[1024];
        snprintf(p, sizeof(p), "%s/%s", d, e->d_name);
        struct stat sb;
        if (lstat(p, &sb) == 0 && S_ISDIR(sb.st_mode))
            remove_tree(p);
        else
            unlink(p);
    }
    closedir(dp);
    rmdir(d);
}

/* ---- json -------------------------------------------------------------- */

static void test_json(test_state *t)
{
    porta__json *v = NULL;
    char err[256];
    const char *ok = " {\"a\": [1, 2, 18446744073709551615], \"b\\n\\u00e9\\ud83d\\ude00\": "
                     "\"x\\\"y\\\\z\\/\", \"c\": -1.5e3, \"d\": [true, false, null], \"e\": {}} ";
    int rc = porta__json_parse(ok, strlen(ok), &v, err, sizeof(err));
    CHECK(t, rc == 0, "json: valid text rejected: %s", err);
    if (rc == 0) {
        const porta__json *a = porta__json_get(v, "a");
        CHECK(t,
              a && a->type == PORTA__JSON_ARRAY && a->n == 3 && a->items[2].is_uint &&
                  a->items[2].u == UINT64_MAX,
              "json: integer array with UINT64_MAX");
        const porta__json *b = porta__json_get(v, "b\n\xc3\xa9\xf0\x9f\x98\x80");
        CHECK(t, b && b->type == PORTA__JSON_STRING && strcmp(b->str, "x\"y\\z/") == 0,
              "json: escapes and surrogate pair decoded");
        const porta__json *c = porta__json_get(v, "c");
        CHECK(t, c && c->num == -1500.0 && !c->is_uint, "json: -1.5e3");
        const porta__json *d = porta__json_get(v, "d");
        CHECK(t,
              d && d->n == 3 && d->items[0].type == PORTA__JSON_TRUE &&
                  d->items[2].type == PORTA__JSON_NULL,
              "json: literals");
        CHECK(t, porta__json_get(v, "zz") == NULL, "json: absent key");
    }
    porta__json_free(v);

    static const struct {
        const char *text, *why;
    } bad[] = {
        {"{\"a\":1,}", "trailing comma"},
        {"[1,]", "trailing comma"},
        {"{\"a\" 1}", "expected ':'"},
        {"{\"a\":1", "expected ',' or '}'"},
        {"{\"a", "unterminated string"},
        {"\"\\q\"", "invalid escape"},
        {"\"\\ud800\"", "high surrogate"},
        {"\"\\udc00\"", "lone low surrogate"},
        {"\"\\u12\"", "4 hex digits"},
        {"\"a\x01\"", "control character"},
        {"\"\xff\"", "invalid UTF-8"},
        {"\"\xc0\xaf\"", "invalid UTF-8"},
        {"\"\xed\xa0\x80\"", "invalid UTF-8"},
        {"\"\\u0000\"", "\\u0000"},
        {"{} x", "unexpected text after"},
        {"01", "unexpected text after"},
        {"1.", "no digit after '.'"},
        {"1e", "no digit in the exponent"},
        {"-", "invalid number"},
        {"+1", "unexpected character"},
        {"nul", "unexpected character"},
        {"NaN", "unexpected character"},
        {"", "unexpected end"},
        {"{\"k\":1,\"k\":2}", "duplicate key \"k\""},
        {"// c\n{}", "unexpected character"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        rc = porta__json_parse(bad[i].text, strlen(bad[i].text), &v, err, sizeof(err));
        CHECK(t, rc != 0 && v == NULL && has(err, bad[i].why),
              "json: bad text %zu should fail with '%s', got rc %d: '%s'", i, bad[i].why, rc, err);
    }
    char deep[200];
    memset(deep, '[', 100);
    memset(deep + 100, ']', 100);
    rc = porta__json_parse(deep, 200, &v, err, sizeof(err));
    CHECK(t, rc != 0 && has(err, "nested deeper"), "json: depth limit: %s", err);
    memset(deep, '[', 60);
    memset(deep + 60, ']', 60);
    rc = porta__json_parse(deep, 120, &v, err, sizeof(err));
    CHECK(t, rc == 0, "json: 60 levels accepted: %s", err);
    porta__json_free(v);

    porta__text s = {0};
    porta__text_json_string(&s, "a\"b\\c\nd\x01\xc3\xa9");
    CHECK(t, s.data && strcmp(s.data, "\"a\\\"b\\\\c\\nd\\u0001\xc3\xa9\"") == 0,
          "json: string escaping: %s", s.data);
    static const struct {
        double v;
        const char *text;
    } nums[] = {{0.1f, "0.1"},
                {1e-5f, "1e-05"},
                {3.0, "3"},
                {-0.0, "-0"},
                {1.0 / 3.0, "0.3333333333333333"},
                {NAN, "null"},
                {INFINITY, "null"},
                {-INFINITY, "null"},
                {16777217.0, "16777217"},
                {3.4028234663852886e38, "3.4028235e+38"}};
    for (size_t i = 0; i < sizeof(nums) / sizeof(nums[0]); i++) {
        s.len = 0;
        porta__text_json_number(&s, nums[i].v);
        CHECK(t, s.data && strcmp(s.data, nums[i].text) == 0,
              "json: number %.17g as '%s', got '%s'", nums[i].v, nums[i].text,
              s.data ? s.data : "(null)");
    }
    porta__text_free(&s);
}

/* ---- safetensors ------------------------------------------------------- */

/* A file with an 8-byte length, the header text as given and `data_len`
 * zero bytes. */
static void make_st(const char *path, const char *header, uint64_t header_len, size_t data_len)
{
    size_t h = strlen(header);
    size_t n = 8 + h + data_len;
    unsigned char *buf = calloc(1, n);
    for (int i = 0; i < 8; i++)
        buf[i] = (unsigned char)(header_len >> (8 * i));
    memcpy(buf + 8, header, h);
    write_bytes(path, buf, n);
    free(buf);
}

static void test_st_exact_bytes(test_state *t, porta_context *ctx)
{
    /* The spec's layout by hand: u64 little-endian N, N bytes of JSON padded
     * with spaces to a multiple of 8, then the data. */
    const char *path = in_dir("exact.safetensors");
    porta_safetensors_writer *w = NULL;
    float a[2] = {1.0f, 2.0f};
    size_t shape[1] = {2};
    porta_status st = porta_safetensors_begin(ctx, path, &w);
    if (!st)
        st = porta_safetensors_add_metadata(ctx, w, "k", "v");
    if (!st)
        st = porta_safetensors_add(ctx, w, "a", "F32", shape, 1, a, sizeof(a));
    if (!st)
        st = porta_safetensors_commit(ctx, w);
    else
        porta_safetensors_writer_destroy(ctx, w);
    CHECK_OK(t, ctx, st, "safetensors: write the small file");
    const char header[] = "{\"__metadata__\":{\"k\":\"v\"},"
                          "\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}";
    size_t hlen = sizeof(header) - 1; /* 79: padded to 80 */
    unsigned char expect[8 + 80 + 8];
    memset(expect, 0, sizeof(expect));
    expect[0] = 80;
    memcpy(expect + 8, header, hlen);
    memset(expect + 8 + hlen, ' ', 80 - hlen);
    const unsigned char data[8] = {0x00, 0x00, 0x80, 0x3f, 0x00, 0x00, 0x00, 0x40};
    memcpy(expect + 88, data, 8);
    CHECK(t, hlen == 79 && file_is(path, expect, sizeof(expect)),
          "safetensors: bytes of the small file equal the hand-written layout");
}

static void test_st_round_trip(test_state *t, porta_context *ctx)
{
    const char *path = in_dir("model.safetensors");
    porta_safetensors_writer *w = NULL;
    float weights[6] = {0.5f, -1.25f, 3.0f, 1e-7f, -0.0f, 65504.0f};
    unsigned char blob[5] = {0, 1, 2, 254, 255};
    int64_t step = 1234567890123LL;
    uint64_t none[1];
    double d8 = 3.141592653589793;
    size_t s23[2] = {2, 3}, s5[1] = {5}, s0[1] = {0}, ones[8] = {1, 1, 1, 1, 1, 1, 1, 1};
    porta_status st = porta_safetensors_begin(ctx, path, &w);
    CHECK_OK(t, ctx, st, "safetensors: begin");
    if (st)
        return;
    /* Added narrow first so the writer must reorder the data to align. */
    st = porta_safetensors_add(ctx, w, "optimizer.state", "U8", s5, 1, blob, sizeof(blob));
    CHECK_OK(t, ctx, st, "safetensors: add U8 blob");
    st = porta_safetensors_add(ctx, w, "layer.0/w \"q\"", "F32", s23, 2, weights, sizeof(weights));
    CHECK_OK(t, ctx, st, "safetensors: add F32 2x3 (name with quotes)");
    st = porta_safetensors_add(ctx, w, "step", "I64", NULL, 0, &step, sizeof(step));
    CHECK_OK(t, ctx, st, "safetensors: add I64 scalar");
    st = porta_safetensors_add(ctx, w, "empty", "U64", s0, 1, none, 0);
    CHECK_OK(t, ctx, st, "safetensors: add zero-size U64");
    st = porta_safetensors_add(ctx, w, "pi8", "F64", ones, 8, &d8, sizeof(d8));
    CHECK_OK(t, ctx, st, "safetensors: add F64 with 8 dimensions");
    st = porta_safetensors_add_metadata(ctx, w, "format", "pt");
    CHECK_OK(t, ctx, st, "safetensors: metadata");
    st = porta_safetensors_add_metadata(ctx, w, "note \xc3\xa9", "line\nbreak \"quoted\" \\");
    CHECK_OK(t, ctx, st, "safetensors: metadata with escapes");

    /* Argument errors leave the writer usable. */
    float one = 1;
    size_t s1[1] = {1}, s2[1] = {2};
    struct {
        const char *name, *dtype;
        const size_t *shape;
        unsigned ndim;
        size_t bytes;
        const char *why;
    } bad[] = {
        {"x", "F33", s1, 1, 4, "not a safetensors dtype"},
        {"x", "F32", s2, 1, 4, "is 8 bytes, bytes is 4"},
        {"step", "F32", s1, 1, 4, "already added"},
        {"__metadata__", "F32", s1, 1, 4, "reserved"},
        {"", "F32", s1, 1, 4, "empty"},
        {"bad\xff", "F32", s1, 1, 4, "UTF-8"},
        {"x", "F32", ones, 9, 4, "ndim 9"},
        {"x", "F32", NULL, 1, 4, "shape must not be NULL"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        st = porta_safetensors_add(ctx, w, bad[i].name, bad[i].dtype, bad[i].shape, bad[i].ndim,
                                   &one, bad[i].bytes);
        CHECK(t, st == PORTA_ERROR_INVALID_ARGUMENT && has(porta_context_message(ctx), bad[i].why),
              "safetensors: bad add %zu: want '%s', got %s: %s", i, bad[i].why, porta_strerror(st),
              porta_context_message(ctx));
    }
    st = porta_safetensors_add_metadata(ctx, w, "format", "again");
    CHECK(t, st == PORTA_ERROR_INVALID_ARGUMENT, "safetensors: duplicate metadata key");
    st = porta_safetensors_commit(ctx, w);
    CHECK_OK(t, ctx, st, "safetensors: commit");
    CHECK(t, temp_files(dir) == 0, "safetensors: no temporary file after commit");

    porta_safetensors *f = NULL;
    st = porta_safetensors_open(ctx, path, &f);
    CHECK_OK(t, ctx, st, "safetensors: open");
    if (st)
        return;
    CHECK(t, porta_safetensors_count(f) == 5, "safetensors: 5 tensors, got %zu",
          porta_safetensors_count(f));
    CHECK(t,
          porta_safetensors_name(f, 0) &&
              !strcmp(porta_safetensors_name(f, 0), "optimizer.state") &&
              porta_safetensors_name(f, 5) == NULL,
          "safetensors: names in header order");
    const char *dtype = NULL;
    size_t shape[PORTA_SAFETENSORS_MAX_DIMS], bytes = 0;
    unsigned ndim = 99;
    const void *data = NULL;
    st = porta_safetensors_get(ctx, f, "layer.0/w \"q\"", &dtype, shape, &ndim, &data, &bytes);
    CHECK(t,
          !st && !strcmp(dtype, "F32") && ndim == 2 && shape[0] == 2 && shape[1] == 3 &&
              bytes == sizeof(weights) && !memcmp(data, weights, sizeof(weights)),
          "safetensors: F32 2x3 back bit for bit");
    CHECK(t, (uintptr_t)data % 4 == 0, "safetensors: F32 data 4-byte aligned");
    st = porta_safetensors_get(ctx, f, "optimizer.state", &dtype, shape, &ndim, &data, &bytes);
    CHECK(t,
          !st && !strcmp(dtype, "U8") && ndim == 1 && shape[0] == 5 && bytes == 5 &&
              !memcmp(data, blob, 5),
          "safetensors: U8 blob back");
    st = porta_safetensors_get(ctx, f, "step", &dtype, shape, &ndim, &data, &bytes);
    CHECK(t,
          !st && !strcmp(dtype, "I64") && ndim == 0 && bytes == 8 && !memcmp(data, &step, 8) &&
              (uintptr_t)data % 8 == 0,
          "safetensors: I64 scalar back, 8-byte aligned");
    st = porta_safetensors_get(ctx, f, "empty", &dtype, shape, &ndim, &data, &bytes);
    CHECK(t, !st && !strcmp(dtype, "U64") && ndim == 1 && shape[0] == 0 && bytes == 0,
          "safetensors: zero-size tensor back");
    st = porta_safetensors_get(ctx, f, "pi8", &dtype, shape, &ndim, &data, &bytes);
    CHECK(t, !st && ndim == 8 && shape[7] == 1 && !memcmp(data, &d8, 8),
          "safetensors: 8 dimensions back");
    st = porta_safetensors_get(ctx, f, "pi8", NULL, NULL, NULL, NULL, NULL);
    CHECK(t, st == PORTA_OK, "safetensors: every output may be NULL");
    st = porta_safetensors_get(ctx, f, "missing", &dtype, shape, &ndim, &data, &bytes);
    CHECK(t,
          st == PORTA_ERROR_NOT_FOUND && has(porta_context_message(ctx), "missing") &&
              has(porta_context_message(ctx), path),
          "safetensors: absent tensor is NOT_FOUND naming it: %s", porta_context_message(ctx));
    const char *meta = porta_safetensors_metadata(f, "note \xc3\xa9");
    CHECK(t, meta && !strcmp(meta, "line\nbreak \"quoted\" \\"), "safetensors: metadata back");
    CHECK(t,
          porta_safetensors_metadata(f, "format") &&
              !strcmp(porta_safetensors_metadata(f, "format"), "pt"),
          "safetensors: metadata 'format'");
    CHECK(t, porta_safetensors_metadata(f, "nope") == NULL, "safetensors: absent metadata NULL");
    porta_safetensors_destroy(ctx, f);

    /* An independent reader: the spec in a few lines of Python. */
    static const char spec_reader[] =
        "import json, struct, sys\n"
        "b = open(sys.argv[1], 'rb').read()\n"
        "n = struct.unpack('<Q', b[:8])[0]\n"
        "assert n % 8 == 0 and b[8] == ord('{')\n"
        "h = json.loads(b[8:8 + n].decode('utf-8'))\n"
        "data = b[8 + n:]\n"
        "meta = h.pop('__metadata__')\n"
        "assert meta == {'format': 'pt', 'note \\u00e9': 'line\\nbreak \"quoted\" \\\\'}, meta\n"
        "assert sorted(h) == sorted(['optimizer.state', 'layer.0/w \"q\"', 'step', 'empty', "
        "'pi8']), h\n"
        "size = {'F32': 4, 'U8': 1, 'I64': 8, 'U64': 8, 'F64': 8}\n"
        "spans = sorted(v['data_offsets'] for v in h.values())\n"
        "at = 0\n"
        "for s, e in spans:\n"
        "    assert s == at, spans\n"
        "    at = e\n"
        "assert at == len(data)\n"
        "for k, v in h.items():\n"
        "    s, e = v['data_offsets']\n"
        "    count = 1\n"
        "    for d in v['shape']: count *= d\n"
        "    assert e - s == count * size[v['dtype']], k\n"
        "    assert s % size[v['dtype']] == 0, k\n"
        "w = h['layer.0/w \"q\"']\n"
        "assert w['shape'] == [2, 3]\n"
        "vals = struct.unpack('<6f', data[w['data_offsets'][0]:w['data_offsets'][1]])\n"
        "assert vals[:3] == (0.5, -1.25, 3.0) and vals[5] == 65504.0, vals\n"
        "s, e = h['step']['data_offsets']\n"
        "assert h['step']['shape'] == [] and struct.unpack('<q', data[s:e])[0] == 1234567890123\n"
        "s, e = h['optimizer.state']['data_offsets']\n"
        "assert data[s:e] == bytes([0, 1, 2, 254, 255])\n";
    if (have_python)
        CHECK(t, run_python(spec_reader, path) == 0,
              "safetensors: Python's json + struct read the file as the spec says");
    static const char hf_reader[] =
        "import sys\n"
        "try:\n"
        "    import numpy as np\n"
        "    from safetensors.numpy import load_file\n"
        "except ImportError:\n"
        "    sys.exit(77)\n"
        "t = load_file(sys.argv[1])\n"
        "w = t['layer.0/w \"q\"']\n"
        "assert w.dtype == np.float32 and w.shape == (2, 3) and w[0, 1] == -1.25\n"
        "assert t['optimizer.state'].tolist() == [0, 1, 2, 254, 255]\n"
        "assert t['step'].shape == () and int(t['step']) == 1234567890123\n"
        "assert t['empty'].shape == (0,) and t['pi8'].shape == (1,) * 8\n";
    int rc = have_python ? run_python(hf_reader, path) : 77;
    if (rc == 77)
        printf("note: Python safetensors/numpy not installed: the Hugging Face reader check is "
               "skipped (the spec-level Python check and the byte-exact check ran)\n");
    else
        CHECK(t, rc == 0, "safetensors: Hugging Face safetensors loads the file");
}

static void test_st_corrupt(test_state *t, porta_context *ctx)
{
    const char *path = in_dir("corrupt.safetensors");
    const char *F = "\"dtype\":\"F32\",\"shape\":[1],";
    char h[1024];
    static const struct {
        const char *header;
        size_t data;
        const char *why;
    } cases[] = {
        {"[1,2]   ", 0, "does not begin with '{'"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}", 4, "not valid JSON"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},}", 4, "trailing comma"},
        {"{\"a\" {\"dtype\":\"F32\"}}", 0, "expected ':'"},
        {"{\"a\\q\":{}}", 0, "invalid escape"},
        {"{\"\\ud800\":{}}", 0, "high surrogate"},
        {"{\"a\x01\":{}}", 0, "control character"},
        {"{\"a\xff\":{}}", 0, "invalid UTF-8"},
        {"{} x", 0, "unexpected text after"},
        {"{}\x01\x02", 0, "unexpected text after"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
         "\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}",
         8, "duplicate key \"a\""},
        {"{\"a\":5}", 0, "entry is not an object"},
        {"{\"a\":{\"shape\":[1],\"data_offsets\":[0,4]}}", 4, "missing \"dtype\""},
        {"{\"a\":{\"dtype\":\"F32\",\"data_offsets\":[0,4]}}", 4, "missing \"shape\""},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[1]}}", 4, "missing \"data_offsets\""},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4],\"x\":1}}", 4,
         "unknown field \"x\""},
        {"{\"a\":{\"dtype\":\"F33\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4,
         "\"F33\" is not a safetensors dtype"},
        {"{\"a\":{\"dtype\":4,\"shape\":[1],\"data_offsets\":[0,4]}}", 4, "(not a string)"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":1,\"data_offsets\":[0,4]}}", 4,
         "shape is not an array"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,4]}}", 4,
         "shape[0] is not a non-negative integer"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[1.5],\"data_offsets\":[0,4]}}", 4,
         "shape[0] is not a non-negative integer"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[1,1,1,1,1,1,1,1,1],\"data_offsets\":[0,4]}}", 4,
         "9 dimensions"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4,8]}}", 8,
         "not an array of two integers"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,99999999999999999999]}}", 4,
         "data_offsets[1] is not a non-negative integer"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,0]}}", 4,
         "end before they begin"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 3, "reach past"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,4]}}", 4,
         "needs 8 bytes, data_offsets span 4"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296,4294967296],"
         "\"data_offsets\":[0,4]}}",
         4, "needs more than"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
         "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}",
         12, "overlap"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
         "\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,12]}}",
         12, "[4, 8) belong to no tensor"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", 8,
         "[0, 4) belong to no tensor"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 8,
         "[4, 8) at the end belong to no tensor"},
        {"{}", 1, "[0, 1) at the end belong to no tensor"},
        {"{\"__metadata__\":{\"k\":1}}", 0, "value of 'k' is not a string"},
        {"{\"__metadata__\":[]}", 0, "\"__metadata__\" is not an object"},
    };
    (void)F;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        snprintf(h, sizeof(h), "%s", cases[i].header);
        make_st(path, h, strlen(h), cases[i].data);
        porta_safetensors *f = NULL;
        porta_status st = porta_safetensors_open(ctx, path, &f);
        const char *msg = porta_context_message(ctx);
        CHECK(t,
              st == PORTA_ERROR_CORRUPT_DATA && f == NULL && has(msg, path) &&
                  has(msg, cases[i].why),
              "safetensors: corrupt case %zu: want CORRUPT_DATA '%s', got %s: %s", i, cases[i].why,
              porta_strerror(st), msg);
        porta_safetensors_destroy(ctx, f);
    }

    /* Broken lengths. */
    porta_safetensors *f = NULL;
    write_bytes(path, "\x10\x00\x00", 3);
    porta_status st = porta_safetensors_open(ctx, path, &f);
    CHECK(t, st == PORTA_ERROR_CORRUPT_DATA && has(porta_context_message(ctx), "too short"),
          "safetensors: 3-byte file: %s", porta_context_message(ctx));
    write_bytes(path, "", 0);
    st = porta_safetensors_open(ctx, path, &f);
    CHECK(t, st == PORTA_ERROR_CORRUPT_DATA && has(porta_context_message(ctx), "too short"),
          "safetensors: empty file: %s", porta_context_message(ctx));
    make_st(path, "{}      ", 1000, 12);
    st = porta_safetensors_open(ctx, path, &f);
    CHECK(t,
          st == PORTA_ERROR_CORRUPT_DATA &&
              has(porta_context_message(ctx), "header length 1000 exceeds the 20 bytes"),
          "safetensors: header length past the end: %s", porta_context_message(ctx));
    make_st(path, "{}      ", 1ull << 40, 0);
    st = porta_safetensors_open(ctx, path, &f);
    CHECK(t, st == PORTA_ERROR_CORRUPT_DATA && has(porta_context_message(ctx), "exceeds"),
          "safetensors: header length 2^40: %s", porta_context_message(ctx));
    make_st(path, "{}      ", 0, 0);
    st = porta_safetensors_open(ctx, path, &f);
    CHECK(t, st == PORTA_ERROR_CORRUPT_DATA && has(porta_context_message(ctx), "begin with '{'"),
          "safetensors: header length 0: %s", porta_context_message(ctx));

    /* A good file cut short by a few bytes. */
    size_t n = 0;
    char *good = read_bytes(in_dir("model.safetensors"), &n);
    if (good && n > 8) {
        write_bytes(path, good, n - 3);
        st = porta_safetensors_open(ctx, path, &f);
        CHECK(t, st == PORTA_ERROR_CORRUPT_DATA && has(porta_context_message(ctx), "truncated"),
              "safetensors: truncated file: %s", porta_context_message(ctx));
        write_bytes(path, good, 20);
        st = porta_safetensors_open(ctx, path, &f);
        CHECK(t, st == PORTA_ERROR_CORRUPT_DATA, "safetensors: file cut inside the header: %s",
              porta_context_message(ctx));
    }
    free(good);
    /* Valid edge cases are accepted. */
    make_st(path, "{}      ", 8, 0);
    st = porta_safetensors_open(ctx, path, &f);
    CHECK(t, st == PORTA_OK && porta_safetensors_count(f) == 0,
          "safetensors: an empty checkpoint is valid: %s", porta_context_message(ctx));
    porta_safetensors_destroy(ctx, f);
    f = NULL;
    snprintf(h, sizeof(h),
             "{\"b\":{%s\"data_offsets\":[4,8]},\"a\":{%s\"data_offsets\":[0,4]},"
             "\"z\":{\"dtype\":\"U8\",\"shape\":[0],\"data_offsets\":[8,8]}}\t\n ",
             F, F);
    make_st(path, h, strlen(h), 8);
    st = porta_safetensors_open(ctx, path, &f);
    CHECK(t, st == PORTA_OK && porta_safetensors_count(f) == 3,
          "safetensors: out-of-order offsets, a zero-size tensor, whitespace padding: %s",
          porta_context_message(ctx));
    porta_safetensors_destroy(ctx, f);
    st = porta_safetensors_open(ctx, in_dir("does-not-exist"), &f);
    CHECK(t, st == PORTA_ERROR_IO && has(porta_context_message(ctx), "does-not-exist"),
          "safetensors: missing file is an IO error naming it: %s", porta_context_message(ctx));
}

/* A committed checkpoint holding one U8 tensor of `bytes` bytes valued v. */
static porta_status commit_blob(porta_context *ctx, const char *path, size_t bytes, int v)
{
    unsigned char *data = malloc(bytes);
    memset(data, v, bytes);
    porta_safetensors_writer *w = NULL;
    size_t shape[1] = {bytes};
    porta_status st = porta_safetensors_begin(ctx, path, &w);
    if (!st)
        st = porta_safetensors_add(ctx, w, "blob", "U8", shape, 1, data, bytes);
    if (!st)
        st = porta_safetensors_commit(ctx, w);
    else
        porta_safetensors_writer_destroy(ctx, w);
    free(data);
    return st;
}

static void test_st_atomic(test_state *t, porta_context *ctx)
{
    const char *path = in_dir("ckpt.safetensors");
    porta_status st = commit_blob(ctx, path, 100, 7);
    CHECK_OK(t, ctx, st, "atomic: first checkpoint");
    size_t old_n = 0;
    char *old = read_bytes(path, &old_n);
    if (!old)
        return;

    /* A write that fails halfway: the file size limit makes write() fail
     * with EFBIG after 4 KiB of the 64 KiB temporary file. */
    pid_t pid = fork();
    if (pid == 0) {
        struct rlimit lim = {4096, 4096};
        signal(SIGXFSZ, SIG_IGN);
        setrlimit(RLIMIT_FSIZE, &lim);
        porta_status cst = commit_blob(ctx, path, 65536, 9);
        _exit(cst == PORTA_ERROR_IO && has(porta_context_message(ctx), "cannot write") ? 0 : 1);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    CHECK(t, WIFEXITED(status) && WEXITSTATUS(status) == 0,
          "atomic: a commit failing mid-write reports an IO error");
    CHECK(t, file_is(path, old, old_n), "atomic: failed mid-write: old file intact");
    CHECK(t, temp_files(dir) == 0, "atomic: failed mid-write: no temporary file left");

    /* Aborted halfway. */
    porta_safetensors_writer *w = NULL;
    unsigned char byte = 1;
    size_t one[1] = {1};
    st = porta_safetensors_begin(ctx, path, &w);
    if (!st)
        st = porta_safetensors_add(ctx, w, "x", "U8", one, 1, &byte, 1);
    porta_safetensors_writer_destroy(ctx, w);
    CHECK(t, !st && file_is(path, old, old_n) && temp_files(dir) == 0,
          "atomic: aborted writer: old file intact, no temporary file");

    /* The rename fails: path is a non-empty directory. */
    const char *busy = in_dir("busy.safetensors");
    mkdir(busy, 0755);
    char inside[1100];
    snprintf(inside, sizeof(inside), "%s/keep", busy);
    write_bytes(inside, "k", 1);
    st = commit_blob(ctx, busy, 16, 1);
    struct stat sb;
    CHECK(t,
          st == PORTA_ERROR_IO && has(porta_context_message(ctx), "rename") &&
              stat(inside, &sb) == 0 && temp_files(dir) == 0,
          "atomic: failed rename: IO error, nothing replaced, no temporary file: %s",
          porta_context_message(ctx));

    /* A directory that does not exist. */
    st = commit_blob(ctx, in_dir("no/such/dir/x.safetensors"), 16, 1);
    CHECK(t, st == PORTA_ERROR_IO && has(porta_context_message(ctx), "no/such/dir"),
          "atomic: missing directory is an IO error naming the path: %s",
          porta_context_message(ctx));

    /* A read-only directory (root ignores permissions). */
    if (geteuid() != 0) {
        const char *ro = in_dir("ro");
        char ro_file[1100];
        snprintf(ro_file, sizeof(ro_file), "%s/ckpt.safetensors", ro);
        mkdir(ro, 0755);
        st = commit_blob(ctx, ro_file, 100, 7);
        chmod(ro, 0555);
        porta_status st2 = commit_blob(ctx, ro_file, 200, 8);
        chmod(ro, 0755);
        CHECK(t,
              !st && st2 == PORTA_ERROR_IO && file_is(ro_file, old, old_n) && temp_files(ro) == 0,
              "atomic: read-only directory: IO error, old file intact: %s",
              porta_context_message(ctx));
    } else {
        printf("note: running as root, which ignores directory permissions: the read-only "
               "directory case is skipped (the failed-write and failed-rename cases ran)\n");
    }

    /* And a good commit does replace the file. */
    st = commit_blob(ctx, path, 300, 5);
    size_t n = 0;
    char *now = read_bytes(path, &n);
    CHECK(t, !st && now && n != old_n && temp_files(dir) == 0, "atomic: a commit replaces");
    free(now);
    free(old);
}

/* ---- metrics log ------------------------------------------------------- */

static void test_metrics(test_state *t, porta_context *ctx)
{
    const char *path = in_dir("metrics.jsonl");
    porta_metrics_log *log = NULL;
    porta_status st = porta_metrics_log_open(ctx, path, false, &log);
    CHECK_OK(t, ctx, st, "metrics: open");
    if (st)
        return;
    st = porta_metrics_log_begin(ctx, log);
    st |= porta_metrics_log_int(ctx, log, "step", 1);
    st |= porta_metrics_log_float(ctx, log, "loss", 0.1f);
    st |= porta_metrics_log_float(ctx, log, "lr", 1e-5f);
    st |= porta_metrics_log_str(ctx, log, "note", "quote\" back\\ nl\n tab\t \xc3\xa9");
    st |= porta_metrics_log_float(ctx, log, "nan", NAN);
    st |= porta_metrics_log_float(ctx, log, "inf", INFINITY);
    st |= porta_metrics_log_float(ctx, log, "ninf", -INFINITY);
    st |= porta_metrics_log_float(ctx, log, "negzero", -0.0);
    st |= porta_metrics_log_int(ctx, log, "min", INT64_MIN);
    st |= porta_metrics_log_float(ctx, log, "third", 1.0 / 3.0);
    CHECK_OK(t, ctx, st, "metrics: fields");
    CHECK(t, porta_metrics_log_int(ctx, log, "step", 2) == PORTA_ERROR_INVALID_ARGUMENT,
          "metrics: duplicate key in a line refused");
    CHECK(t, porta_metrics_log_begin(ctx, log) == PORTA_ERROR_INVALID_ARGUMENT,
          "metrics: begin inside a line refused");
    CHECK(t, porta_metrics_log_write(ctx, log, "{}") == PORTA_ERROR_INVALID_ARGUMENT,
          "metrics: raw line inside a built line refused");
    st = porta_metrics_log_end(ctx, log);
    CHECK_OK(t, ctx, st, "metrics: end");
    CHECK(t, porta_metrics_log_end(ctx, log) == PORTA_ERROR_INVALID_ARGUMENT,
          "metrics: end without begin refused");
    CHECK(t, porta_metrics_log_float(ctx, log, "x", 1) == PORTA_ERROR_INVALID_ARGUMENT,
          "metrics: field without begin refused");
    st = porta_metrics_log_write(ctx, log, "{\"epoch\":1,\"test_accuracy\":0.5}");
    CHECK_OK(t, ctx, st, "metrics: raw line");
    static const char *bad_lines[] = {"[1]", "{", "{\n}", "{\"a\":NaN}", "{} {}", "\"s\""};
    for (size_t i = 0; i < sizeof(bad_lines) / sizeof(bad_lines[0]); i++)
        CHECK(t, porta_metrics_log_write(ctx, log, bad_lines[i]) == PORTA_ERROR_INVALID_ARGUMENT,
              "metrics: bad raw line %zu refused", i);
    st = porta_metrics_log_begin(ctx, log);
    CHECK(t, porta_metrics_log_str(ctx, log, "s", "bad\xff") == PORTA_ERROR_INVALID_ARGUMENT,
          "metrics: invalid UTF-8 value refused");
    st |= porta_metrics_log_end(ctx, log);
    CHECK_OK(t, ctx, st, "metrics: empty object line");
    st = porta_metrics_log_close(ctx, log);
    CHECK_OK(t, ctx, st, "metrics: close");

    const char *expect =
        "{\"step\":1,\"loss\":0.1,\"lr\":1e-05,\"note\":\"quote\\\" back\\\\ nl\\n tab\\t "
        "\xc3\xa9\",\"nan\":null,\"inf\":null,\"ninf\":null,\"negzero\":-0,"
        "\"min\":-9223372036854775808,\"third\":0.3333333333333333}\n"
        "{\"epoch\":1,\"test_accuracy\":0.5}\n"
        "{}\n";
    size_t n = 0;
    char *text = read_bytes(path, &n);
    CHECK(t, text && !strcmp(text, expect), "metrics: file text is exactly:\n%sgot:\n%s", expect,
          text ? text : "(null)");
    /* Every line parses back as an object. */
    int lines = 0, parsed = 0;
    for (char *line = text, *nl; line && (nl = strchr(line, '\n')); line = nl + 1) {
        porta__json *v = NULL;
        char err[200];
        lines++;
        if (porta__json_parse(line, (size_t)(nl - line), &v, err, sizeof(err)) == 0 &&
            v->type == PORTA__JSON_OBJECT)
            parsed++;
        if (lines == 1 && v) {
            const porta__json *loss = porta__json_get(v, "loss");
            CHECK(t, loss && (float)loss->num == 0.1f, "metrics: loss reads back as 0.1f");
            CHECK(t, porta__json_get(v, "nan")->type == PORTA__JSON_NULL, "metrics: NaN is null");
        }
        porta__json_free(v);
    }
    CHECK(t, lines == 3 && parsed == 3, "metrics: %d of %d lines parse back", parsed, lines);
    free(text);
    if (have_python)
        CHECK(t,
              run_python("import json, sys\n"
                         "rows = [json.loads(l) for l in open(sys.argv[1], encoding='utf-8')]\n"
                         "assert len(rows) == 3 and rows[0]['nan'] is None\n"
                         "assert rows[0]['note'] == 'quote\" back\\\\ nl\\n tab\\t \\u00e9'\n"
                         "assert rows[0]['min'] == -2**63 and rows[1]['epoch'] == 1\n",
                         path) == 0,
              "metrics: Python's json reads every line");

    /* Append mode keeps the lines and cuts a torn last line. */
    const char *torn = "{\"step\":1}\n{\"step\":2}\n{\"ste";
    write_bytes(path, torn, strlen(torn));
    st = porta_metrics_log_open(ctx, path, true, &log);
    if (!st) {
        st = porta_metrics_log_begin(ctx, log);
        st |= porta_metrics_log_int(ctx, log, "step", 3);
        st |= porta_metrics_log_end(ctx, log);
        st |= porta_metrics_log_close(ctx, log);
    }
    const char *appended = "{\"step\":1}\n{\"step\":2}\n{\"step\":3}\n";
    CHECK(t, !st && file_is(path, appended, strlen(appended)),
          "metrics: append after cutting a torn line");
    st = porta_metrics_log_open(ctx, path, false, &log);
    st |= porta_metrics_log_close(ctx, log);
    CHECK(t, !st && file_is(path, "", 0), "metrics: append 0 starts an empty file");
    st = porta_metrics_log_open(ctx, path, true, &log);
    if (!st) {
        porta_metrics_log_begin(ctx, log);
        porta_metrics_log_int(ctx, log, "step", 9);
        st = porta_metrics_log_close(ctx, log);
    }
    CHECK(t,
          st == PORTA_ERROR_INVALID_ARGUMENT && has(porta_context_message(ctx), "not ended") &&
              file_is(path, "", 0),
          "metrics: closing with a line begun drops it and says so");
    st = porta_metrics_log_open(ctx, in_dir("no/dir/m.jsonl"), false, &log);
    CHECK(t, st == PORTA_ERROR_IO && has(porta_context_message(ctx), "no/dir/m.jsonl"),
          "metrics: open in a missing directory: IO error naming the path");

    /* Truncation for resume. */
    const char *log_text = "{\"step\":1,\"loss\":2.5}\n"
                           "{\"step\":2,\"loss\":2.0}\n"
                           "{\"epoch\":1,\"test_accuracy\":0.5}\n"
                           "{\"step\":3,\"loss\":1.5}\n"
                           "{\"step\":4,\"loss\":1.2}\n"
                           "{\"epoch\":2,\"test_accuracy\":0.7}\n"
                           "{\"step\":5,\"loss\":1.1}\n"
                           "{\"step\":6,\"lo";
    write_bytes(path, log_text, strlen(log_text));
    st = porta_metrics_log_truncate_after(ctx, path, 3);
    const char *kept = "{\"step\":1,\"loss\":2.5}\n"
                       "{\"step\":2,\"loss\":2.0}\n"
                       "{\"epoch\":1,\"test_accuracy\":0.5}\n"
                       "{\"step\":3,\"loss\":1.5}\n";
    CHECK(t, !st && file_is(path, kept, strlen(kept)) && temp_files(dir) == 0,
          "metrics: truncate_after(3) keeps steps <= 3 and the eval line between them");
    write_bytes(path, log_text, strlen(log_text));
    st = porta_metrics_log_truncate_after(ctx, path, 100);
    CHECK(t, !st && file_is(path, log_text, strlen(log_text) - strlen("{\"step\":6,\"lo")),
          "metrics: truncate_after(100) drops only the torn line");
    st = porta_metrics_log_truncate_after(ctx, path, 0);
    CHECK(t, !st && file_is(path, "", 0), "metrics: truncate_after(0) keeps nothing");
    const char *corrupt = "{\"step\":1}\nnot json\n{\"step\":2}\n";
    write_bytes(path, corrupt, strlen(corrupt));
    st = porta_metrics_log_truncate_after(ctx, path, 1);
    CHECK(t,
          st == PORTA_ERROR_CORRUPT_DATA && has(porta_context_message(ctx), "line 2") &&
              has(porta_context_message(ctx), path) && file_is(path, corrupt, strlen(corrupt)),
          "metrics: a corrupt line is named and the file left alone: %s",
          porta_context_message(ctx));
    const char *bad_step = "{\"step\":-1}\n";
    write_bytes(path, bad_step, strlen(bad_step));
    st = porta_metrics_log_truncate_after(ctx, path, 1);
    CHECK(t, st == PORTA_ERROR_CORRUPT_DATA && has(porta_context_message(ctx), "\"step\""),
          "metrics: a negative step is corrupt: %s", porta_context_message(ctx));
    st = porta_metrics_log_truncate_after(ctx, in_dir("absent.jsonl"), 1);
    struct stat sb;
    CHECK(t, st == PORTA_OK && stat(in_dir("absent.jsonl"), &sb) != 0,
          "metrics: truncating a missing log is a no-op");
}

/* ---- plot -------------------------------------------------------------- */

static void test_plot_parts(test_state *t)
{
    size_t n = 100000;
    double *x = malloc(n * sizeof(double)), *y = malloc(n * sizeof(double));
    double *ox = malloc(n * sizeof(double)), *oy = malloc(n * sizeof(double));
    for (size_t i = 0; i < n; i++) {
        x[i] = (double)i;
        y[i] = 2.0 + sin((double)i * 0.001);
    }
    y[54321] = 1000.0; /* a spike */
    y[12345] = -500.0; /* a dip */
    for (size_t i = 70000; i < 70010; i++)
        y[i] = NAN; /* a gap */
    CHECK(t, porta__plot_downsample_capacity(n, 2000) >= 2000, "plot: capacity");
    size_t m = porta__plot_downsample(x, y, n, 2000, 0, ox, oy);
    int spike = 0, dip = 0, gaps = 0, ordered = 1;
    double last_x = -1;
    for (size_t i = 0; i < m; i++) {
        if (isnan(oy[i])) {
            gaps++;
            continue;
        }
        spike |= oy[i] == 1000.0;
        dip |= oy[i] == -500.0;
        ordered &= ox[i] > last_x;
        last_x = ox[i];
    }
    CHECK(t, m <= 2003 && m >= 1500, "plot: 100000 points downsampled to %zu (<= 2000 + gap)", m);
    CHECK(t, spike && dip, "plot: the spike and the dip survive downsampling");
    CHECK(t, gaps == 1, "plot: the run of NaN is one gap, got %d", gaps);
    CHECK(t, ordered, "plot: downsampled points keep their order");
    double sx[5] = {1, 2, 3, 4, 5}, sy[5] = {1, NAN, INFINITY, 0, 5};
    m = porta__plot_downsample(sx, sy, 5, 2000, 0, ox, oy);
    CHECK(t, m == 4 && oy[0] == 1 && isnan(oy[1]) && oy[2] == 0 && oy[3] == 5,
          "plot: short series kept whole, consecutive gaps merged");
    m = porta__plot_downsample(sx, sy, 5, 2000, 1, ox, oy);
    CHECK(t, m == 3 && oy[0] == 1 && isnan(oy[1]) && oy[2] == 5, "plot: y <= 0 is a gap on log");
    free(x);
    free(y);
    free(ox);
    free(oy);

    double ticks[PORTA__PLOT_MAX_TICKS], step, lo = 0.04, hi = 2.3;
    size_t k = porta__plot_ticks(&lo, &hi, 0, 5, 1, ticks, &step);
    CHECK(t, k == 6 && step == 0.5 && lo == 0 && hi == 2.5 && ticks[5] == 2.5,
          "plot: linear ticks 0..2.5 by 0.5 (got %zu, step %g, %g..%g)", k, step, lo, hi);
    lo = 1e-5, hi = 1e-3;
    k = porta__plot_ticks(&lo, &hi, 1, 5, 1, ticks, &step);
    CHECK(t, k == 7 && fabs(ticks[1] / 2e-5 - 1) < 1e-12 && fabs(ticks[6] / 1e-3 - 1) < 1e-12,
          "plot: log ticks 1-2-5 over two decades (got %zu)", k);
    lo = 0.0123, hi = 87;
    k = porta__plot_ticks(&lo, &hi, 1, 5, 1, ticks, &step);
    CHECK(t, k == 5 && fabs(lo / 0.01 - 1) < 1e-12 && fabs(hi / 100 - 1) < 1e-12,
          "plot: log ticks by decade 0.01..100 (got %zu, %g..%g)", k, lo, hi);
    lo = 1, hi = 12000;
    k = porta__plot_ticks(&lo, &hi, 0, 6, 0, ticks, &step);
    CHECK(t, k == 6 && step == 2000 && ticks[0] == 2000 && lo == 1,
          "plot: x ticks inside an unwidened range (got %zu, step %g)", k, step);
    char label[64];
    porta__plot_tick_label(label, sizeof(label), 0.5, 0.5);
    CHECK(t, !strcmp(label, "0.5"), "plot: label 0.5: %s", label);
    porta__plot_tick_label(label, sizeof(label), 12000, 2000);
    CHECK(t, !strcmp(label, "12000"), "plot: label 12000: %s", label);
    porta__plot_tick_label(label, sizeof(label), 1e-5, 0);
    CHECK(t, !strcmp(label, "1e-05"), "plot: label 1e-05: %s", label);
    porta__plot_tick_label(label, sizeof(label), 0.001, 0);
    CHECK(t, !strcmp(label, "0.001"), "plot: label 0.001: %s", label);
    porta__plot_tick_label(label, sizeof(label), 0.30000000000000004, 0.1);
    CHECK(t, !strcmp(label, "0.3"), "plot: label 0.3 without float noise: %s", label);
}

static int count(const char *text, const char *part)
{
    int n = 0;
    for (const char *p = text; p && (p = strstr(p, part)); p += strlen(part))
        n++;
    return n;
}

static void test_plot(test_state *t, porta_context *ctx)
{
    size_t n = 12000, ne = 12;
    double *step = malloc(n * sizeof(double)), *loss = malloc(n * sizeof(double));
    double *lr[3];
    for (int g = 0; g < 3; g++)
        lr[g] = malloc(n * sizeof(double));
    for (size_t i = 0; i < n; i++) {
        double s = (double)i + 1;
        step[i] = s;
        loss[i] = 2.3 * exp(-s / 2500.0) + 0.05 + 0.04 * sin(s * 0.37) * exp(-s / 6000.0);
        for (int g = 0; g < 3; g++)
            lr[g][i] = 1e-3 * pow(0.5, g) * pow(0.95, floor(s / 800.0));
    }
    loss[6000] = 4.0;                    /* a spike */
    for (size_t i = 8000; i < 8100; i++) /* skipped steps */
        loss[i] = NAN;
    double es[12], train_acc[12], test_acc[12];
    for (size_t i = 0; i < ne; i++) {
        es[i] = (double)(i + 1) * 1000;
        train_acc[i] = 0.99 - 0.5 * exp(-(double)i / 2.0);
        test_acc[i] = 0.97 - 0.5 * exp(-(double)i / 2.2);
    }
    porta_plot plot;
    memset(&plot, 0, sizeof(plot));
    plot.title = "porta-train: mlp on MNIST <AdamW & GreedyLR>";
    plot.x_label = "step";
    plot.n_panels = 3;
    plot.panels[0].title = "training loss";
    plot.panels[0].log_y = 1;
    plot.panels[0].n_series = 1;
    plot.panels[0].series[0] = (porta_plot_series){"loss", step, loss, n, PORTA_PLOT_LINE};
    plot.panels[1].title = "accuracy";
    plot.panels[1].n_series = 2;
    plot.panels[1].series[0] =
        (porta_plot_series){"train", es, train_acc, ne, PORTA_PLOT_LINE_POINTS};
    plot.panels[1].series[1] = (porta_plot_series){"test", es, test_acc, ne, PORTA_PLOT_POINTS};
    plot.panels[2].title = "learning rate";
    plot.panels[2].log_y = 1;
    plot.panels[2].n_series = 3;
    plot.panels[2].series[0] =
        (porta_plot_series){"group 0 (decay)", step, lr[0], n, PORTA_PLOT_STEPS};
    plot.panels[2].series[1] =
        (porta_plot_series){"group 1 (no decay)", step, lr[1], n, PORTA_PLOT_STEPS};
    plot.panels[2].series[2] = (porta_plot_series){NULL, step, lr[2], n, PORTA_PLOT_STEPS};
    const char *path = in_dir("plot.svg");
    porta_status st = porta_plot_svg(ctx, path, &plot);
    CHECK_OK(t, ctx, st, "plot: write the SVG");
    const char *extra = getenv("PORTA_IO_PLOT_OUT");
    if (extra && *extra)
        CHECK_OK(t, ctx, porta_plot_svg(ctx, extra, &plot), "plot: write PORTA_IO_PLOT_OUT");
    size_t bytes = 0;
    char *svg = read_bytes(path, &bytes);
    CHECK(t, svg && !strncmp(svg, "<?xml", 5) && has(svg, "</svg>\n"), "plot: an SVG document");
    CHECK(t, count(svg, "class=\"series\"") == 6, "plot: 6 series, got %d",
          count(svg, "class=\"series\""));
    CHECK(t, count(svg, "class=\"panel\"") == 3, "plot: 3 panels");
    CHECK(t, !has(svg, "nan") && !has(svg, "inf"), "plot: no NaN or inf in the coordinates");
    CHECK(t, has(svg, "&lt;AdamW &amp; GreedyLR&gt;") && has(svg, "series 3"),
          "plot: title escaped, unnamed series labelled");
    CHECK(t, bytes < 400000, "plot: downsampled file is small (%zu bytes)", bytes);
    CHECK(t, temp_files(dir) == 0, "plot: no temporary file");
    free(svg);
    if (have_python)
        CHECK(
            t,
            run_python("import sys, xml.etree.ElementTree as ET\n"
                       "ns = '{http://www.w3.org/2000/svg}'\n"
                       "root = ET.parse(sys.argv[1]).getroot()\n"
                       "assert root.tag == ns + 'svg'\n"
                       "panels = [g for g in root.iter(ns + 'g') if g.get('class') == 'panel']\n"
                       "series = [g for g in root.iter(ns + 'g') if g.get('class') == 'series']\n"
                       "assert len(panels) == 3 and len(series) == 6, (len(panels), len(series))\n"
                       "labels = [g.get('data-label') for g in series]\n"
                       "assert labels == ['loss', 'train', 'test', 'group 0 (decay)', "
                       "'group 1 (no decay)', 'series 3'], labels\n"
                       "d = series[0].find(ns + 'path').get('d')\n"
                       "moves = d.count('M')\n"
                       "assert moves == 2, moves\n"
                       "points = moves + d.count('L')\n"
                       "assert 1000 < points <= 2002, points\n"
                       "assert len(series[2].findall(ns + 'circle')) == 12\n"
                       "assert series[2].find(ns + 'path') is None\n",
                       path) == 0,
            "plot: Python's xml.etree parses it: 3 panels, 6 labelled series, the loss line "
            "in two pieces around the gap with <= 2000 points");

    /* Bad plots. */
    porta_plot bad = plot;
    bad.n_panels = 0;
    CHECK(t,
          porta_plot_svg(ctx, path, &bad) == PORTA_ERROR_INVALID_ARGUMENT &&
              has(porta_context_message(ctx), "n_panels"),
          "plot: 0 panels refused");
    bad.n_panels = 4;
    CHECK(t, porta_plot_svg(ctx, path, &bad) == PORTA_ERROR_INVALID_ARGUMENT, "plot: 4 panels");
    bad = plot;
    bad.panels[1].n_series = 9;
    CHECK(t,
          porta_plot_svg(ctx, path, &bad) == PORTA_ERROR_INVALID_ARGUMENT &&
              has(porta_context_message(ctx), "panels[1].n_series"),
          "plot: 9 series refused");
    bad = plot;
    bad.panels[2].series[1].y = NULL;
    CHECK(t,
          porta_plot_svg(ctx, path, &bad) == PORTA_ERROR_INVALID_ARGUMENT &&
              has(porta_context_message(ctx), "panels[2].series[1]"),
          "plot: NULL y refused");
    bad = plot;
    bad.panels[0].series[0].label = "bad\xc3";
    CHECK(t, porta_plot_svg(ctx, path, &bad) == PORTA_ERROR_INVALID_ARGUMENT,
          "plot: invalid UTF-8 label refused");
    /* Degenerate data still gives a document. */
    double one = 5, nan = NAN;
    porta_plot tiny;
    memset(&tiny, 0, sizeof(tiny));
    tiny.n_panels = 2;
    tiny.panels[0].n_series = 1;
    tiny.panels[0].series[0] = (porta_plot_series){"one", &one, &one, 1, PORTA_PLOT_LINE};
    tiny.panels[1].log_y = 1;
    tiny.panels[1].n_series = 1;
    tiny.panels[1].series[0] = (porta_plot_series){"missing", &one, &nan, 1, PORTA_PLOT_LINE};
    st = porta_plot_svg(ctx, path, &tiny);
    svg = read_bytes(path, NULL);
    CHECK(t, !st && svg && has(svg, "no data") && !has(svg, "nan") && !has(svg, "inf"),
          "plot: a single point and an all-NaN panel");
    free(svg);
    free(step);
    free(loss);
    for (int g = 0; g < 3; g++)
        free(lr[g]);
}

/* ---- progress ---------------------------------------------------------- */

static void test_progress(test_state *t)
{
    char buf[256];
    progress_format(buf, sizeof(buf), "epoch 2/5", 450, 1000, "loss 0.4312 lr 1e-03", 123.4, 3.6,
                    20, 0, 0);
    const char *want = "epoch 2/5 [=========>          ] 450/1000  45%  loss 0.4312 lr 1e-03  "
                       "123 it/s  ETA 0:04";
    CHECK(t, !strcmp(buf, want), "progress: line\n  want '%s'\n  got  '%s'", want, buf);
    progress_format(buf, sizeof(buf), "", 1000, 1000, NULL, 50, 3725, 20, 0, 1);
    want = "[====================] 1000/1000 100%  50.0 it/s  in 1:02:05";
    CHECK(t, !strcmp(buf, want), "progress: done\n  want '%s'\n  got  '%s'", want, buf);
    progress_format(buf, sizeof(buf), "eval", 3, 10, NULL, 0.4, 1, 0, 0, 0);
    want = "eval 3/10  30%  2.50 s/it  ETA 0:18";
    CHECK(t, !strcmp(buf, want), "progress: slow, no bar\n  want '%s'\n  got  '%s'", want, buf);
    progress_format(buf, sizeof(buf), NULL, 17, 0, "loss 1", -1, 1, 20, 0, 0);
    want = "step 17  loss 1  ? it/s";
    CHECK(t, !strcmp(buf, want), "progress: unknown total and rate\n  want '%s'\n  got  '%s'", want,
          buf);
    size_t len = progress_format(buf, sizeof(buf), "epoch 2/5", 450, 1000, "loss 0.4312", 123.4,
                                 3.6, 20, 30, 0);
    CHECK(t, len == 29 && strlen(buf) == 29, "progress: cut to the terminal width");
    char small[16];
    len = progress_format(small, sizeof(small), "a long prefix here", 1, 2, "x", 1, 1, 20, 0, 0);
    CHECK(t, len < sizeof(small) && strlen(small) == len, "progress: a small buffer is safe");
    progress_duration(buf, sizeof(buf), 59.6);
    CHECK(t, !strcmp(buf, "1:00"), "progress: 59.6 s is 1:00, got %s", buf);
    progress_duration(buf, sizeof(buf), 3600);
    CHECK(t, !strcmp(buf, "1:00:00"), "progress: 3600 s, got %s", buf);
    progress_duration(buf, sizeof(buf), NAN);
    CHECK(t, !strcmp(buf, "?"), "progress: unknown duration");

    /* A terminal: redraws at most 10 times a second. 10 s of steps every
     * millisecond. */
    progress p;
    progress_init(&p, "train", 10000, 1, 0, 100.0);
    int draws = 0, bad_draw = 0;
    for (uint64_t s = 1; s <= 10000; s++) {
        const char *text = progress_update(&p, s, "loss 1.0", 100.0 + (double)s * 0.001);
        if (text) {
            draws++;
            bad_draw |= text[0] != '\r' || !has(text, "\033[K") || has(text, "\n");
        }
    }
    CHECK(t, draws >= 95 && draws <= 101, "progress: %d redraws in 10 s", draws);
    CHECK(t, !bad_draw, "progress: a redraw is \\r ... \\033[K without a newline");
    CHECK(t, fabs(p.rate - 1000) < 1, "progress: rate %g, want 1000 it/s", p.rate);
    const char *fin = progress_finish(&p, 10000, "loss 0.5", 110.0);
    CHECK(t,
          fin[0] == '\r' && fin[strlen(fin) - 1] == '\n' && has(fin, "in 0:10") &&
              has(fin, "1000 it/s"),
          "progress: the final line: %s", fin);

    /* Not a terminal: a line every 10 % when fast... */
    progress_init(&p, "train", 1000, 0, 0, 0.0);
    int lines = 0, bad_line = 0;
    for (uint64_t s = 1; s <= 1000; s++) {
        const char *text = progress_update(&p, s, NULL, (double)s * 0.01);
        if (text) {
            lines++;
            bad_line |= has(text, "\r") || has(text, "[") || text[strlen(text) - 1] != '\n';
        }
    }
    CHECK(t, lines == 10, "progress: plain lines at every 10 %%: %d", lines);
    CHECK(t, !bad_line, "progress: plain lines have no \\r and no bar");
    /* ... and every 30 s when slow (a step every 10 s). */
    progress_init(&p, "train", 1000, 0, 0, 0.0);
    lines = 0;
    for (uint64_t s = 1; s <= 30; s++)
        lines += progress_update(&p, s, NULL, (double)s * 10.0) != NULL;
    CHECK(t, lines == 10, "progress: a plain line every 30 s: %d in 300 s", lines);
    const char *eta = progress_update(&p, 33, NULL, 330.0);
    CHECK(t, eta && has(eta, "ETA 2:41:10"), "progress: ETA at 0.1 it/s for 967 steps: %s",
          eta ? eta : "(none)");
}

int main(void)
{
    test_state t = {0};
    const char *tmp = getenv("TMPDIR");
    snprintf(dir, sizeof(dir), "%s/porta-io-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(dir)) {
        printf("cannot create a temporary directory: %s\n", strerror(errno));
        return 1;
    }
    have_python = system("python3 -c 'import json, xml.etree.ElementTree' >/dev/null 2>&1") == 0;
    if (!have_python)
        printf("note: python3 not found: the Python cross-checks are skipped\n");
    porta_context *ctx = NULL;
    porta_status st = porta_context_create(NULL, &ctx);
    CHECK(&t, st == PORTA_OK, "context: %s", porta_strerror(st));
    if (st == PORTA_OK) {
        test_json(&t);
        test_st_exact_bytes(&t, ctx);
        test_st_round_trip(&t, ctx);
        test_st_corrupt(&t, ctx);
        test_st_atomic(&t, ctx);
        test_metrics(&t, ctx);
        test_plot_parts(&t);
        test_plot(&t, ctx);
    }
    test_progress(&t);
    porta_context_destroy(ctx);
    remove_tree(dir);
    return test_finish(&t);
}
