/* graph_plan.c: place tensors in arenas so that tensors alive at the same
 * time never share bytes, and tensors that are not may.
 *
 * Greedy by size (largest first, ties by index so the plan is the same on
 * every run): each item goes to the lowest aligned offset that clears every
 * already placed item of the same arena whose lifetime [first, last]
 * overlaps its own, in the first arena where that offset still ends within
 * `cap` bytes (a device's largest buffer); a new arena when none has room.
 * With a cap no plan reaches, this is the one-arena plan. */
#include <stdlib.h>

#include "graph/graph_internal.h"

static int overlaps(const graph_plan_item *a, const graph_plan_item *b)
{
    return a->first <= b->last && b->first <= a->last;
}

static size_t align_up(size_t x, size_t align)
{
    return (x + align - 1) / align * align;
}

/* The lowest aligned offset in arena `arena` where `it` clears every
 * conflicting item already placed there. */
static size_t lowest_offset(const graph_plan_item *items, const size_t *placed, size_t n_placed,
                            const graph_plan_item *it, size_t arena, size_t align)
{
    size_t offset = 0;
    /* move past every conflicting item until none conflicts: each pass
     * either settles or moves the offset up, so this ends */
    for (int moved = 1; moved;) {
        moved = 0;
        for (size_t j = 0; j < n_placed; j++) {
            const graph_plan_item *p = &items[placed[j]];
            if (p->arena != arena || !overlaps(it, p))
                continue;
            if (offset < p->offset + p->bytes && p->offset < offset + it->bytes) {
                offset = align_up(p->offset + p->bytes, align);
                moved = 1;
            }
        }
    }
    return offset;
}

int graph_plan(graph_plan_item *items, size_t n, size_t align, size_t cap, size_t *arena_bytes,
               size_t *n_arenas)
{
    *n_arenas = 0;
    size_t *order = malloc((n ? n : 1) * sizeof *order);
    size_t *placed = malloc((n ? n : 1) * sizeof *placed);
    if (!order || !placed) {
        free(order);
        free(placed);
        return -1;
    }
    for (size_t i = 0; i < n; i++)
        order[i] = i;
    /* insertion sort: n is a few hundred at most */
    for (size_t i = 1; i < n; i++) {
        size_t v = order[i], j = i;
        while (j > 0 && (items[order[j - 1]].bytes < items[v].bytes ||
                         (items[order[j - 1]].bytes == items[v].bytes && order[j - 1] > v))) {
            order[j] = order[j - 1];
            j--;
        }
        order[j] = v;
    }
    int rc = 0;
    size_t n_placed = 0, used = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        graph_plan_item *it = &items[order[i]];
        if (it->bytes > cap) {
            it->arena = GRAPH_PLAN_TOO_LARGE;
            rc = -2;
            break;
        }
        size_t a = 0, offset = 0;
        for (;; a++) {
            offset = a < used ? lowest_offset(items, placed, n_placed, it, a, align) : 0;
            if (offset + it->bytes <= cap)
                break;
        }
        if (a >= used) {
            arena_bytes[a] = 0;
            used = a + 1;
        }
        it->arena = a;
        it->offset = offset;
        placed[n_placed++] = order[i];
        if (offset + it->bytes > arena_bytes[a])
            arena_bytes[a] = offset + it->bytes;
    }
    for (size_t a = 0; a < used; a++)
        arena_bytes[a] = align_up(arena_bytes[a], align);
    *n_arenas = used;
    free(order);
    free(placed);
    return rc;
}
