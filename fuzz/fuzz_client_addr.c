/*
 * libFuzzer target for http/client_addr: the forwarding-header parsers
 * (X-Forwarded-For, RFC 7239 Forwarded) and the right-to-left walk over
 * trusted proxies.
 *
 * Input: byte 0 picks the header (bit 0: Forwarded, else X-Forwarded-For)
 * and an output buffer size (bits 1-3); then the socket peer up to the
 * first '\n', then the header value (NULs end it, as in a C string).
 *
 * Beyond ASan/UBSan, it aborts when the result breaks the contract: the
 * output not NUL-terminated within its buffer; an address from the header
 * (1) that does not parse back as an address or is not in canonical form;
 * or the socket peer (0) that is not the peer's canonical text (or the
 * peer verbatim when it is no address).
 */
#include "http/client_addr.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static const char *const TRUSTED[] = {"127.0.0.5", "10.0.0.0/8", "fd00::/8", "192.168.1.0/25"};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static hx_cidr trusted[4];
    static size_t n;
    if (!n)
        for (size_t i = 0; i < 4; i++)
            if (hx_cidr_parse(TRUSTED[i], &trusted[n]) == 0) n++;
    if (size < 1 || size > 8192) return 0;
    hx_fwd_header which = (data[0] & 1) ? HX_FWD_FORWARDED : HX_FWD_XFF;
    static const size_t sizes[] = {HX_ADDR_STRLEN, 1, 2, 8, 16, 40, 46, 47};
    size_t outlen = sizes[(data[0] >> 1) & 7];

    char *text = malloc(size); /* peer '\0' header '\0' */
    if (!text) return 0;
    memcpy(text, data + 1, size - 1);
    text[size - 1] = '\0';
    char *nl = memchr(text, '\n', size - 1);
    const char *peer = text, *hdr = "";
    if (nl) {
        *nl = '\0';
        hdr = nl + 1;
    }
    char out[HX_ADDR_STRLEN + 8];
    memset(out, 'Z', sizeof out);
    int rc = hx_client_addr(peer, which == HX_FWD_FORWARDED ? hdr : NULL,
                            which == HX_FWD_XFF ? hdr : NULL, which, trusted, n, out, outlen);
    if (!memchr(out, '\0', outlen) || out[outlen] != 'Z') abort(); /* terminated, not overrun */

    if (outlen == HX_ADDR_STRLEN) {
        hx_ipaddr a, p;
        char canon[HX_ADDR_STRLEN];
        if (rc == 1) {
            if (hx_ip_parse(out, strlen(out), &a)) abort();
            hx_ip_format(&a, canon, sizeof canon);
            if (strcmp(canon, out)) abort();
        } else if (rc == 0) {
            if (hx_ip_parse(peer, strlen(peer), &p) == 0) {
                hx_ip_format(&p, canon, sizeof canon);
                if (strcmp(canon, out)) abort();
            } else if (strncmp(out, peer, outlen - 1) != 0) {
                abort();
            }
        } else {
            abort();
        }
    }
    /* The prefix parser on the same bytes: whatever it accepts, contains its own network. */
    hx_cidr c;
    if (hx_cidr_parse(peer, &c) == 0 && !hx_cidr_contains(&c, &c.net)) abort();
    free(text);
    return 0;
}
