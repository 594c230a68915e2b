// list_devices.cpp: porta from C++. The headers are plain C with
// extern "C" guards, so a C++ program includes them as they are and builds
// with -Wall -Wextra -Werror (examples/CMakeLists.txt does).
//
//   list_devices
//
// Prints the library's version, every OpenCL and Vulkan device porta
// finds, and runs the known-answer self-test on the default device. A
// small RAII wrapper shows one way to tie porta's handles to C++ scopes.
#include <cstdio>
#include <memory>
#include <vector>

#include <porta/porta.h>
#include <porta/train.h>

namespace
{

// porta_context_destroy() as a unique_ptr deleter.
struct context_deleter {
    void operator()(porta_context *ctx) const
    {
        porta_context_destroy(ctx);
    }
};
using context_ptr = std::unique_ptr<porta_context, context_deleter>;

// A device buffer that releases itself (destructors need the context).
class buffer
{
  public:
    buffer(porta_context *ctx, size_t floats) : ctx_(ctx)
    {
        status_ = porta_buffer_create(ctx, floats * sizeof(float), &buf_);
    }
    ~buffer()
    {
        porta_buffer_destroy(ctx_, buf_);
    }
    buffer(const buffer &) = delete;
    buffer &operator=(const buffer &) = delete;
    porta_status status() const
    {
        return status_;
    }
    porta_view view(size_t offset = 0) const
    {
        return porta_view_at(buf_, offset);
    }
    porta_buffer *get() const
    {
        return buf_;
    }

  private:
    porta_context *ctx_;
    porta_buffer *buf_ = nullptr;
    porta_status status_;
};

int report(porta_context *ctx, porta_status st, const char *what)
{
    std::fprintf(stderr, "list_devices: %s: %s: %s\n", what, porta_strerror(st),
                 porta_context_message(ctx));
    return 1;
}

} // namespace

int main()
{
    const porta_version_info v = porta_version();
    std::printf("porta %s (headers %s), backends: %s\n", v.text, PORTA_VERSION_STRING, v.backends);

    porta_context *raw = nullptr;
    porta_context_options options = porta_context_options_default();
    if (porta_status st = porta_context_create(&options, &raw))
        return report(raw, st, "porta_context_create");
    context_ptr ctx(raw);

    size_t count = 0;
    if (porta_status st = porta_device_count(ctx.get(), &count))
        return report(ctx.get(), st, "porta_device_count");
    for (size_t i = 0; i < count; i++) {
        porta_device_info info;
        if (porta_device_get_info(ctx.get(), i, &info) == PORTA_OK)
            std::printf("  %-10s %-14s %s\n", info.spec, info.type, info.name);
    }
    if (count == 0) {
        std::printf("no devices: %s\n", porta_context_message(ctx.get()));
        return 0;
    }

    porta_device_info chosen;
    if (porta_status st = porta_device_open(ctx.get(), nullptr, &chosen))
        return report(ctx.get(), st, "porta_device_open");
    if (porta_status st = porta_self_test(ctx.get()))
        return report(ctx.get(), st, "porta_self_test");

    // Fill a buffer on the device, sum it there, read the sum back.
    const size_t n = 1000;
    buffer data(ctx.get(), n), sum(ctx.get(), 1);
    if (data.status() || sum.status())
        return report(ctx.get(), data.status() ? data.status() : sum.status(), "buffers");
    float result = 0.0f;
    porta_status st = porta_vec_fill(ctx.get(), data.view(), n, 0.5f);
    if (!st)
        st = porta_vec_sum(ctx.get(), data.view(), n, sum.view());
    if (!st)
        st = porta_buffer_read(ctx.get(), sum.get(), 0, sizeof result, &result);
    if (st)
        return report(ctx.get(), st, "the sum");
    std::printf("self-test passed on %s; the sum of %zu halves is %g\n", chosen.spec, n,
                static_cast<double>(result));
    return 0;
}
