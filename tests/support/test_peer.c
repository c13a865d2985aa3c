/* The test peer (test_peer.h). */
#include "support/test_peer.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

void peer_open(hx_server *s, peer *p, int version)
{
    hx_test_client_init(&p->c);
    p->sess = hx_session_open(s, &hx_test_client_io, &p->c, version);
    assert_non_null(p->sess);
}

/* The transport noticed the connection is gone. */
void peer_gone(peer *p)
{
    if (p->sess) hx_session_closed(p->sess);
    p->sess = NULL;
}

void peer_free(peer *p)
{
    peer_gone(p);
    hx_test_client_free(&p->c);
}

void send_text(peer *p, const char *text)
{
    hx_session_message(p->sess, text, strlen(text));
}

/* Send a message built from a json_t (stolen). */
void send_json(peer *p, json_t *m)
{
    assert_non_null(m);
    char *text = json_dumps(m, JSON_COMPACT);
    json_decref(m);
    assert_non_null(text);
    send_text(p, text);
    free(text);
}

void send_join(peer *p, const char *id, const char *ticket, const char *room)
{
    send_json(p, json_pack("{s:s, s:s, s:{s:s, s:s}}", "type", "join", "id", id, "data", "ticket",
                           ticket, "room", room));
}

void mint(hx_server *s, const char *room, const char *user, const char *device, const char *sid,
          const char *jti, int version, char *text)
{
    assert_int_equal(
        hx_test_mint(s, room, user, device, sid, jti, version, text, HX_TICKET_MAX_TEXT + 1), 0);
}

/* Mint, join, and check the ack; returns the ack's data (borrowed from the client). */
json_t *join_ok(hx_server *s, peer *p, const char *room, const char *user, const char *device)
{
    char t[HX_TICKET_MAX_TEXT + 1];
    mint(s, room, user, device, NULL, NULL, p->sess->version, t);
    send_join(p, "j", t, room);
    json_t *ack = hx_test_client_last(&p->c, NULL);
    assert_non_null(ack);
    assert_string_equal(hx_test_msg_type(ack), "ack");
    assert_string_equal(hx_test_msg_id(ack), "j");
    assert_int_equal(p->sess->state, HX_SESSION_JOINED);
    return hx_test_msg_data(ack);
}

json_t *join_with_grants(hx_server *s, peer *p, const char *room, const char *user,
                         const char *device, uint32_t grants)
{
    hx_ticket t;
    char text[HX_TICKET_MAX_TEXT + 1];
    hx_ticket_req req = {.room = room,
                         .user = user,
                         .device = device,
                         .sid = "",
                         .jti = "",
                         .grants = grants,
                         .protocol_version = p->sess->version};
    assert_int_equal(hx_server_mint_ticket(s, &req, &t, text, sizeof text), 0);
    send_join(p, "j", text, room);
    json_t *ack = hx_test_client_last(&p->c, NULL);
    assert_non_null(ack);
    assert_string_equal(hx_test_msg_type(ack), "ack");
    return hx_test_msg_data(ack);
}

json_t *last_data(const peer *p, const char *type)
{
    json_t *m = hx_test_client_last(&p->c, type);
    assert_non_null(m);
    return hx_test_msg_data(m);
}

const char *str_at(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    assert_true(json_is_string(v));
    return json_string_value(v);
}

json_int_t int_at(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    assert_true(json_is_integer(v));
    return json_integer_value(v);
}

int count_events_cb(void *arg, const hx_event *ev)
{
    (*(int *)arg)++;
    return 0;
}

int count_events(hx_server *s, const char *kind)
{
    int n = 0;
    hx_event_filter f = {.kind = kind, .limit = 1000};
    assert_int_equal(s->store->ops->query_events(s->store, &f, count_events_cb, &n), 0);
    return n;
}

int keep_event_cb(void *arg, const hx_event *ev)
{
    last_event *le = arg;
    le->n++;
    snprintf(le->code, sizeof le->code, "%s", ev->code ? ev->code : "");
    snprintf(le->room, sizeof le->room, "%s", ev->room ? ev->room : "");
    snprintf(le->user, sizeof le->user, "%s", ev->user ? ev->user : "");
    snprintf(le->device, sizeof le->device, "%s", ev->device ? ev->device : "");
    snprintf(le->sid, sizeof le->sid, "%s", ev->sid ? ev->sid : "");
    snprintf(le->detail, sizeof le->detail, "%s", ev->detail ? ev->detail : "");
    return 0;
}

bool metrics_have(hx_server *s, const char *line)
{
    size_t len;
    char *text = hx_metrics_render(&s->metrics, &len);
    assert_non_null(text);
    bool found = strstr(text, line) != NULL;
    free(text);
    return found;
}

int fake_engine_post(void *ctx, const uint8_t *msg, size_t len)
{
    engine_record *r = ctx;
    if (!r) return 0;
    r->posts++;
    r->len = len <= sizeof r->last ? len : 0;
    memcpy(r->last, msg, r->len);
    return 0;
}

uint64_t peer_transport(const peer *p, int role)
{
    return p->sess->media_serial * 2 + (uint64_t)role;
}

void engine_event_to(hx_server *s, uint64_t transport, hx_sfu_kind kind, ...)
{
    va_list ap;
    va_start(ap, kind);
    engine_event_v(s, transport, kind, 0, ap);
    va_end(ap);
}

void publish_track(hx_server *s, const peer *p, const char *track, const char *kind,
                   const char *mid, const char *layers)
{
    engine_event_to(s, peer_transport(p, 0), HX_SFU_EV_TRACK_PUBLISHED, HX_SFU_T_ROOM, "r",
                    HX_SFU_T_PARTICIPANT, p->sess->p.id, HX_SFU_T_TRACK, track, HX_SFU_T_MEDIA_KIND,
                    kind, HX_SFU_T_MID, mid, layers ? HX_SFU_T_LAYERS : 0, layers, 0);
}

void engine_event_v(hx_server *s, uint64_t transport, hx_sfu_kind kind, uint32_t flags, va_list ap)
{
    uint8_t buf[8192];
    hx_sfu_builder b;
    hx_sfu_build(&b, buf, sizeof buf, kind, transport);
    for (int tag; (tag = va_arg(ap, int)) != 0;)
        hx_sfu_put_cstr(&b, (hx_sfu_tag)tag, va_arg(ap, const char *));
    if (flags) hx_sfu_put_flags(&b, flags);
    long n = hx_sfu_finish(&b);
    assert_true(n > 0);
    hx_signal_engine_event(s, buf, (size_t)n);
}
