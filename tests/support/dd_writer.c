#include "support/dd_writer.h"

#include <string.h>

typedef struct {
    uint8_t *p;
    size_t cap, bits;
    bool over;
} bitw;

static void put(bitw *w, uint32_t v, unsigned n)
{
    for (unsigned i = n; i-- > 0; w->bits++) {
        if (w->bits / 8 >= w->cap) {
            w->over = true;
            return;
        }
        if (v >> i & 1) w->p[w->bits / 8] |= (uint8_t)(0x80 >> (w->bits % 8));
    }
}

/* ns(n) as the spec writes it: values below m in w-1 bits, the rest as v + m in w bits. */
static void put_ns(bitw *w, uint32_t v, uint32_t n)
{
    unsigned bits = 0;
    for (uint32_t x = n; x; x >>= 1)
        bits++;
    uint32_t m = (1u << bits) - n;
    if (v < m)
        put(w, v, bits - 1);
    else
        put(w, v + m, bits);
}

static const uint8_t t_sid[DDW_TEMPLATES] = {0, 0, 0, 0, 1, 1, 1, 2, 2, 2};
static const uint8_t t_tid[DDW_TEMPLATES] = {0, 0, 1, 2, 0, 1, 2, 0, 1, 2};
static const uint8_t t_fdiffs[DDW_TEMPLATES][2] = {{0},    {4},    {2}, {1},    {1},
                                                   {1, 2}, {1, 1}, {1}, {1, 2}, {1, 1}};
static const uint8_t t_nfdiffs[DDW_TEMPLATES] = {0, 1, 1, 1, 1, 2, 2, 1, 2, 2};

int ddw_template(int sid, int tid)
{
    for (int t = 1; t < DDW_TEMPLATES; t++)
        if (t_sid[t] == sid && t_tid[t] == tid) return t;
    return -1;
}

static void structure(bitw *w, const ddw_args *a)
{
    put(w, a->id_offset, 6);
    put(w, DDW_TARGETS - 1, 5);
    for (int t = 0; t < DDW_TEMPLATES; t++) { /* template_layers: next_layer_idc */
        unsigned idc = t == DDW_TEMPLATES - 1     ? 3
                       : t_sid[t + 1] != t_sid[t] ? 2
                       : t_tid[t + 1] != t_tid[t] ? 1
                                                  : 0;
        put(w, idc, 2);
    }
    for (int t = 0; t < DDW_TEMPLATES; t++) /* DTIs: required where the target holds it */
        for (int d = 0; d < DDW_TARGETS; d++)
            put(w, t_sid[t] <= d / 3 && t_tid[t] <= d % 3 ? 3 : 0, 2);
    for (int t = 0; t < DDW_TEMPLATES; t++) { /* fdiffs */
        for (int k = 0; k < t_nfdiffs[t]; k++) {
            put(w, 1, 1);
            put(w, t_fdiffs[t][k] - 1u, 4);
        }
        put(w, 0, 1);
    }
    put_ns(w, 3, DDW_TARGETS + 1); /* chains: one per spatial layer */
    for (int d = 0; d < DDW_TARGETS; d++)
        put_ns(w, (uint32_t)(d / 3), 3);
    for (int t = 0; t < DDW_TEMPLATES; t++)
        for (int c = 0; c < 3; c++)
            put(w, t == 0 ? 0 : (unsigned)(c + 1) & 15, 4);
    put(w, a->sizes, 1);
    if (a->sizes)
        for (int s = 0; s < 3; s++) {
            put(w, (320u << s) - 1, 16);
            put(w, (180u << s) - 1, 16);
        }
}

size_t ddw_write(uint8_t *out, size_t cap, const ddw_args *a)
{
    memset(out, 0, cap);
    bitw w = {out, cap, 0, false};
    put(&w, a->start, 1);
    put(&w, a->end, 1);
    put(&w, (unsigned)(a->template_index + a->id_offset) % 64u, 6);
    put(&w, a->frame_number, 16);
    bool ext = a->structure || a->active || a->custom_fdiffs || a->extended;
    if (ext) {
        put(&w, a->structure, 1);
        put(&w, a->active, 1);
        put(&w, 0, 1); /* custom dtis */
        put(&w, a->custom_fdiffs != 0, 1);
        put(&w, 0, 1); /* custom chains */
        if (a->structure) structure(&w, a);
        if (a->active) put(&w, a->active_mask, DDW_TARGETS);
        if (a->custom_fdiffs)
            for (int k = 0; k <= a->custom_fdiffs; k++) {
                if (k == a->custom_fdiffs || a->custom_fdiffs < 0) {
                    put(&w, 0, 2);
                    break;
                }
                put(&w, 1, 2); /* size 1: four bits */
                put(&w, 0, 4);
            }
    }
    if (w.over) return 0;
    size_t n = (w.bits + 7) / 8;
    return ext && n <= 3 ? 4 : n; /* an extended descriptor is longer than three bytes */
}
