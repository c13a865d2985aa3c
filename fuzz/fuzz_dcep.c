/*
 * libFuzzer target for sctp/dcep: the DCEP parsers on arbitrary input.
 *
 * Beyond what ASan/UBSan catch, it aborts when a result breaks the
 * contract:
 *   - hx_dcep_parse_open returns an error outside HX_DCEP_*, or accepts an
 *     OPEN whose strings lie outside the input, whose lengths do not add
 *     up to the input length exactly, whose channel type is undefined, or
 *     whose strings are not UTF-8;
 *   - an accepted OPEN, written back, is not byte-identical to the input
 *     (the parser is strict, so parse and write are inverses);
 *   - hx_dcep_parse_ack accepts anything but the single byte 0x02;
 *   - the PPID classifier, fed the first four bytes, returns a class that
 *     disagrees with RFC 8831 §8.
 *
 * Seeds (fuzz/corpus/dcep): OPENs of each channel type, an ACK, truncated
 * and over-long messages, bad UTF-8.
 */
#include "sctp/dcep.h"

#include <stdlib.h>
#include <string.h>

static void check_open(const uint8_t *data, size_t size)
{
    hx_dcep_open o;
    int rc = hx_dcep_parse_open(data, size, &o);
    if (rc > 0 || rc < HX_DCEP_EINVAL) abort();
    if (rc != HX_DCEP_OK) return;
    if (size != (size_t)HX_DCEP_OPEN_HEADER + o.label_len + o.protocol_len) abort();
    if (o.label != data + HX_DCEP_OPEN_HEADER || o.protocol != o.label + o.label_len) abort();
    if (!hx_dcep_channel_type_valid(o.channel_type)) abort();
    if (!hx_dcep_utf8_valid(o.label, o.label_len) ||
        !hx_dcep_utf8_valid(o.protocol, o.protocol_len))
        abort();
    uint8_t *out = malloc(size);
    if (!out) abort();
    if (hx_dcep_write_open(&o, out, size) != (long)size || memcmp(out, data, size) != 0) abort();
    if (hx_dcep_write_open(&o, out, size - 1) != HX_DCEP_ENOSPACE) abort();
    free(out);
}

static void check_ack(const uint8_t *data, size_t size)
{
    int rc = hx_dcep_parse_ack(data, size);
    if ((rc == HX_DCEP_OK) != (size == 1 && data[0] == HX_DCEP_ACK)) abort();
}

static void check_ppid(const uint8_t *data, size_t size)
{
    if (size < 4) return;
    uint32_t ppid =
        (uint32_t)data[0] << 24 | (uint32_t)data[1] << 16 | (uint32_t)data[2] << 8 | data[3];
    hx_ppid_class k = hx_dcep_ppid_class(ppid);
    hx_ppid_class want = HX_PPID_CLASS_UNKNOWN;
    if (ppid == 50) want = HX_PPID_CLASS_CONTROL;
    if (ppid == 51 || ppid == 56) want = HX_PPID_CLASS_STRING;
    if (ppid == 53 || ppid == 57) want = HX_PPID_CLASS_BINARY;
    if (ppid == 52 || ppid == 54) want = HX_PPID_CLASS_REFUSED;
    if (k != want) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (hx_dcep_type(data, size) != (size ? data[0] : HX_DCEP_ETRUNC)) abort();
    check_open(data, size);
    check_ack(data, size);
    check_ppid(data, size);
    return 0;
}
