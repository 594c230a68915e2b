/* test_errors: bad input gets a clear error and breaks nothing.
 *
 * Device specs that match nothing, allocations beyond the device's limit,
 * ranges outside a buffer, calls before a device is open; the version, the
 * view and matrix helpers and porta_context_set_message(); views whose
 * length a call's range exceeds (vector, GEMM and convolution calls), and a
 * transposed C; plus the sync counters (a stretch of enqueued work blocks
 * the host zero times) and bit-reproducible reductions, on every device.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

static void check_spec_not_found(test_state *t, const char *spec)
{
    porta_context *ctx = NULL;
    porta_status st = porta_context_create(NULL, &ctx);
    CHECK_OK(t, ctx, st, "context");
    st = porta_device_open(ctx, spec, NULL);
    const char *msg = porta_context_message(ctx);
    CHECK(t, st == PORTA_ERROR_DEVICE_NOT_FOUND, "spec \"%s\": expected DEVICE_NOT_FOUND, got %s",
          spec, porta_strerror(st));
    CHECK(t, strstr(msg, spec) != NULL, "message does not name the spec: %s", msg);
    CHECK(t, strstr(msg, "Devices found") != NULL, "message does not list devices: %s", msg);
    /* The context is still usable: the default device opens. */
    st = porta_device_open(ctx, "default", NULL);
    CHECK_OK(t, ctx, st, "default device after a failed spec");
    porta_context_destroy(ctx);
}

/* porta_version() is the version the headers name, and some backend is
 * compiled in. */
static void check_version(test_state *t)
{
    const porta_version_info v = porta_version();
    CHECK(t,
          v.major == PORTA_VERSION_MAJOR && v.minor == PORTA_VERSION_MINOR &&
              v.patch == PORTA_VERSION_PATCH,
          "porta_version() %u.%u.%u, the headers %d.%d.%d", v.major, v.minor, v.patch,
          PORTA_VERSION_MAJOR, PORTA_VERSION_MINOR, PORTA_VERSION_PATCH);
    CHECK(t, v.text && strcmp(v.text, PORTA_VERSION_STRING) == 0,
          "porta_version().text \"%s\", PORTA_VERSION_STRING \"%s\"", v.text ? v.text : "(null)",
          PORTA_VERSION_STRING);
    char text[64];
    snprintf(text, sizeof text, "%u.%u.%u", v.major, v.minor, v.patch);
    CHECK(t, v.text && strcmp(v.text, text) == 0, "porta_version().text \"%s\" is not \"%s\"",
          v.text ? v.text : "(null)", text);
    CHECK(t, PORTA_VERSION_NUMBER == v.major * 10000u + v.minor * 100u + v.patch,
          "PORTA_VERSION_NUMBER %d does not match %u.%u.%u", PORTA_VERSION_NUMBER, v.major, v.minor,
          v.patch);
    CHECK(t,
          v.backends && (strcmp(v.backends, "opencl vulkan") == 0 ||
                         strcmp(v.backends, "opencl") == 0 || strcmp(v.backends, "vulkan") == 0),
          "porta_version().backends \"%s\": expected \"opencl vulkan\", \"opencl\" or \"vulkan\"",
          v.backends ? v.backends : "(null)");
    /* Any thread, any time: the same answer twice. */
    const porta_version_info again = porta_version();
    CHECK(t, again.text == v.text && again.backends == v.backends,
          "porta_version() changed between calls");
}

/* The view and matrix helpers fill every field. */
static void check_helpers(test_state *t)
{
    porta_buffer *b = (porta_buffer *)&t; /* never dereferenced */
    porta_view v = porta_view_of(b);
    CHECK(t, v.buffer == b && v.offset == 0 && v.length == 0, "porta_view_of: %p %zu %zu",
          (void *)v.buffer, v.offset, v.length);
    v = porta_view_at(b, 17);
    CHECK(t, v.buffer == b && v.offset == 17 && v.length == 0, "porta_view_at: %p %zu %zu",
          (void *)v.buffer, v.offset, v.length);
    v = porta_view_range(b, 5, 9);
    CHECK(t, v.buffer == b && v.offset == 5 && v.length == 9, "porta_view_range: %p %zu %zu",
          (void *)v.buffer, v.offset, v.length);
    v = porta_view_none();
    CHECK(t, v.buffer == NULL && v.offset == 0 && v.length == 0, "porta_view_none: %p %zu %zu",
          (void *)v.buffer, v.offset, v.length);
    porta_matrix m = porta_matrix_of(porta_view_range(b, 3, 40), 8);
    CHECK(t,
          m.data.buffer == b && m.data.offset == 3 && m.data.length == 40 && m.ld == 8 &&
              m.batch_stride == 0 && !m.transposed,
          "porta_matrix_of: %zu %zu ld %zu stride %zu transposed %d", m.data.offset, m.data.length,
          m.ld, m.batch_stride, (int)m.transposed);
}

/* porta_context_set_message() replaces the message and returns its status. */
static void check_set_message(test_state *t)
{
    porta_context *ctx = NULL;
    porta_status st = porta_context_create(NULL, &ctx);
    CHECK_OK(t, ctx, st, "context");
    if (st)
        return;
    const porta_status codes[] = {PORTA_ERROR_IO, PORTA_ERROR_CORRUPT_DATA,
                                  PORTA_ERROR_INVALID_ARGUMENT, PORTA_OK};
    for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++) {
        const porta_status got =
            porta_context_set_message(ctx, codes[i], "toolkit %s %d: %zu", "file.bin", 42, i);
        char want[64];
        snprintf(want, sizeof want, "toolkit file.bin 42: %zu", i);
        CHECK(t, got == codes[i], "porta_context_set_message(%s) returned %s",
              porta_strerror(codes[i]), porta_strerror(got));
        CHECK(t, strcmp(porta_context_message(ctx), want) == 0,
              "porta_context_set_message: message \"%s\", want \"%s\"", porta_context_message(ctx),
              want);
    }
    /* A later failure of porta's own replaces it. */
    porta_buffer *b = NULL;
    st = porta_buffer_create(ctx, 16, &b);
    CHECK(t,
          st == PORTA_ERROR_NO_DEVICE_OPEN && strstr(porta_context_message(ctx), "toolkit") == NULL,
          "a failure after porta_context_set_message: %s, message \"%s\"", porta_strerror(st),
          porta_context_message(ctx));
    /* A message longer than the context keeps is cut, not overrun. */
    static char long_text[40000];
    memset(long_text, 'x', sizeof long_text - 1);
    long_text[sizeof long_text - 1] = '\0';
    st = porta_context_set_message(ctx, PORTA_ERROR_DRIVER, "%s", long_text);
    CHECK(t,
          st == PORTA_ERROR_DRIVER && strncmp(porta_context_message(ctx), "xxxx", 4) == 0 &&
              strlen(porta_context_message(ctx)) < sizeof long_text,
          "a long message: %s, %zu characters", porta_strerror(st),
          strlen(porta_context_message(ctx)));
    porta_context_destroy(ctx);
}

static void check_host_side(test_state *t)
{
    check_spec_not_found(t, "no-such-device-xyz");
    check_spec_not_found(t, "opencl:99");
    check_spec_not_found(t, "vulkan:99");
    check_spec_not_found(t, "opencl:1x");

    porta_context *ctx = NULL;
    porta_status st = porta_context_create(NULL, &ctx);
    CHECK_OK(t, ctx, st, "context");
    porta_buffer *b = NULL;
    st = porta_buffer_create(ctx, 16, &b);
    CHECK(t, st == PORTA_ERROR_NO_DEVICE_OPEN, "buffer before open: got %s", porta_strerror(st));
    CHECK(t, b == NULL, "a refused buffer_create left *out set");
    st = porta_vec_fill(ctx, porta_view_of(b), 4, 1.0f);
    CHECK(t, st == PORTA_ERROR_NO_DEVICE_OPEN, "fill before open: got %s", porta_strerror(st));
    CHECK(t, strlen(porta_strerror((porta_status)12345)) > 0, "strerror of an unknown code");
    /* Destructors accept NULL, with or without a device. */
    porta_buffer_destroy(ctx, NULL);
    porta_optimizer_destroy(ctx, NULL);
    porta_scheduler_destroy(ctx, NULL);
    porta_graph_destroy(ctx, NULL);
    porta_safetensors_destroy(ctx, NULL);
    porta_safetensors_writer_destroy(ctx, NULL);
    porta_context_destroy(ctx);
    porta_context_destroy(NULL);

    check_version(t);
    check_helpers(t);
    check_set_message(t);
}

/* Expect `want` from a call; when it fails, the message holds `call` (the
 * call and the argument it names, "porta_vec_fill y") and `arg`. */
static void expect(test_state *t, porta_context *ctx, const char *dev, const char *what,
                   porta_status got, porta_status want, const char *call, const char *arg)
{
    CHECK(t, got == want, "%s %s: got %s (%s), want %s", dev, what, porta_strerror(got),
          porta_context_message(ctx), porta_strerror(want));
    if (want != PORTA_OK && got == want) {
        const char *m = porta_context_message(ctx);
        CHECK(t, strstr(m, call) && strstr(m, arg), "%s %s: message '%s' names not %s and %s", dev,
              what, m, call, arg);
    }
}

/* A view's length bounds what a call may touch: a range inside the buffer
 * but past view.length is refused (and writes nothing); the same call with
 * length 0 (to the buffer's end) or long enough runs. */
static void check_vec_view_length(test_state *t, porta_context *ctx, const char *dev)
{
    enum { N = 64 };
    porta_buffer *x = NULL, *y = NULL;
    porta_status st = porta_buffer_create(ctx, N * sizeof(float), &x);
    if (!st)
        st = porta_buffer_create(ctx, N * sizeof(float), &y);
    if (!st)
        st = porta_vec_fill(ctx, porta_view_of(x), N, 2.0f);
    if (!st)
        st = porta_vec_fill(ctx, porta_view_of(y), N, 3.0f);
    CHECK_OK(t, ctx, st, "view-length buffers");
    if (st) {
        porta_buffer_destroy(ctx, x);
        porta_buffer_destroy(ctx, y);
        return;
    }
    const porta_status bad = PORTA_ERROR_INVALID_ARGUMENT;
    const char *fill = "porta_vec_fill";
    expect(t, ctx, dev, "fill of 11 through a view of 10",
           porta_vec_fill(ctx, porta_view_range(y, 0, 10), 11, 5.0f), bad, "porta_vec_fill y", "");
    expect(t, ctx, dev, "fill of 11 at 5 through a view of 10",
           porta_vec_fill(ctx, porta_view_range(y, 5, 10), 11, 5.0f), bad, "porta_vec_fill y", "");
    expect(t, ctx, dev, "fill of 1 through a view of 1 past the buffer",
           porta_vec_fill(ctx, porta_view_range(y, N, 1), 1, 5.0f), bad, "porta_vec_fill y", "");
    /* Nothing was written by the refused calls. */
    float got[N];
    st = porta_buffer_read(ctx, y, 0, sizeof got, got);
    CHECK_OK(t, ctx, st, "read after refused fills");
    size_t changed = 0;
    for (size_t i = 0; !st && i < N; i++)
        changed += got[i] != 3.0f;
    CHECK(t, !st && changed == 0, "%s: refused fills changed %zu elements", dev, changed);
    /* Length 0 (to the end) and a sufficient length run. */
    expect(t, ctx, dev, "fill of 11 through a view of 11",
           porta_vec_fill(ctx, porta_view_range(y, 5, 11), 11, 5.0f), PORTA_OK, fill, "");
    expect(t, ctx, dev, "fill of 11 through a view of 12",
           porta_vec_fill(ctx, porta_view_range(y, 20, 12), 11, 6.0f), PORTA_OK, fill, "");
    expect(t, ctx, dev, "fill of 11 through a view of length 0",
           porta_vec_fill(ctx, porta_view_range(y, 40, 0), 11, 7.0f), PORTA_OK, fill, "");
    expect(t, ctx, dev, "fill to the end with porta_view_at",
           porta_vec_fill(ctx, porta_view_at(y, N - 3), 3, 8.0f), PORTA_OK, fill, "");
    st = porta_buffer_read(ctx, y, 0, sizeof got, got);
    CHECK_OK(t, ctx, st, "read after fills");
    size_t wrong = 0;
    for (size_t i = 0; !st && i < N; i++) {
        float want = 3.0f;
        if (i >= 5 && i < 16)
            want = 5.0f;
        else if (i >= 20 && i < 31)
            want = 6.0f;
        else if (i >= 40 && i < 51)
            want = 7.0f;
        else if (i >= N - 3)
            want = 8.0f;
        wrong += got[i] != want;
    }
    CHECK(t, !st && wrong == 0, "%s: fills through views wrote %zu elements wrong", dev, wrong);
    /* Every view of a call is bounded: an input too. */
    expect(t, ctx, dev, "copy of 8 from a view of 7",
           porta_vec_copy(ctx, porta_view_range(x, 0, 7), porta_view_of(y), 8), bad,
           "porta_vec_copy x", "");
    expect(t, ctx, dev, "copy of 8 into a view of 7",
           porta_vec_copy(ctx, porta_view_of(x), porta_view_range(y, 0, 7), 8), bad,
           "porta_vec_copy y", "");
    expect(t, ctx, dev, "add of 8 with b a view of 7",
           porta_vec_add(ctx, porta_view_of(x), porta_view_range(x, 8, 7), porta_view_of(y), 8),
           bad, "porta_vec_add b", "");
    expect(t, ctx, dev, "sum into a view of length 0 at the end",
           porta_vec_sum(ctx, porta_view_of(x), 8, porta_view_at(y, N)), bad,
           "porta_vec_sum result", "");
    expect(t, ctx, dev, "sum of 8 from a view of 8",
           porta_vec_sum(ctx, porta_view_range(x, 3, 8), 8, porta_view_range(y, 0, 1)), PORTA_OK,
           "porta_vec_sum", "");
    porta_buffer_destroy(ctx, x);
    porta_buffer_destroy(ctx, y);
}

/* A 4 x 4 GEMM over 16-float matrices in 64-float buffers: each matrix's
 * data view shorter than the matrix is refused naming the matrix; long
 * enough, or of length 0, it runs. A transposed C is refused. */
static void check_gemm_view_length(test_state *t, porta_context *ctx, const char *dev)
{
    porta_buffer *ab = NULL, *cb = NULL;
    porta_status st = porta_buffer_create(ctx, 64 * sizeof(float), &ab);
    if (!st)
        st = porta_buffer_create(ctx, 64 * sizeof(float), &cb);
    if (!st)
        st = porta_vec_fill(ctx, porta_view_of(ab), 64, 0.5f);
    if (!st)
        st = porta_vec_fill(ctx, porta_view_of(cb), 64, 9.0f);
    CHECK_OK(t, ctx, st, "gemm view-length buffers");
    if (st) {
        porta_buffer_destroy(ctx, ab);
        porta_buffer_destroy(ctx, cb);
        return;
    }
    const porta_status bad = PORTA_ERROR_INVALID_ARGUMENT;
    const char *g = "porta_gemm";
    const porta_matrix a = porta_matrix_of(porta_view_range(ab, 0, 16), 4);
    const porta_matrix b = porta_matrix_of(porta_view_range(ab, 16, 16), 4);
    const porta_matrix c = porta_matrix_of(porta_view_range(cb, 8, 16), 4);
    porta_matrix x = a;
    x.data.length = 15;
    expect(t, ctx, dev, "gemm A view of 15 for 16",
           porta_gemm(ctx, 4, 4, 4, 1.0f, x, b, 0.0f, c, 1), bad, "porta_gemm a", "");
    x = b;
    x.data.length = 13; /* the last row is short */
    expect(t, ctx, dev, "gemm B view of 13 for 16",
           porta_gemm(ctx, 4, 4, 4, 1.0f, a, x, 0.0f, c, 1), bad, "porta_gemm b", "");
    x = c;
    x.data.length = 15;
    expect(t, ctx, dev, "gemm C view of 15 for 16",
           porta_gemm(ctx, 4, 4, 4, 1.0f, a, b, 0.0f, x, 1), bad, "porta_gemm c", "");
    /* A batch of two: the second matrix lies past the view. */
    x = c;
    x.batch_stride = 16;
    expect(t, ctx, dev, "gemm C batch 2 through a view of one matrix",
           porta_gemm(ctx, 4, 4, 4, 1.0f, a, b, 0.0f, x, 2), bad, "porta_gemm c", "");
    x.data.length = 32;
    expect(t, ctx, dev, "gemm C batch 2 through a view of two matrices",
           porta_gemm(ctx, 4, 4, 4, 1.0f, a, b, 0.0f, x, 2), PORTA_OK, g, "");
    /* Transposed A reads the same 16 elements: its view is checked too. */
    x = a;
    x.transposed = true;
    x.data.length = 12;
    expect(t, ctx, dev, "gemm transposed A view of 12 for 16",
           porta_gemm(ctx, 4, 4, 4, 1.0f, x, b, 0.0f, c, 1), bad, "porta_gemm a", "");
    /* Nothing was written by the refused calls (C held 9 outside what the
     * batch-2 call wrote: elements 8 .. 40). */
    float got[64];
    st = porta_buffer_read(ctx, cb, 0, sizeof got, got);
    CHECK_OK(t, ctx, st, "read C");
    size_t wrong = 0;
    for (size_t i = 0; !st && i < 64; i++)
        wrong += got[i] != (i >= 8 && i < 40 ? 1.0f : 9.0f);
    CHECK(t, !st && wrong == 0, "%s gemm through views: %zu elements of C wrong", dev, wrong);
    /* Long enough, or of length 0: runs. */
    expect(t, ctx, dev, "gemm exact views", porta_gemm(ctx, 4, 4, 4, 1.0f, a, b, 0.0f, c, 1),
           PORTA_OK, g, "");
    x = c;
    x.data.length = 0;
    expect(t, ctx, dev, "gemm C view of length 0",
           porta_gemm(ctx, 4, 4, 4, 1.0f, porta_matrix_of(porta_view_of(ab), 4),
                      porta_matrix_of(porta_view_at(ab, 16), 4), 0.0f, x, 1),
           PORTA_OK, g, "");
    x.data.length = 40;
    expect(t, ctx, dev, "gemm C view longer than needed",
           porta_gemm(ctx, 4, 4, 4, 1.0f, a, b, 0.0f, x, 1), PORTA_OK, g, "");
    /* C cannot be transposed, in either GEMM. */
    x = c;
    x.transposed = true;
    expect(t, ctx, dev, "gemm transposed C", porta_gemm(ctx, 4, 4, 4, 1.0f, a, b, 0.0f, x, 1), bad,
           "porta_gemm c", "");
    expect(t, ctx, dev, "gemm_bias_act transposed C",
           porta_gemm_bias_act(ctx, 4, 4, 4, 1.0f, a, b, 0.0f, x, NULL), bad,
           "porta_gemm_bias_act c", "");
    /* The epilogue's views are bounded too. */
    porta_gemm_epilogue e = {porta_view_range(cb, 48, 3), PORTA_RELU, porta_view_none()};
    expect(t, ctx, dev, "gemm_bias_act bias view of 3 for 4",
           porta_gemm_bias_act(ctx, 4, 4, 4, 1.0f, a, b, 0.0f, c, &e), bad, "porta_gemm_bias_act",
           "bias");
    e.bias = porta_view_range(cb, 48, 4);
    e.pre = porta_view_range(cb, 24, 15);
    expect(t, ctx, dev, "gemm_bias_act pre view of 15 for 16",
           porta_gemm_bias_act(ctx, 4, 4, 4, 1.0f, a, b, 0.0f, c, &e), bad, "porta_gemm_bias_act",
           "pre");
    e.pre = porta_view_range(cb, 24, 16);
    expect(t, ctx, dev, "gemm_bias_act exact views",
           porta_gemm_bias_act(ctx, 4, 4, 4, 1.0f, a, b, 0.0f, c, &e), PORTA_OK,
           "porta_gemm_bias_act", "");
    porta_buffer_destroy(ctx, ab);
    porta_buffer_destroy(ctx, cb);
}

/* A convolution's x, w, bias and y views, each one element short, are
 * refused naming the tensor; exact or of length 0 the call runs. */
static void check_conv_view_length(test_state *t, porta_context *ctx, const char *dev)
{
    /* x 2x3x7x5 = 210, w 4x3x3x3 = 108, bias 4, y 2x4x4x3 = 96 */
    const porta_conv2d_shape s = {2, 3, 7, 5, 4, 3, 3, 2, 2, 1, 1, 1, 1};
    const size_t nx = 210, nw = 108, nb = 4, ny = 96;
    porta_buffer *buf = NULL;
    porta_status st = porta_buffer_create(ctx, 1024 * sizeof(float), &buf);
    if (!st)
        st = porta_vec_fill(ctx, porta_view_of(buf), 1024, 0.25f);
    CHECK_OK(t, ctx, st, "conv view-length buffer");
    if (st) {
        porta_buffer_destroy(ctx, buf);
        return;
    }
    const size_t xo = 1, wo = 300, bo = 450, yo = 500;
    const porta_view x = porta_view_range(buf, xo, nx), w = porta_view_range(buf, wo, nw),
                     b = porta_view_range(buf, bo, nb), y = porta_view_range(buf, yo, ny);
    const porta_status bad = PORTA_ERROR_INVALID_ARGUMENT;
    const char *fw = "porta_conv2d_forward";
    expect(t, ctx, dev, "conv x view one short",
           porta_conv2d_forward(ctx, &s, porta_view_range(buf, xo, nx - 1), w, b, y), bad,
           "porta_conv2d_forward x", "");
    expect(t, ctx, dev, "conv w view one short",
           porta_conv2d_forward(ctx, &s, x, porta_view_range(buf, wo, nw - 1), b, y), bad,
           "porta_conv2d_forward w", "");
    expect(t, ctx, dev, "conv bias view one short",
           porta_conv2d_forward(ctx, &s, x, w, porta_view_range(buf, bo, nb - 1), y), bad,
           "porta_conv2d_forward bias", "");
    expect(t, ctx, dev, "conv y view one short",
           porta_conv2d_forward(ctx, &s, x, w, b, porta_view_range(buf, yo, ny - 1)), bad,
           "porta_conv2d_forward y", "");
    float got[1024];
    st = porta_buffer_read(ctx, buf, 0, sizeof got, got);
    CHECK_OK(t, ctx, st, "read after refused convolutions");
    size_t changed = 0;
    for (size_t i = 0; !st && i < 1024; i++)
        changed += got[i] != 0.25f;
    CHECK(t, !st && changed == 0, "%s: refused convolutions changed %zu elements", dev, changed);
    expect(t, ctx, dev, "conv exact views", porta_conv2d_forward(ctx, &s, x, w, b, y), PORTA_OK, fw,
           "");
    expect(t, ctx, dev, "conv views of length 0",
           porta_conv2d_forward(ctx, &s, porta_view_at(buf, xo), porta_view_at(buf, wo),
                                porta_view_at(buf, bo), porta_view_at(buf, yo)),
           PORTA_OK, fw, "");
    expect(t, ctx, dev, "conv without bias",
           porta_conv2d_forward(ctx, &s, x, w, porta_view_none(), y), PORTA_OK, fw, "");
    /* The backward passes bound their views the same way. */
    expect(t, ctx, dev, "conv backward data dx view one short",
           porta_conv2d_backward_data(ctx, &s, y, w, porta_view_range(buf, xo, nx - 1), false), bad,
           "porta_conv2d_backward_data dx", "");
    expect(t, ctx, dev, "conv backward filter dw view one short",
           porta_conv2d_backward_filter(ctx, &s, x, y, porta_view_range(buf, wo, nw - 1),
                                        porta_view_none(), false),
           bad, "porta_conv2d_backward_filter dw", "");
    porta_buffer_destroy(ctx, buf);
}

static void check_device(test_state *t, porta_context *ctx, const porta_device_info *info,
                         void *user)
{
    (void)user;
    /* The device's API is one of the backends compiled in. */
    CHECK(t, strstr(porta_version().backends, info->api) != NULL,
          "%s: api %s is not among porta_version().backends \"%s\"", info->spec, info->api,
          porta_version().backends);
    /* One byte more than the largest allocation the device allows. */
    porta_buffer *huge = NULL;
    porta_status st = porta_buffer_create(ctx, (size_t)info->max_alloc_bytes + 1, &huge);
    CHECK(t, st == PORTA_ERROR_ALLOCATION_TOO_LARGE && huge == NULL,
          "%s: oversized allocation gave %s", info->spec, porta_strerror(st));
    CHECK(t, strstr(porta_context_message(ctx), "byte") != NULL,
          "%s: oversized allocation message says nothing useful: %s", info->spec,
          porta_context_message(ctx));

    const size_t n = 100003;
    porta_buffer *x = NULL, *sums = NULL;
    st = porta_buffer_create(ctx, n * sizeof(float), &x);
    CHECK_OK(t, ctx, st, "buffer x");
    st = porta_buffer_create(ctx, 4 * sizeof(float), &sums);
    CHECK_OK(t, ctx, st, "buffer sums");
    if (!x || !sums)
        return;

    /* Out-of-range arguments are refused before anything is enqueued. */
    st = porta_vec_fill(ctx, porta_view_at(x, 1), n, 1.0f);
    CHECK(t, st == PORTA_ERROR_INVALID_ARGUMENT, "fill past the end gave %s", porta_strerror(st));
    st = porta_vec_copy(ctx, porta_view_of(x), porta_view_of(sums), 5);
    CHECK(t, st == PORTA_ERROR_INVALID_ARGUMENT, "copy past the end gave %s", porta_strerror(st));
    float v = 0;
    st = porta_buffer_write(ctx, sums, 12, 8, &v);
    CHECK(t, st == PORTA_ERROR_INVALID_ARGUMENT, "write past the end gave %s", porta_strerror(st));
    st = porta_vec_fill(ctx, porta_view_none(), 4, 1.0f);
    CHECK(t, st == PORTA_ERROR_INVALID_ARGUMENT, "fill of no buffer gave %s", porta_strerror(st));

    /* A stretch of enqueued work synchronises zero times; one read once. */
    float *host = malloc(n * sizeof(float));
    for (size_t i = 0; i < n; i++)
        host[i] = (float)((i * 7919u) % 1000u) / 1000.0f - 0.5f;
    porta_counters before, after;
    porta_counters_get(ctx, &before);
    st = porta_buffer_write(ctx, x, 0, n * sizeof(float), host);
    for (int i = 0; i < 50 && st == PORTA_OK; i++) {
        st = porta_vec_scale(ctx, 1.0f, porta_view_of(x), porta_view_of(x), n);
        if (!st)
            st = porta_vec_sum(ctx, porta_view_of(x), n, porta_view_at(sums, (size_t)(i % 2)));
    }
    if (!st)
        st = porta_submit(ctx);
    CHECK_OK(t, ctx, st, "enqueue stretch");
    porta_counters_get(ctx, &after);
    CHECK(t, after.host_waits == before.host_waits && after.device_reads == before.device_reads,
          "%s: 100 dispatches synchronised: waits %llu -> %llu, reads %llu -> %llu", info->spec,
          (unsigned long long)before.host_waits, (unsigned long long)after.host_waits,
          (unsigned long long)before.device_reads, (unsigned long long)after.device_reads);
    CHECK(t, after.dispatches >= before.dispatches + 100, "%s: dispatch counter did not advance",
          info->spec);
    float got[2] = {0, 0};
    st = porta_buffer_read(ctx, sums, 0, sizeof(got), got);
    CHECK_OK(t, ctx, st, "read sums");
    porta_counters_get(ctx, &after);
    CHECK(t, after.device_reads == before.device_reads + 1, "%s: a read counted %llu reads",
          info->spec, (unsigned long long)(after.device_reads - before.device_reads));
    CHECK(t, after.host_waits >= before.host_waits + 1, "%s: a read counted no wait", info->spec);
    /* The same reduction of the same data gives the same bits. */
    CHECK(t, memcmp(&got[0], &got[1], sizeof(float)) == 0, "%s: sum not reproducible: %.9g vs %.9g",
          info->spec, got[0], got[1]);
    free(host);
    porta_buffer_destroy(ctx, x);
    /* sums is left for porta_context_destroy to release. */

    check_vec_view_length(t, ctx, info->spec);
    check_gemm_view_length(t, ctx, info->spec);
    check_conv_view_length(t, ctx, info->spec);
}

int main(void)
{
    test_init();
    test_state t = {0};
    check_host_side(&t);
    test_for_each_device(&t, check_device, NULL);
    return test_finish(&t);
}
