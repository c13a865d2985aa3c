/*
 * What a restart must know to let a session resume (DESIGN §9): one durable
 * record per joined session, kind "session" keyed by participant id in the
 * store's state table, written on the signaling loop (never the media path)
 * when the session joins, resumes, rotates its token or changes what it
 * publishes, and deleted when it leaves. Moderation state needs no copy
 * here: sanctions are durable already and are checked at resume.
 *
 *   {"v":1, "node", "room", "user", "device", "sid", "jti", "iat", "grants", "pv",
 *    "joined_ms", "gen", "min_gen", "auto_subscribe",
 *    "tracks": [{"id", "kind", "mid", "muted"}],
 *    "subs": [{"t": track, "s": 1 | 0 | -1, "l": layer, "p": pinned}]}   (signal/subs.c;
 *             "p" is absent from records written before track.pin: not pinned)
 *
 * A heartbeat ("node", "alive" or, for a node of a cluster, "alive:<node>": {"ms"}) every
 * few seconds dates the last
 * moment the process was alive, so a restart after the restart window (or a
 * `kill -9` followed by a long outage) resumes nobody: those records are
 * dropped and their participants audited as gone. With a store the nodes of a cluster share,
 * each record names its node and a start restores only its own; another node takes a
 * record over when the participant resumes there (signal/route.c).
 */
#include "signal/session.h"

#include "auth/grants_json.h"
#include "common/clock.h"
#include "core/slo.h"
#include "signal/registry.h"

#include <stdlib.h>
#include <string.h>

#define KIND "session"

static json_t *record(const hx_session *s)
{
    const hx_participant *p = &s->p;
    json_t *tracks = json_array();
    const hx_track_info *list = p->n_tracks ? p->tracks : s->prior;
    size_t n = p->n_tracks ? p->n_tracks : s->n_prior;
    for (size_t i = 0; i < n; i++)
        json_array_append_new(tracks, json_pack("{s:s, s:s, s:s, s:b}", "id", list[i].id, "kind",
                                                list[i].kind, "mid", list[i].mid, "muted",
                                                list[i].muted));
    json_t *subs = json_array();
    for (size_t i = 0; i < s->n_choices; i++)
        json_array_append_new(subs, json_pack("{s:s, s:i, s:s, s:b}", "t", s->choices[i].track, "s",
                                              s->choices[i].subscribed, "l", s->choices[i].layer,
                                              "p", s->choices[i].pinned));
    return json_pack("{s:i, s:s, s:s, s:s, s:s, s:s, s:s, s:I, s:I, s:i, s:I, s:I, s:I, s:b, s:o, s:o}",
                     "v", 1, "node", s->srv->node, "room", p->room ? p->room->name : "", "user", p->user, "device",
                     p->device, "sid", p->sid, "jti", p->jti, "iat", (json_int_t)p->token_iat,
                     "grants", (json_int_t)p->grants, "pv", p->protocol_version, "joined_ms",
                     (json_int_t)p->joined_ms, "gen", (json_int_t)s->resume_gen, "min_gen",
                     (json_int_t)s->resume_min_gen, "auto_subscribe", s->auto_subscribe, "tracks",
                     tracks, "subs", subs);
}

hx_event hx_session_event(const hx_session *s, const char *kind, const char *code,
                          const char *detail)
{
    const hx_participant *p = &s->p;
    return (hx_event){.ts_ms = hx_now_ms(),
                      .kind = kind,
                      .room = p->room ? p->room->name : NULL,
                      .user = p->user,
                      .device = p->device,
                      .sid = p->sid[0] ? p->sid : NULL,
                      .code = code,
                      .detail = detail};
}

/* The audit record ev: written by the caller's transaction (written) or here on its own; logged
 * as hx_server_audit logs it. */
static void audited(hx_session *s, const hx_event *ev, bool written)
{
    hx_server *srv = s->srv;
    if (!ev) return;
    if (!written) {
        hx_server_audit(srv, ev->kind, ev->room, ev->user, ev->device, ev->sid, ev->code,
                        ev->detail);
        return;
    }
    hx_log(&srv->log, HX_LOG_INFO, ev->kind, "room", ev->room, "user", ev->user, "device",
           ev->device, "sid", ev->sid, "code", ev->code, NULL);
}

int hx_session_persist_with(hx_session *s, const hx_event *ev)
{
    if (!s->p.room) {
        audited(s, ev, false);
        return 0;
    }
    json_t *j = record(s);
    char *text = j ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    if (!text) {
        audited(s, ev, false);
        return -1;
    }
    hx_store *st = s->srv->store;
    /* One transaction, so one sync, for the record and its audit event (a join's, say). */
    int rc = st->ops->put_state(st, KIND, s->p.id, text, ev);
    free(text);
    if (rc != HX_STORE_OK)
        hx_log(&s->srv->log, HX_LOG_ERROR, "store.error", "op", "put_state(session)", "error",
               hx_store_errmsg(st), NULL);
    audited(s, ev, rc == HX_STORE_OK);
    return rc == HX_STORE_OK ? 0 : -1;
}

int hx_session_persist(hx_session *s)
{
    return hx_session_persist_with(s, NULL);
}

void hx_session_forget_with(hx_session *s, const hx_event *ev)
{
    if (!s->resume_gen) { /* never persisted */
        audited(s, ev, false);
        return;
    }
    hx_store *st = s->srv->store;
    int rc = st->ops->delete_state(st, KIND, s->p.id, ev);
    if (rc != HX_STORE_OK && rc != HX_STORE_NOTFOUND)
        hx_log(&s->srv->log, HX_LOG_ERROR, "store.error", "op", "delete_state(session)", "error",
               hx_store_errmsg(st), NULL);
    audited(s, ev, rc == HX_STORE_OK); /* NOTFOUND wrote nothing, ev included */
    s->resume_gen = 0;
}

void hx_session_forget(hx_session *s)
{
    hx_session_forget_with(s, NULL);
}

/* ---- start-up ------------------------------------------------------------------------- */

/* No connection: messages to an AWAY session go nowhere. */
static int away_send(void *ctx, const char *text, size_t len)
{
    (void)ctx, (void)text, (void)len;
    return 0;
}

static void away_close(void *ctx, int code, const char *reason)
{
    (void)ctx, (void)code, (void)reason;
}

static const hx_sig_io away_io = {away_send, away_close, NULL, NULL};

const hx_sig_io *hx_session_away_io(void)
{
    return &away_io;
}

static void copy_id(char *dst, size_t cap, json_t *j)
{
    const char *v = json_string_value(j);
    snprintf(dst, cap, "%s", v ? v : "");
}

typedef struct restore_ctx {
    hx_server *srv;
    char alive_name[160]; /* this node's heartbeat key (alive_key()) */
    int64_t alive_ms; /* unix ms of the last heartbeat; 0: none */
    int count;
    int dropped;
} restore_ctx;

/* "alive", or "alive:<node>" for a node of a cluster: nodes sharing a store keep their own. */
static void alive_key(const hx_server *srv, char *out, size_t cap)
{
    snprintf(out, cap, srv->node[0] ? "alive:%s" : "alive", srv->node);
}

static int read_alive(void *arg, const char *key, const char *value)
{
    restore_ctx *c = arg;
    json_t *j = json_loads(value, 0, NULL);
    if (!strcmp(key, c->alive_name)) c->alive_ms = json_integer_value(json_object_get(j, "ms"));
    json_decref(j);
    return 0;
}

/* A record's session, AWAY in its room (opened), registered; NULL when the record is unreadable
 * or the room cannot take it (the caller drops it). want_room: only a record of that room. */
static hx_session *restore_record(hx_server *srv, const char *key, json_t *j,
                                  const char *want_room)
{
    int64_t now = hx_now_ms();
    const char *room = json_string_value(json_object_get(j, "room"));
    json_t *tracks = json_object_get(j, "tracks");
    if (!j || !room || !hx_id_valid(room) || !hx_id_valid(key) ||
        strlen(key) >= sizeof ((hx_session *)0)->p.id || (want_room && strcmp(room, want_room)))
        return NULL;
    hx_session *s = calloc(1, sizeof *s);
    if (!s) return NULL;
    hx_participant *p = &s->p;
    snprintf(p->id, sizeof p->id, "%s", key);
    copy_id(p->user, sizeof p->user, json_object_get(j, "user"));
    copy_id(p->device, sizeof p->device, json_object_get(j, "device"));
    copy_id(p->sid, sizeof p->sid, json_object_get(j, "sid"));
    copy_id(p->jti, sizeof p->jti, json_object_get(j, "jti"));
    p->token_iat = json_integer_value(json_object_get(j, "iat"));
    p->grants = (uint32_t)json_integer_value(json_object_get(j, "grants"));
    p->protocol_version = (int)json_integer_value(json_object_get(j, "pv"));
    p->joined_ms = json_integer_value(json_object_get(j, "joined_ms"));
    s->resume_gen = (uint32_t)json_integer_value(json_object_get(j, "gen"));
    s->resume_min_gen = (uint32_t)json_integer_value(json_object_get(j, "min_gen"));
    s->auto_subscribe = !json_is_false(json_object_get(j, "auto_subscribe"));
    if (json_array_size(tracks) && !(s->prior = calloc(HX_MAX_TRACKS, sizeof *s->prior))) {
        hx_session_free(s);
        return NULL;
    }
    for (size_t i = 0; i < json_array_size(tracks) && s->n_prior < HX_MAX_TRACKS; i++) {
        json_t *t = json_array_get(tracks, i);
        hx_track_info *ti = &s->prior[s->n_prior++];
        copy_id(ti->id, sizeof ti->id, json_object_get(t, "id"));
        copy_id(ti->kind, sizeof ti->kind, json_object_get(t, "kind"));
        copy_id(ti->mid, sizeof ti->mid, json_object_get(t, "mid"));
        ti->muted = json_is_true(json_object_get(t, "muted"));
    }
    json_t *subs = json_object_get(j, "subs");
    if (json_array_size(subs) && !(s->choices = calloc(HX_MAX_SUB_CHOICES, sizeof *s->choices))) {
        hx_session_free(s);
        return NULL;
    }
    for (size_t i = 0; i < json_array_size(subs) && s->n_choices < HX_MAX_SUB_CHOICES; i++) {
        json_t *jc = json_array_get(subs, i);
        hx_sub_choice *sc = &s->choices[s->n_choices++];
        copy_id(sc->track, sizeof sc->track, json_object_get(jc, "t"));
        json_int_t v = json_integer_value(json_object_get(jc, "s"));
        sc->subscribed = (int8_t)(v > 0 ? 1 : v == 0 ? 0 : -1);
        copy_id(sc->layer, sizeof sc->layer, json_object_get(jc, "l"));
        sc->pinned = json_is_true(json_object_get(jc, "p"));
    }
    int err = 0;
    hx_room *r = NULL;
    if (!hx_id_valid(p->user) || !hx_id_valid(p->device) || s->resume_gen == 0 ||
        !(r = hx_rooms_open(&srv->rooms, room, srv->cfg.max_participants, now, &err)) ||
        hx_room_find_participant(r, key)) {
        hx_session_free(s);
        return NULL;
    }
    s->srv = srv;
    s->io = &away_io;
    s->p.owner = s;
    s->opened_ms = s->last_seen_ms = hx_mono_ms();
    if (hx_room_add(r, &s->p) != HX_ROOM_OK) {
        hx_session_free(s);
        return NULL;
    }
    s->state = HX_SESSION_AWAY;
    s->away_kind = "restart";
    hx_slo_marks_exempt(&s->p.slo); /* its media after the resume is not a new join */
    s->away_until_ms = hx_mono_ms() + srv->cfg.restart_grace_s * 1000;
    hx_bucket_init(&s->bucket, srv->cfg.sig_rate, srv->cfg.sig_burst, s->opened_ms);
    hx_sessions_add(srv->sessions, s);
    return s;
}

hx_session *hx_session_restore_record(hx_server *srv, const char *key, const char *value,
                                      const char *room)
{
    json_t *j = json_loads(value, 0, NULL);
    hx_session *s = restore_record(srv, key, j, room);
    json_decref(j);
    return s;
}

/* One record at start-up: an AWAY session in its room, or (stale, broken) dropped and audited.
 * Another node's record (a store the nodes share) is that node's business. */
static int restore_one(void *arg, const char *key, const char *value)
{
    restore_ctx *c = arg;
    hx_server *srv = c->srv;
    int64_t now = hx_now_ms(), grace = srv->cfg.restart_grace_s * 1000;
    json_t *j = json_loads(value, 0, NULL);
    const char *owner = json_string_value(json_object_get(j, "node"));
    if (owner && strcmp(owner, srv->node)) {
        json_decref(j);
        return 0;
    }
    bool fresh = c->alive_ms && now - c->alive_ms <= grace && grace > 0;
    if (!fresh || !restore_record(srv, key, j, NULL)) {
        /* Past the window (or unreadable): the participant is gone for good. */
        const char *room = json_string_value(json_object_get(j, "room"));
        const char *user = json_string_value(json_object_get(j, "user"));
        hx_server_audit(srv, "session.leave", room, user, json_string_value(json_object_get(j, "device")),
                        json_string_value(json_object_get(j, "sid")), "expired", NULL);
        srv->store->ops->delete_state(srv->store, KIND, key, NULL);
        c->dropped++;
        json_decref(j);
        return 0;
    }
    c->count++;
    json_decref(j);
    return 0;
}

static int collect(void *arg, const char *key, const char *value)
{
    return json_object_set_new(arg, key, json_string(value));
}

int hx_sessions_restore(hx_server *srv)
{
    restore_ctx c = {.srv = srv};
    alive_key(srv, c.alive_name, sizeof c.alive_name);
    hx_store *st = srv->store;
    if (st->ops->list_state(st, "node", read_alive, &c) != HX_STORE_OK) return -1;
    /* Collect first: restore_one deletes stale records, not while the store walks them. */
    json_t *all = json_object();
    if (!all || st->ops->list_state(st, KIND, collect, all) != HX_STORE_OK) {
        json_decref(all);
        return -1;
    }
    const char *key;
    json_t *v;
    json_object_foreach(all, key, v) restore_one(&c, key, json_string_value(v));
    json_decref(all);
    if (c.count || c.dropped) {
        char n[16], d[16];
        snprintf(n, sizeof n, "%d", c.count);
        snprintf(d, sizeof d, "%d", c.dropped);
        hx_log(&srv->log, HX_LOG_INFO, "resume.restored", "sessions", n, "expired", d, NULL);
    }
    hx_signal_heartbeat(srv, hx_mono_ms());
    return c.count;
}

void hx_signal_heartbeat(hx_server *srv, int64_t mono_ms)
{
    hx_sessions *r = srv->sessions;
    if (!r || (r->alive_written_ms && mono_ms - r->alive_written_ms < HX_ALIVE_EVERY_MS)) return;
    r->alive_written_ms = mono_ms;
    char v[48], key[160];
    snprintf(v, sizeof v, "{\"ms\":%lld}", (long long)hx_now_ms());
    alive_key(srv, key, sizeof key);
    if (srv->store->ops->put_state(srv->store, "node", key, v, NULL) != HX_STORE_OK)
        hx_log(&srv->log, HX_LOG_ERROR, "store.error", "op", "put_state(node)", "error",
               hx_store_errmsg(srv->store), NULL);
}

/* ---- a cluster's orphans ------------------------------------------------------------ */

typedef struct orphans_ctx {
    hx_server *srv;
    bool (*alive)(void *arg, const char *node);
    void *arg;
    json_t *beats;   /* node -> its last heartbeat (unix ms) */
    json_t *records; /* participant -> record text */
    int dropped;
} orphans_ctx;

static int collect_beat(void *arg, const char *key, const char *value)
{
    orphans_ctx *c = arg;
    if (strncmp(key, "alive:", 6)) return 0;
    json_t *j = json_loads(value, 0, NULL);
    json_object_set_new(c->beats, key + 6, json_integer(json_integer_value(json_object_get(j, "ms"))));
    json_decref(j);
    return 0;
}

int hx_sessions_sweep_orphans(hx_server *srv, bool (*alive)(void *arg, const char *node),
                              void *arg)
{
    orphans_ctx c = {srv, alive, arg, json_object(), json_object(), 0};
    hx_store *st = srv->store;
    int64_t now = hx_now_ms(), grace = srv->cfg.restart_grace_s * 1000;
    if (!c.beats || !c.records || st->ops->list_state(st, "node", collect_beat, &c) ||
        st->ops->list_state(st, KIND, collect, c.records)) {
        json_decref(c.beats);
        json_decref(c.records);
        return -1;
    }
    const char *key;
    json_t *v;
    json_object_foreach(c.records, key, v) {
        json_t *j = json_loads(json_string_value(v), 0, NULL);
        const char *owner = json_string_value(json_object_get(j, "node"));
        int64_t beat = json_integer_value(json_object_get(c.beats, owner ? owner : ""));
        /* Another node's, that node gone from the registry and silent past the restart window:
         * nobody can resume it any more (a take-over would have renamed it). */
        if (owner && *owner && strcmp(owner, srv->node) && !alive(arg, owner) &&
            now - beat > grace) {
            hx_server_audit(srv, "session.leave", json_string_value(json_object_get(j, "room")),
                            json_string_value(json_object_get(j, "user")),
                            json_string_value(json_object_get(j, "device")),
                            json_string_value(json_object_get(j, "sid")), "expired", NULL);
            st->ops->delete_state(st, KIND, key, NULL);
            c.dropped++;
        }
        json_decref(j);
    }
    json_decref(c.beats);
    json_decref(c.records);
    if (c.dropped) {
        char n[16];
        snprintf(n, sizeof n, "%d", c.dropped);
        hx_log(&srv->log, HX_LOG_INFO, "resume.orphans_dropped", "sessions", n, NULL);
    }
    return c.dropped;
}

void hx_sessions_free_all(hx_server *srv)
{
    hx_sessions *r = srv->sessions;
    while (r && r->head) {
        hx_session *s = r->head;
        if (s->p.room) hx_room_remove(s->p.room, &s->p, hx_now_ms());
        hx_sessions_remove(r, s);
        hx_session_free(s);
    }
}
