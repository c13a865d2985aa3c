/*
 * libFuzzer target for the engine boundary's codec (sfu/sfu_msg.c). A
 * worker process will parse whatever its pipe delivers, so the parser must
 * hold on any bytes. What parses is rebuilt field by field and must encode
 * to exactly the input (one message, one encoding) apart from the padding
 * bytes, which the parser does not read.
 */
#include "sfu/sfu.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    hx_sfu_msg m;
    const char *why = NULL;
    if (hx_sfu_parse(data, size, &m, &why) != 0) {
        if (!why) abort();
        return 0;
    }
    static uint8_t again[HX_SFU_MSG_MAX];
    hx_sfu_builder b;
    hx_sfu_build(&b, again, sizeof again, (hx_sfu_kind)m.kind, m.transport);
    /* Fields in input order: walk the input again for the tag sequence. */
    size_t off = HX_SFU_HEADER;
    while (off < size) {
        uint8_t tag = data[off];
        size_t flen = (size_t)data[off + 2] << 8 | data[off + 3];
        if (tag == HX_SFU_T_FLAGS)
            hx_sfu_put_flags(&b, m.flags);
        else if (tag == HX_SFU_T_STATS)
            hx_sfu_put_stats(&b, m.stats);
        else
            hx_sfu_put_str(&b, (hx_sfu_tag)tag, m.f[tag].p, m.f[tag].len);
        off += 4 + ((flen + 3) & ~(size_t)3);
    }
    long n = hx_sfu_finish(&b);
    if (n < 0 || (size_t)n != size || memcmp(again, data, HX_SFU_HEADER) != 0) abort();
    off = HX_SFU_HEADER;
    while (off < size) { /* compare each field's header and value, not its padding */
        size_t flen = (size_t)data[off + 2] << 8 | data[off + 3];
        if (memcmp(again + off, data + off, 4 + flen) != 0) abort();
        off += 4 + ((flen + 3) & ~(size_t)3);
    }
    return 0;
}
