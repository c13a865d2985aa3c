/*
 * Per-connection state kept in libwebsockets' per-session user data: one
 * struct for both kinds of connection, since lws hands both to the same
 * protocol callback.
 */
#ifndef HX_HTTP_CONN_H
#define HX_HTTP_CONN_H

#include "api/api.h"
#include "signal/session.h"

#include <libwebsockets.h>
#include <stdbool.h>

typedef struct hx_outmsg {
    struct hx_outmsg *next;
    size_t len;
    unsigned char buf[]; /* LWS_PRE bytes of headroom, then the text */
} hx_outmsg;

typedef struct hx_conn {
    hx_server *srv;
    struct lws *wsi;
    /* HTTP */
    hx_http_req *req;
    char *body;
    size_t body_len, body_cap;
    hx_http_resp resp;
    size_t sent;
    bool responded;
    bool close_after;          /* an edge refusal: close once the answer is out */
    /* WebSocket */
    int version;               /* requested with ?v=, 0 = none, -1 = unparsable */
    char addr[64];             /* the client's address (client_addr.c), for the audit trail */
    hx_session *session;
    char *rx;
    size_t rx_len, rx_cap;
    bool rx_discard;           /* dropping the rest of an oversized message */
    hx_outmsg *head, *tail;
    size_t queued;
    bool close_pending;
    bool close_sent;           /* our close frame is out: wait for the peer's, then close */
    int peer_close_code;       /* the close code the client sent, 0 if none */
    bool ping_pending;
    int close_code;
    char close_reason[64];
} hx_conn;

int hx_http_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len);
int hx_ws_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len);

#endif
