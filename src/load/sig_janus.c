#include "load/load_internal.h"

int hx__load_janus_start(hx_load_part *p)
{
    return -1;
}

void hx__load_janus_tick(hx_load_part *p, uint64_t now_us) {}

void hx__load_janus_free(hx_load_part *p) {}
