/*
 * Joining Janus's VideoRoom plugin (Janus 1.x) over its WebSocket API
 * (subprotocol "janus-protocol"), the benchmark peer of issue 4:
 *
 *   create (session) -> attach janus.plugin.videoroom (handle 1)
 *   message {request: create, room, publishers}      (427 "already exists" is fine)
 *   publisher: message {request: join, ptype: publisher} -> event joined
 *              message {request: configure, audio, video} + jsep offer -> event + jsep answer
 *              (with simulcast, jsep.rid_order "lmh": our rids go q;h;f, low to high)
 *              trickle {completed: true}             (our candidate is in the offer)
 *   receiver:  attach handle 2 (publishers only), then poll
 *              message {request: listparticipants} every 250 ms until every other
 *              publisher is publishing; message {request: join, ptype: subscriber,
 *              streams: [{feed} ...]} -> event attached + jsep offer (a constrained
 *              receiver: {feed, mid, substream: 0} for the video of a simulcast feed)
 *              message {request: start} + jsep answer
 *   keepalive every 20 s (the session times out after 60 s of silence)
 *
 * Requests are told apart by their transaction string; events by the
 * handle that sent them. Janus is a full ICE agent: as offerer we are
 * controlling, as answerer (the subscription) Janus nominates, and its
 * checks are answered by pc.c. The participant's media path is the same as
 * against hearthd.
 */
#include "load/load_internal.h"
#include "sdp/sdp.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define POLL_US 250000
#define KEEPALIVE_US 20000000

struct hx_load_janus {
    json_int_t session, h_pub, h_sub;
    bool room_ready, joined_pub, subscribing;
    uint64_t next_poll_us, next_keepalive_us;
};

static int send_json(hx_load_part *p, json_t *msg)
{
    if (p->janus->session) json_object_set_new(msg, "session_id", json_integer(p->janus->session));
    char *txt = json_dumps(msg, JSON_COMPACT);
    json_decref(msg);
    if (!txt) return -1;
    int rc = hx_lconn_ws_send(&p->ws, txt, strlen(txt));
    free(txt);
    return rc;
}

static int message(hx_load_part *p, json_int_t handle, const char *tx, json_t *body, json_t *jsep)
{
    json_t *m = json_pack("{s:s,s:s,s:I,s:o}", "janus", "message", "transaction", tx, "handle_id",
                          handle, "body", body);
    if (jsep) json_object_set_new(m, "jsep", jsep);
    return send_json(p, m);
}

static json_int_t room_id(const hx_load_part *p)
{
    return atoll(p->w->run->cfg->room);
}

static void attach(hx_load_part *p, const char *tx)
{
    send_json(p, json_pack("{s:s,s:s,s:s}", "janus", "attach", "plugin", "janus.plugin.videoroom",
                           "transaction", tx));
}

static void publish(hx_load_part *p)
{
    char *sdp = hx__load_publisher_offer(p);
    if (!sdp) return;
    const hx_load_cfg *cfg = p->w->run->cfg;
    json_t *jsep = json_pack("{s:s,s:s}", "type", "offer", "sdp", sdp);
    /* Janus takes a=simulcast's rids as high to low unless told: ours go low to high. */
    if (jsep && cfg->video && cfg->simulcast > 1)
        json_object_set_new(jsep, "rid_order", json_string("lmh"));
    if (message(p, p->janus->h_pub, "pc",
                json_pack("{s:s,s:b,s:b}", "request", "configure", "audio", cfg->audio, "video",
                          cfg->video),
                jsep) != 0)
        hx__load_fail(p, "publisher offer");
    free(sdp);
}

/* One feed's streams in a subscriber join: all of them; a constrained receiver names them by
 * the publisher's mids (hearth-load's: audio 0, video 1) to ask for substream 0 (the lowest
 * simulcast layer, q) of the video, what hearthd chooses from its REMB. */
static void add_feed(hx_load_part *p, json_t *streams, json_int_t feed)
{
    const hx_load_cfg *cfg = p->w->run->cfg;
    if (!p->constrained || !cfg->video || cfg->simulcast < 2) {
        json_array_append_new(streams, json_pack("{s:I}", "feed", feed));
        return;
    }
    if (cfg->audio)
        json_array_append_new(streams, json_pack("{s:I,s:s}", "feed", feed, "mid", "0"));
    json_array_append_new(streams,
                          json_pack("{s:I,s:s,s:i}", "feed", feed, "mid", "1", "substream", 0));
}

/* listparticipants: subscribe once every other publisher publishes. */
static void on_participants(hx_load_part *p, json_t *list)
{
    const hx_load_cfg *cfg = p->w->run->cfg;
    int want = cfg->publishers - (p->publisher ? 1 : 0), have = 0;
    json_t *streams = json_array();
    size_t i;
    json_t *it;
    json_array_foreach(list, i, it)
    {
        json_int_t id = json_integer_value(json_object_get(it, "id"));
        char disp[32];
        snprintf(disp, sizeof disp, "load%d", p->index);
        const char *d = json_string_value(json_object_get(it, "display"));
        if (!json_is_true(json_object_get(it, "publisher")) || (d && !strcmp(d, disp))) continue;
        add_feed(p, streams, id);
        have++;
    }
    if (have < want || p->janus->subscribing) {
        json_decref(streams);
        return;
    }
    p->janus->subscribing = true;
    message(p, p->janus->h_sub, "sj",
            json_pack("{s:s,s:s,s:I,s:o}", "request", "join", "ptype", "subscriber", "room",
                      room_id(p), "streams", streams),
            NULL);
}

static void on_sub_offer(hx_load_part *p, const char *offer)
{
    char *sdp = hx__load_subscriber_answer(p, offer);
    if (!sdp) return;
    if (message(p, p->janus->h_sub, "ss", json_pack("{s:s}", "request", "start"),
                json_pack("{s:s,s:s}", "type", "answer", "sdp", sdp)) != 0)
        hx__load_fail(p, "subscriber answer");
    free(sdp);
}

static void on_success(hx_load_part *p, const char *tx, json_t *msg)
{
    hx_load_janus *j = p->janus;
    const hx_load_cfg *cfg = p->w->run->cfg;
    json_int_t id = json_integer_value(json_object_get(json_object_get(msg, "data"), "id"));
    json_t *pd = json_object_get(json_object_get(msg, "plugindata"), "data");
    if (!strcmp(tx, "c")) {
        j->session = id;
        attach(p, "a1");
    } else if (!strcmp(tx, "a1")) {
        j->h_pub = id;
        message(p, j->h_pub, "mk",
                json_pack("{s:s,s:I,s:i,s:b}", "request", "create", "room", room_id(p),
                          "publishers", cfg->publishers + 8, "is_private", 0),
                NULL);
    } else if (!strcmp(tx, "mk")) {
        j->room_ready = true;
        if (p->publisher) {
            char disp[32];
            snprintf(disp, sizeof disp, "load%d", p->index);
            message(p, j->h_pub, "pj",
                    json_pack("{s:s,s:s,s:I,s:s}", "request", "join", "ptype", "publisher", "room",
                              room_id(p), "display", disp),
                    NULL);
        }
        if (p->expects_media) attach(p, "a2");
    } else if (!strcmp(tx, "a2")) {
        j->h_sub = id;
        j->next_poll_us = hx_load_now_us();
    } else if (!strcmp(tx, "lp")) {
        on_participants(p, json_object_get(pd, "participants"));
    }
}

static void on_event(hx_load_part *p, json_t *msg)
{
    hx_load_janus *j = p->janus;
    json_int_t sender = json_integer_value(json_object_get(msg, "sender"));
    json_t *pd = json_object_get(json_object_get(msg, "plugindata"), "data");
    json_t *jsep = json_object_get(msg, "jsep");
    const char *vr = json_string_value(json_object_get(pd, "videoroom"));
    const char *sdp = json_string_value(json_object_get(jsep, "sdp"));
    const char *type = json_string_value(json_object_get(jsep, "type"));
    if (json_object_get(pd, "error_code")) {
        /* 427: the room exists already (another participant made it). */
        if (json_integer_value(json_object_get(pd, "error_code")) == 427) {
            on_success(p, "mk", msg);
            return;
        }
        char why[200];
        snprintf(why, sizeof why, "janus error %lld: %s",
                 (long long)json_integer_value(json_object_get(pd, "error_code")),
                 json_string_value(json_object_get(pd, "error")) ?: "");
        hx__load_fail(p, why);
        return;
    }
    if (sender == j->h_pub && vr && !strcmp(vr, "joined") && !j->joined_pub) {
        j->joined_pub = true;
        publish(p);
    } else if (sender == j->h_pub && sdp && type && !strcmp(type, "answer")) {
        if (!p->pub || hx__load_sdp_apply_answer(p->pub, sdp) != 0) {
            hx__load_fail(p, "publisher answer");
            return;
        }
        send_json(p, json_pack("{s:s,s:s,s:I,s:{s:b}}", "janus", "trickle", "transaction", "t",
                               "handle_id", j->h_pub, "candidate", "completed", 1));
    } else if (sender == j->h_sub && sdp && type && !strcmp(type, "offer")) {
        on_sub_offer(p, sdp);
    }
}

static void on_text(void *user, char *text, size_t len)
{
    hx_load_part *p = user;
    if (getenv("HX_LOAD_DEBUG")) fprintf(stderr, "janus> %.*s\n", (int)len, text);
    json_t *msg = json_loadb(text, len, 0, NULL);
    if (!msg) return;
    const char *kind = json_string_value(json_object_get(msg, "janus"));
    const char *tx = json_string_value(json_object_get(msg, "transaction"));
    if (!kind) {
    } else if (!strcmp(kind, "success") && tx) {
        json_t *pd = json_object_get(json_object_get(msg, "plugindata"), "data");
        if (pd && json_object_get(pd, "error_code"))
            on_event(p, msg);
        else
            on_success(p, tx, msg);
    } else if (!strcmp(kind, "event")) {
        on_event(p, msg);
    } else if (!strcmp(kind, "error")) {
        char why[200];
        snprintf(why, sizeof why, "janus error for '%s': %s", tx ? tx : "-",
                 json_string_value(json_object_get(json_object_get(msg, "error"), "reason")) ?: "");
        hx__load_fail(p, why);
    } else if (!strcmp(kind, "hangup") || !strcmp(kind, "timeout")) {
        if (atomic_load(&p->w->run->phase) == HX_LOAD_RUN) hx__load_fail(p, "janus hung up");
    }
    json_decref(msg);
}

static void on_ws_open(void *user, int status, const char *body, size_t len)
{
    hx_load_part *p = user;
    send_json(p, json_pack("{s:s,s:s}", "janus", "create", "transaction", "c"));
}

static void on_ws_close(void *user, int err)
{
    hx_load_part *p = user;
    if (atomic_load(&p->w->run->phase) == HX_LOAD_RUN) hx__load_fail(p, "janus closed");
}

int hx__load_janus_start(hx_load_part *p)
{
    p->janus = calloc(1, sizeof *p->janus);
    if (!p->janus) return -1;
    p->janus->next_keepalive_us = hx_load_now_us() + KEEPALIVE_US;
    p->ws.user = p;
    p->ws.on_http = on_ws_open;
    p->ws.on_text = on_text;
    p->ws.on_close = on_ws_close;
    return hx_lconn_ws(&p->ws, &p->w->loop, p->ip, p->port, "/", "janus-protocol");
}

void hx__load_janus_tick(hx_load_part *p, uint64_t now_us)
{
    hx_load_janus *j = p->janus;
    if (!j->session || p->ws.mode != HX_LCONN_WS) return;
    if (now_us >= j->next_keepalive_us) {
        j->next_keepalive_us = now_us + KEEPALIVE_US;
        send_json(p, json_pack("{s:s,s:s}", "janus", "keepalive", "transaction", "k"));
    }
    if (j->h_sub && !j->subscribing && now_us >= j->next_poll_us) {
        j->next_poll_us = now_us + POLL_US;
        message(p, j->h_sub, "lp",
                json_pack("{s:s,s:I}", "request", "listparticipants", "room", room_id(p)), NULL);
    }
}

void hx__load_janus_free(hx_load_part *p)
{
    free(p->janus);
    p->janus = NULL;
}
