/* counter_rng.h: a counter-based random generator for the data layer.
 *
 * A value is a pure function of (seed, domain, a, b): no state, so any
 * thread may draw any value in any order and get the same bits on every
 * machine. Each input is folded in with the splitmix64 finaliser. The
 * domains keep the shuffle, the augmentation and the text offsets apart. */
#ifndef PORTA_COUNTER_RNG_H
#define PORTA_COUNTER_RNG_H

#include <stdint.h>

enum {
    PORTA__RNG_SHUFFLE = 1,
    PORTA__RNG_AUGMENT = 2,
    PORTA__RNG_TEXT = 3,
};

static inline uint64_t porta__mix64(uint64_t z)
{
    z += 0x9e3779b97f4a7c15ull;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static inline uint64_t porta__counter_rng(uint64_t seed, uint64_t domain, uint64_t a, uint64_t b)
{
    uint64_t h = porta__mix64(seed);
    h = porta__mix64(h ^ domain);
    h = porta__mix64(h ^ a);
    return porta__mix64(h ^ b);
}

/* A value in [0, n) from r (n >= 1). The modulo bias is below n / 2^64. */
static inline uint64_t porta__below(uint64_t r, uint64_t n)
{
    return r % n;
}

#endif
