/* test_rounding: shaders/corrected_div_sqrt.kh on the host.
 *
 * The helpers are compiled as C here (the dialect's few names defined for
 * the host, PRECISE as nothing: the host is built with -ffp-contract=off),
 * so their arithmetic can be checked over millions of operands, which a
 * kernel on a CPU device could not show: CPU devices divide exactly, so
 * there the correction has nothing to correct. Checks:
 *   - from a quotient or root k = -3..3 ulp off, the corrected result is
 *     the correctly rounded one, except for a rare one-ulp miss (bounded);
 *   - the Dekker and fused residuals agree exactly;
 *   - zeros, infinities, NaN, subnormals and out-of-range operands come
 *     back as the device's own result;
 *   - 50 AdamW steps with one ulp of noise on each division and root drift
 *     past the optimizer test's 1e-6 bound, and stay far inside it once
 *     corrected (the reason the helpers exist).
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

typedef uint32_t uint;
#define PRECISE
#define FABS(x) fabsf(x)
#define FMA(a, b, c) fmaf((a), (b), (c))
#define SQRT(x) sqrtf(x)
#include "corrected_div_sqrt.kh"

static uint32_t bits_of(float x)
{
    uint32_t u;
    memcpy(&u, &x, sizeof u);
    return u;
}

/* x moved k representable values away from zero (toward it for k < 0). */
static float ulps_away(float x, int k)
{
    uint32_t u = bits_of(x);
    u = (uint32_t)((int64_t)u + k);
    float y;
    memcpy(&y, &u, sizeof y);
    return y;
}

/* How many representable values lie between a and b (same sign). */
static int64_t ulp_distance(float a, float b)
{
    return llabs((int64_t)bits_of(a) - (int64_t)bits_of(b));
}

static uint32_t next_random(uint64_t *s)
{
    *s = *s * 6364136223846793005ull + 1442695040888963407ull;
    return (uint32_t)(*s >> 32);
}

/* A float with a random significand, exponent in [-e, e] and sign. */
static float random_float(uint64_t *s, int e)
{
    const float m = 1.0f + (float)(next_random(s) >> 9) * 0x1p-23f;
    const int x = (int)(next_random(s) % (uint32_t)(2 * e + 1)) - e;
    const float v = ldexpf(m, x);
    return (next_random(s) & 1u) ? -v : v;
}

#define SAMPLES 2000000
/* Allowed one-ulp misses per correction: the analysis gives about 2^-20
 * per operand; a tenfold margin. */
#define MISS_RATE 1e-5

static void check_division(test_state *t)
{
    uint64_t s = 1;
    long misses = 0, worse = 0, residual_mismatch = 0;
    for (long i = 0; i < SAMPLES; i++) {
        /* Exponents within +-28: the quotient stays in the corrected range. */
        const float a = random_float(&s, 28);
        const float b = random_float(&s, 28);
        const float want = a / b;
        const int k = (int)(next_random(&s) % 7u) - 3;
        const float q = ulps_away(want, k);
        const float got = porta_div_corrected_from(a, b, q);
        const int64_t d = ulp_distance(got, want);
        misses += d == 1;
        worse += d > 1;
        residual_mismatch +=
            bits_of(porta_residual_dekker(a, q, b)) != bits_of(porta_residual_fma(a, q, b));
    }
    printf("division: %ld of %d corrected quotients one ulp off, %ld worse\n", misses, SAMPLES,
           worse);
    CHECK(t, worse == 0, "division: %ld corrected quotients more than one ulp off", worse);
    CHECK(t, misses <= (long)(MISS_RATE * SAMPLES), "division: %ld one-ulp misses in %d", misses,
          SAMPLES);
    CHECK(t, residual_mismatch == 0, "division: Dekker and fma residuals differ %ld times",
          residual_mismatch);
}

static void check_sqrt(test_state *t)
{
    uint64_t s = 2;
    long misses = 0, worse = 0;
    for (long i = 0; i < SAMPLES; i++) {
        const float x = fabsf(random_float(&s, 100));
        const float want = sqrtf(x);
        const int k = (int)(next_random(&s) % 7u) - 3;
        const float got = porta_sqrt_corrected_from(x, ulps_away(want, k));
        const int64_t d = ulp_distance(got, want);
        misses += d == 1;
        worse += d > 1;
    }
    printf("sqrt: %ld of %d corrected roots one ulp off, %ld worse\n", misses, SAMPLES, worse);
    CHECK(t, worse == 0, "sqrt: %ld corrected roots more than one ulp off", worse);
    CHECK(t, misses <= (long)(MISS_RATE * SAMPLES), "sqrt: %ld one-ulp misses in %d", misses,
          SAMPLES);
}

/* Outside the range the device's result comes back bit for bit. */
static void check_passthrough(test_state *t)
{
    const float inf = INFINITY, nan = NAN;
    const float q_in[][3] = {
        /* a, b, device quotient */
        {0.0f, 3.0f, 0.0f},
        {-0.0f, 3.0f, -0.0f},
        {1.0f, 0.0f, inf},
        {inf, 2.0f, inf},
        {nan, 2.0f, nan},
        {1.0f, nan, nan},
        {1e-30f, 1e30f, 0.0f},
        {3e30f, 1e-20f, inf},
        {1e-20f, 1e25f, 1.0000002e-45f},
        {5e20f, 1.0f, 5.0000004e20f},
    };
    for (size_t i = 0; i < sizeof q_in / sizeof q_in[0]; i++) {
        const float got = porta_div_corrected_from(q_in[i][0], q_in[i][1], q_in[i][2]);
        CHECK(t, bits_of(got) == bits_of(q_in[i][2]),
              "division passthrough %zu: %g / %g from %g gave %g", i, q_in[i][0], q_in[i][1],
              q_in[i][2], got);
    }
    const float s_in[][2] = {
        {0.0f, 0.0f}, {inf, inf}, {nan, nan}, {1e-40f, 1e-20f}, {4e37f, 2.0000001e18f}};
    for (size_t i = 0; i < sizeof s_in / sizeof s_in[0]; i++) {
        const float got = porta_sqrt_corrected_from(s_in[i][0], s_in[i][1]);
        CHECK(t, bits_of(got) == bits_of(s_in[i][1]),
              "sqrt passthrough %zu: sqrt(%g) from %g gave %g", i, s_in[i][0], s_in[i][1], got);
    }
}

/* ---- AdamW with a device that rounds its divisions and roots loosely ---- */

typedef enum { EXACT, NOISY, CORRECTED } rounding;

/* A device result: exact, or one ulp up or down (or left) at random. */
static float device_result(float exact, uint64_t *s)
{
    return ulps_away(exact, (int)(next_random(s) % 3u) - 1);
}

static float divide(float a, float b, rounding r, uint64_t *s)
{
    if (r == EXACT)
        return a / b;
    const float q = device_result(a / b, s);
    return r == CORRECTED ? porta_div_corrected_from(a, b, q) : q;
}

static float root(float x, rounding r, uint64_t *s)
{
    if (r == EXACT)
        return sqrtf(x);
    const float q = device_result(sqrtf(x), s);
    return r == CORRECTED ? porta_sqrt_corrected_from(x, q) : q;
}

#define ADAM_N 7433
#define ADAM_STEPS 50

/* 50 AdamW steps (test_optimizer's rates, PyTorch's order) over values in
 * [-1, 1); params[] gets the result. */
static void adamw_run(rounding r, float *params)
{
    static float m[ADAM_N], v[ADAM_N];
    uint64_t grads = 3, noise = 4;
    memset(m, 0, sizeof m);
    memset(v, 0, sizeof v);
    for (int i = 0; i < ADAM_N; i++)
        params[i] = (float)(next_random(&grads) >> 8) * 0x1p-23f - 1.0f;
    const float b1 = 0.9f, b2 = 0.999f, eps = 1e-8f, lr = 0.01f, wd = 0.1f;
    for (unsigned t = 1; t <= ADAM_STEPS; t++) {
        const float bc1 = (float)(1.0 - pow(b1, t));
        const float bc2_sqrt = sqrtf((float)(1.0 - pow(b2, t)));
        const float step_size = lr / bc1;
        for (int i = 0; i < ADAM_N; i++) {
            const float g = (float)(next_random(&grads) >> 8) * 0x1p-23f - 1.0f;
            const float p = params[i] * (1.0f - lr * wd);
            m[i] = m[i] + (g - m[i]) * (1.0f - b1);
            v[i] = v[i] * b2 + (g * g) * (1.0f - b2);
            const float denom = divide(root(v[i], r, &noise), bc2_sqrt, r, &noise) + eps;
            params[i] = p + (-step_size) * divide(m[i], denom, r, &noise);
        }
    }
}

/* test_optimizer's measure: relative, below 0.01 relative to 0.01. */
static double worst_difference(const float *got, const float *want)
{
    double worst = 0.0;
    for (int i = 0; i < ADAM_N; i++) {
        const double d = fabs((double)got[i] - want[i]) / fmax(fabs((double)want[i]), 0.01);
        worst = fmax(worst, d);
    }
    return worst;
}

static void check_adamw(test_state *t)
{
    static float exact[ADAM_N], noisy[ADAM_N], corrected[ADAM_N];
    adamw_run(EXACT, exact);
    adamw_run(NOISY, noisy);
    adamw_run(CORRECTED, corrected);
    const double loose = worst_difference(noisy, exact);
    const double fixed = worst_difference(corrected, exact);
    printf("AdamW, 50 steps, one ulp of noise per division and root: %.3g from the exact run, "
           "%.3g corrected\n",
           loose, fixed);
    /* The noise must matter (else this check shows nothing), and the
     * correction must remove it. */
    CHECK(t, loose > 1e-6, "AdamW: uncorrected noise drifted only %.3g", loose);
    CHECK(t, fixed <= 1e-7, "AdamW: corrected run drifted %.3g", fixed);
}

int main(void)
{
    test_state t = {0};
    check_division(&t);
    check_sqrt(&t);
    check_passthrough(&t);
    check_adamw(&t);
    return test_finish(&t);
}
