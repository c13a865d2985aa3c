/*
 * What a request head says that lws leaves for us to judge: its size (for
 * http.max_head_bytes), its Content-Length (lws would take "-1" or "12abc"
 * as whatever atoll makes of it), and the client behind a trusted proxy.
 *
 * The size is rebuilt from what lws parsed: the method and target, then
 * each header it knows as "name: value\r\n". Authorization is left out:
 * lws keeps only as much of it as a token may be (http_server.c) and an
 * oversized one is answered token_too_large and audited, which says more
 * than 431. Headers lws does not know are bounded by its header buffer,
 * sized from http.max_head_bytes (a head over that is dropped by lws).
 */
#include "http/http_internal.h"

#include <string.h>

size_t hx__head_size(struct lws *wsi)
{
    size_t n = sizeof "POST  HTTP/1.1\r\n" - 1 + 2; /* request line framing + the final CRLF */
    for (int i = 0; i < (int)WSI_TOKEN_COUNT; i++) {
        if (i == WSI_TOKEN_HTTP_AUTHORIZATION) continue;
        int len = lws_hdr_total_length(wsi, (enum lws_token_indexes)i);
        if (len <= 0) continue;
        const char *name = (const char *)lws_token_to_string((enum lws_token_indexes)i);
        n += (size_t)len + (name ? strlen(name) + 3 : 0); /* "name:" + " " + CRLF */
    }
    /* Query arguments are kept apart from the path (WSI_TOKEN_HTTP_URI_ARGS, counted above
     * with its '&'s as fragments): nothing more to add for them. */
    return n;
}

void hx__request_addr(hx_http *h, struct lws *wsi, char *out, size_t outlen)
{
    char peer[HX_ADDR_STRLEN], xff[2048], fwd[2048];
    const char *xv = NULL, *fv = NULL;
    lws_get_peer_simple(wsi, peer, sizeof peer);
    if (h->n_trusted) {
        /* A header too long for the buffer is read as absent (the socket peer). */
        int n = lws_hdr_total_length(wsi, WSI_TOKEN_X_FORWARDED_FOR);
        if (n > 0 && (size_t)n < sizeof xff && lws_hdr_copy(wsi, xff, sizeof xff,
                                                            WSI_TOKEN_X_FORWARDED_FOR) >= 0)
            xv = xff;
        n = lws_hdr_custom_length(wsi, "forwarded:", 10);
        if (n > 0 && (size_t)n < sizeof fwd &&
            lws_hdr_custom_copy(wsi, fwd, sizeof fwd, "forwarded:", 10) >= 0)
            fv = fwd;
    }
    hx_client_addr(peer, fv, xv, h->fwd, h->trusted, h->n_trusted, out, outlen);
}

int hx__content_length(struct lws *wsi, unsigned long long *n)
{
    char cl[32];
    int len = lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_CONTENT_LENGTH);
    *n = 0;
    if (len <= 0) return 0;
    if ((size_t)len >= sizeof cl || lws_hdr_copy(wsi, cl, sizeof cl, WSI_TOKEN_HTTP_CONTENT_LENGTH) <= 0)
        return -1;
    /* RFC 9110 §8.6: 1*DIGIT. No sign, no spaces inside, no list of values. */
    unsigned long long v = 0;
    for (const char *p = cl; *p; p++) {
        if (*p < '0' || *p > '9' || v > (~0ULL - 9) / 10) return -1;
        v = v * 10 + (unsigned)(*p - '0');
    }
    *n = v;
    return 1;
}
