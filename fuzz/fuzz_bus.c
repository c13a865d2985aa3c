/*
 * libFuzzer target for the bus codec (bus/bus_msg.c). With a Redis bus a
 * node decodes whatever the channel carries, so the decoder must hold on any
 * bytes. What decodes must encode, and that encoding must decode to the
 * same message, field for field (decode is the inverse of encode).
 */
#include "bus/bus.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    hx_bus_msg m, again;
    if (hx_bus_decode((const char *)data, size, &m) != 0) return 0;
    static char wire[HX_BUS_MAX_BYTES];
    int n = hx_bus_encode(&m, wire, sizeof wire);
    if (n < 0) abort(); /* every decoded message fits: each field is bounded */
    if (hx_bus_decode(wire, (size_t)n, &again) != 0) abort();
    if (memcmp(&m, &again, sizeof m) != 0) abort();
    return 0;
}
