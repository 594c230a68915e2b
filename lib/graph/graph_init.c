/* graph_init.c: seeded parameter initialisation. Every value is a pure
 * function of (graph seed, parameter index, element index), so the same
 * seed gives the same weights whatever the device or the thread count. */
#include <math.h>

#include "graph/graph_internal.h"

static uint64_t splitmix64(uint64_t x)
{
    x += 0x9E3779B97F4A7C15ull;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
    return x ^ (x >> 31);
}

/* A uniform double in (0, 1) from a 64-bit counter. */
static double uniform01(uint64_t key)
{
    return ((double)(splitmix64(key) >> 11) + 0.5) * (1.0 / 9007199254740992.0);
}

static double normal01(uint64_t key)
{
    const double u = uniform01(2 * key), v = uniform01(2 * key + 1);
    return sqrt(-2.0 * log(u)) * cos(6.283185307179586 * v);
}

static void fans(const graph_tensor *t, double *fan_in, double *fan_out)
{
    if (t->ndim == 1) {
        *fan_in = *fan_out = (double)t->shape[0];
    } else {
        double receptive = 1.0;
        for (unsigned d = 2; d < t->ndim; d++)
            receptive *= (double)t->shape[d];
        *fan_in = (double)t->shape[1] * receptive;
        *fan_out = (double)t->shape[0] * receptive;
    }
    if (t->fan_in)
        *fan_in = (double)t->fan_in;
}

void graph_init_values(const porta_graph *g, const graph_tensor *t, size_t index, float *values)
{
    double fan_in, fan_out;
    fans(t, &fan_in, &fan_out);
    const uint64_t base = splitmix64(g->seed ^ splitmix64(0x706f727461ull + index)) << 1;
    for (size_t i = 0; i < t->elements; i++) {
        const uint64_t key = base + ((uint64_t)i << 20);
        double v = 0.0;
        switch (t->init) {
        case PORTA_INIT_ZEROS:
            v = 0.0;
            break;
        case PORTA_INIT_ONES:
            v = 1.0;
            break;
        case PORTA_INIT_UNIFORM_FAN_IN:
            v = (2.0 * uniform01(key) - 1.0) / sqrt(fan_in);
            break;
        case PORTA_INIT_KAIMING_NORMAL:
            v = normal01(key) * sqrt(2.0 / fan_in);
            break;
        case PORTA_INIT_XAVIER_UNIFORM:
            v = (2.0 * uniform01(key) - 1.0) * sqrt(6.0 / (fan_in + fan_out));
            break;
        case PORTA_INIT_NORMAL:
            v = normal01(key) * (double)t->init_scale;
            break;
        }
        values[i] = (float)v;
    }
}
