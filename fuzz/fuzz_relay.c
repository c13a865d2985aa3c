/*
 * libFuzzer target for the relay's codecs (sfu/relay.h): the frames another worker sends to a
 * worker's media socket, and the track descriptions RELAY_IN carries. The first byte picks
 * which. A frame that parses lies inside the input; a description that decodes encodes to the
 * same bytes (one encoding per description) and decodes again to the same description.
 */
#include "sfu/relay.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!size) return 0;
    uint8_t which = data[0];
    data++, size--;
    if (which & 1) {
        hx_relay_frame f;
        if (hx_relay_frame_parse(data, size, &f)) return 0;
        const uint8_t *end = data + size;
        if ((const uint8_t *)f.id < data || (const uint8_t *)f.id + f.id_len > end ||
            f.payload < data || f.payload + f.payload_len != end || !f.id_len)
            abort();
        return 0;
    }
    hx_relay_desc d, d2;
    if (hx_relay_desc_decode(data, size, &d)) return 0;
    uint8_t buf[HX_RELAY_DESC_MAX * 2];
    long n = hx_relay_desc_encode(&d, buf, sizeof buf);
    if (n != (long)size || memcmp(buf, data, size)) abort();
    if (hx_relay_desc_decode(buf, (size_t)n, &d2) || d2.n_layers != d.n_layers ||
        d2.kind != d.kind || strcmp(d2.mid, d.mid) || strcmp(d2.codec.fmtp, d.codec.fmtp) ||
        d2.layers[d.n_layers - 1].ssrc != d.layers[d.n_layers - 1].ssrc)
        abort();
    return 0;
}
