/*
 * The security headers on every HTTP response, in place of libwebsockets'
 * LWS_SERVER_OPTION_HTTP_HEADERS_SECURITY_BEST_PRACTICES_ENFORCE set: the
 * same headers (no sniffing, no framing, no referrer, a strict CSP; not the
 * obsolete x-xss-protection, which browsers no longer read) with a
 * Content-Security-Policy whose connect-src also allows http: and https:.
 * lws' fixed policy says `connect-src 'self' ws: wss:`, which kept the demo
 * page (clients/js/demo, served by hearthd) from fetching a ticket from
 * another hearthd named in its Server field: the WebSocket was allowed, the
 * ticket request before it was not. A page cannot loosen a CSP sent as a
 * header (a second policy only narrows it), so the policy is set here.
 * Scripts and styles stay 'self' only; MediaStreams in srcObject need no
 * media-src.
 */
#include "http/http_internal.h"

static const struct lws_protocol_vhost_options headers[] = {
    {&headers[1], NULL, "content-security-policy:",
     "default-src 'none'; img-src 'self' data:; script-src 'self'; font-src 'self'; "
     "style-src 'self'; connect-src 'self' http: https: ws: wss:; frame-ancestors 'none'; "
     "base-uri 'none'; form-action 'self'"},
    {&headers[2], NULL, "x-content-type-options:", "nosniff"},
    {&headers[3], NULL, "x-frame-options:", "deny"},
    {NULL, NULL, "referrer-policy:", "no-referrer"},
};

const struct lws_protocol_vhost_options *hx__security_headers(void)
{
    return headers;
}
