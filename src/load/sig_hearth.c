/*
 * Joining hearthd the way docs/protocol.md says a client does:
 *
 *   POST /v1/join-tickets (dev profile: X-User-Id "load<N>") -> ticket
 *   WebSocket /v1/signal?v=2 -> hello -> join {ticket, room} -> ack
 *   publisher: sdp.offer {pc: publisher} -> ack {answer}; ice.candidate "" (ours are inline)
 *   every server sdp.offer {pc: subscriber, revision} -> sdp.answer {.., revision}
 *   server ice.candidate -> the named PeerConnection
 *   with --layer: track.layer {track, rid} for every remote video track
 *   (room.tracks in the join ack, track.published later), sent once the
 *   subscriber answer that carries it is acknowledged (the server must have
 *   the consumer), again after the next answer if it was refused
 *
 * The participant's join time runs from the ticket request to its first
 * media packet (media_rx.c). Any refusal, a closed WebSocket while the run
 * goes on, or a transport failure fails the participant (worker.c counts
 * it). JSON is jansson, SDP text up to HX_SDP_MAX_LEN: per participant,
 * a few times, never per packet.
 */
#include "load/load_internal.h"
#include "sdp/sdp.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int send_json(hx_load_part *p, json_t *msg)
{
    char *txt = json_dumps(msg, JSON_COMPACT);
    json_decref(msg);
    if (!txt) return -1;
    int rc = hx_lconn_ws_send(&p->ws, txt, strlen(txt));
    free(txt);
    return rc;
}

static int request(hx_load_part *p, const char *type, const char *id, json_t *data)
{
    return send_json(p, json_pack("{s:s,s:s,s:o}", "type", type, "id", id, "data", data));
}

static void send_offer(hx_load_part *p)
{
    char *sdp = hx__load_publisher_offer(p);
    if (sdp &&
        request(p, "sdp.offer", "pub", json_pack("{s:s,s:s}", "pc", "publisher", "sdp", sdp)) != 0)
        hx__load_fail(p, "publisher offer send");
    free(sdp);
}

static void on_sub_offer(hx_load_part *p, json_t *data)
{
    const char *offer = json_string_value(json_object_get(data, "sdp"));
    json_t *rev = json_object_get(data, "revision");
    if (!offer) return;
    if (getenv("HX_LOAD_DEBUG")) fprintf(stderr, "---- offer\n%s\n", offer);
    char *sdp = hx__load_subscriber_answer(p, offer);
    if (!sdp) return;
    if (getenv("HX_LOAD_DEBUG")) fprintf(stderr, "---- answer\n%s\n", sdp);
    json_t *d = json_pack("{s:s,s:s}", "pc", "subscriber", "sdp", sdp);
    if (rev) json_object_set(d, "revision", rev);
    if (request(p, "sdp.answer", "sub", d) != 0) hx__load_fail(p, "subscriber answer send");
    free(sdp);
}

/* Remember a remote video track (once) to ask its layer of. */
static void note_track(hx_load_part *p, json_t *track)
{
    const char *id = json_string_value(json_object_get(track, "id"));
    const char *kind = json_string_value(json_object_get(track, "kind"));
    if (p->w->run->cfg->layer < 0 || !id || !kind || strcmp(kind, "video") != 0) return;
    if (strlen(id) >= sizeof p->vtracks[0].id) return;
    for (int i = 0; i < p->n_vtracks; i++)
        if (!strcmp(p->vtracks[i].id, id)) return;
    if (p->n_vtracks == HX_LOAD_MAX_VTRACKS) return;
    hx_load_vtrack *v = &p->vtracks[p->n_vtracks++];
    snprintf(v->id, sizeof v->id, "%s", id);
    v->state = 0;
}

/* After a subscriber answer is acknowledged: track.layer for the tracks not asked yet. */
static void ask_layers(hx_load_part *p)
{
    const char *rid = hx_load_layer_rid(p->w->run->cfg->layer);
    for (int i = 0; i < p->n_vtracks; i++) {
        hx_load_vtrack *v = &p->vtracks[i];
        if (v->state != 0) continue;
        char id[16];
        snprintf(id, sizeof id, "layer%d", i);
        if (request(p, "track.layer", id, json_pack("{s:s,s:s}", "track", v->id, "rid", rid)) == 0)
            v->state = 1;
    }
}

/* The reply to track.layer `id` ("layer<i>"): acknowledged, or to ask again later. */
static bool layer_reply(hx_load_part *p, const char *id, bool ok)
{
    int i;
    if (sscanf(id, "layer%d", &i) != 1 || i < 0 || i >= p->n_vtracks) return false;
    p->vtracks[i].state = ok ? 2 : 0;
    return true;
}

static void on_ack(hx_load_part *p, const char *id, json_t *data)
{
    if (layer_reply(p, id, true)) return;
    if (!strcmp(id, "sub")) {
        ask_layers(p);
    } else if (!strcmp(id, "join")) {
        json_t *tracks = json_object_get(json_object_get(data, "room"), "tracks");
        size_t i;
        json_t *t;
        json_array_foreach(tracks, i, t) note_track(p, t);
        if (p->publisher) send_offer(p);
    } else if (!strcmp(id, "pub")) {
        const char *answer = json_string_value(json_object_get(data, "sdp"));
        if (!answer || hx__load_sdp_apply_answer(p->pub, answer) != 0) {
            hx__load_fail(p, "publisher answer");
            return;
        }
        request(p, "ice.candidate", "eoc",
                json_pack("{s:s,s:s,s:s}", "pc", "publisher", "candidate", "", "sdp_mid", "0"));
    }
}

static void on_text(void *user, char *text, size_t len)
{
    hx_load_part *p = user;
    json_t *msg = json_loadb(text, len, 0, NULL);
    if (!msg) return;
    const char *type = json_string_value(json_object_get(msg, "type"));
    const char *id = json_string_value(json_object_get(msg, "id"));
    json_t *data = json_object_get(msg, "data");
    if (!type) {
    } else if (!strcmp(type, "hello")) {
        if (request(p, "join", "join",
                    json_pack("{s:s,s:s}", "ticket", p->ticket, "room", p->w->run->cfg->room)))
            hx__load_fail(p, "join send");
        free(p->ticket);
        p->ticket = NULL;
    } else if (!strcmp(type, "ack") && id) {
        on_ack(p, id, data);
    } else if (!strcmp(type, "error") && id && layer_reply(p, id, false)) {
        /* not subscribed yet (unknown_track): asked again after the next answer */
    } else if (!strcmp(type, "track.published")) {
        note_track(p, json_object_get(data, "track"));
    } else if (!strcmp(type, "error")) {
        char why[256];
        snprintf(why, sizeof why, "server error for '%s': %s (%s)", id ? id : "-",
                 json_string_value(json_object_get(data, "code")) ?: "?",
                 json_string_value(json_object_get(data, "message")) ?: "");
        if (id && (!strcmp(id, "join") || !strcmp(id, "pub") || !strcmp(id, "sub")))
            hx__load_fail(p, why);
        else
            fprintf(stderr, "hearth-load: participant %d: %s\n", p->index, why);
    } else if (!strcmp(type, "sdp.offer")) {
        on_sub_offer(p, data);
    } else if (!strcmp(type, "ice.candidate")) {
        const char *pcname = json_string_value(json_object_get(data, "pc"));
        const char *cand = json_string_value(json_object_get(data, "candidate"));
        hx_lpc *pc = pcname && !strcmp(pcname, "publisher") ? p->pub : p->sub;
        if (pc && cand && *cand) hx_lpc_add_candidate(pc, cand);
    }
    json_decref(msg);
}

static void on_ws_open(void *user, int status, const char *body, size_t len)
{
    /* The 101: the server speaks first (hello). */
}

static void on_ws_close(void *user, int err)
{
    hx_load_part *p = user;
    if (atomic_load(&p->w->run->phase) == HX_LOAD_RUN) hx__load_fail(p, "signaling closed");
}

static void on_ticket(void *user, int status, const char *body, size_t len)
{
    hx_load_part *p = user;
    json_t *j = body ? json_loadb(body, len, 0, NULL) : NULL;
    const char *t = json_string_value(json_object_get(j, "ticket"));
    if (status != 201 || !t) {
        char why[160];
        snprintf(why, sizeof why, "ticket request: HTTP %d %.100s", status, body ? body : "");
        hx__load_fail(p, why);
        json_decref(j);
        return;
    }
    p->ticket = strdup(t);
    json_decref(j);
    p->ws.user = p;
    p->ws.on_http = on_ws_open;
    p->ws.on_text = on_text;
    p->ws.on_close = on_ws_close;
    if (!p->ticket || hx_lconn_ws(&p->ws, &p->w->loop, p->ip, p->port, "/v1/signal?v=2", NULL))
        hx__load_fail(p, "signal connect");
}

static void on_ticket_fail(void *user, int err)
{
    hx__load_fail(user, "ticket request failed");
}

int hx__load_hearth_start(hx_load_part *p)
{
    const hx_load_cfg *cfg = p->w->run->cfg;
    char headers[128], body[256];
    snprintf(headers, sizeof headers, "X-User-Id: load%d\r\nX-Device-Id: d%d\r\n", p->index,
             p->index);
    json_t *b = json_pack("{s:s,s:i}", "room", cfg->room, "protocol_version", 2);
    char *bt = json_dumps(b, JSON_COMPACT);
    json_decref(b);
    if (!bt) return -1;
    snprintf(body, sizeof body, "%s", bt);
    free(bt);
    p->http.user = p;
    p->http.on_http = on_ticket;
    p->http.on_close = on_ticket_fail;
    return hx_lconn_http(&p->http, &p->w->loop, p->ip, p->port, "POST", "/v1/join-tickets", headers,
                         body);
}
