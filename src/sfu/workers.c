/*
 * The worker dispatch (workers.h). Each transport's placement points at its room's record, so
 * a close (which names only the transport) finds the room it leaves and the worker it was on.
 */
#include "sfu/workers.h"

#include "common/invariant.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ROOM_MAX 256 /* a room name, NUL included (identifiers are at most 128 bytes) */
#define TRACK_MAX 64

typedef struct worker_room {
    int worker; /* the home */
    uint32_t transports;
    uint32_t on[HX_MAX_WORKERS];   /* its transports on each worker */
    uint32_t subs[HX_MAX_WORKERS]; /* ... of which subscribers */
    uint32_t spread;               /* bit per worker other than the home relayed to */
    char name[];                   /* the room */
} worker_room;

typedef struct placed {
    worker_room *room;
    int worker;
    bool sub;
} placed;

/* A track a worker published, for the mirrors on the others. */
typedef struct wtrack {
    uint64_t pub; /* its publisher's transport */
    int worker;
    size_t desc_len;
    char room[ROOM_MAX];
    char participant[ROOM_MAX];
    char id[TRACK_MAX];
    uint8_t desc[];
} wtrack;

int hx_workers_init(hx_workers *w, size_t n, hx_worker_post_fn post, void *const *ctx)
{
    memset(w, 0, sizeof *w);
    if (n < 1 || n > HX_MAX_WORKERS) return -1;
    w->n = n;
    w->post = post;
    for (size_t i = 0; i < n; i++)
        w->ctx[i] = ctx[i];
    hx_strmap_init(&w->rooms);
    hx_strmap_init(&w->by_transport);
    hx_strmap_init(&w->tracks);
    return 0;
}

static int free_value(void *arg, const char *key, void *value)
{
    (void)arg, (void)key;
    free(value);
    return 1;
}

void hx_workers_free(hx_workers *w)
{
    hx_strmap_foreach(&w->rooms, free_value, NULL);
    hx_strmap_foreach(&w->by_transport, free_value, NULL);
    hx_strmap_foreach(&w->tracks, free_value, NULL);
    hx_strmap_free(&w->rooms);
    hx_strmap_free(&w->by_transport);
    hx_strmap_free(&w->tracks);
}

static void key_of(uint64_t transport, char key[24])
{
    snprintf(key, 24, "%llx", (unsigned long long)transport);
}

static placed *placement(const hx_workers *w, uint64_t transport)
{
    char key[24];
    key_of(transport, key);
    return hx_strmap_get(&w->by_transport, key);
}

int hx_workers_of_transport(const hx_workers *w, uint64_t transport)
{
    const placed *p = placement(w, transport);
    return p ? p->worker : -1;
}

int hx_workers_of_room(const hx_workers *w, const char *room)
{
    const worker_room *r = hx_strmap_get(&w->rooms, room);
    return r ? r->worker : -1;
}

uint32_t hx_workers_room_on(const hx_workers *w, const char *room, int worker)
{
    const worker_room *r = hx_strmap_get(&w->rooms, room);
    return r && worker >= 0 && (size_t)worker < w->n ? r->on[worker] : 0;
}

void hx_workers_set_addr(hx_workers *w, int worker, const char *addr)
{
    if (worker >= 0 && (size_t)worker < w->n)
        snprintf(w->addr[worker], sizeof w->addr[worker], "%s", addr ? addr : "");
}

static int least_loaded(const hx_workers *w)
{
    int best = -1;
    for (size_t i = 0; i < w->n; i++)
        if (!w->down[i] && (best < 0 || w->transports[i] < w->transports[best])) best = (int)i;
    return best < 0 ? 0 : best; /* all down: the first (its post refuses until it is back) */
}

void hx_workers_set_down(hx_workers *w, int worker, bool down)
{
    if (worker >= 0 && (size_t)worker < w->n) w->down[worker] = down;
}

/* ---- relays --------------------------------------------------------------------------------- */

static void post_to(hx_workers *w, int worker, hx_sfu_builder *b)
{
    long n = hx_sfu_finish(b);
    if (HX_ALWAYS(n > 0) && w->post(w->ctx[worker], b->buf, (size_t)n) == 0) w->posted[worker]++;
}

static void relay_out(hx_workers *w, const worker_room *r, int to, bool on)
{
    uint8_t buf[ROOM_MAX + HX_WORKER_ADDR_MAX + 64];
    hx_sfu_builder b;
    hx_sfu_build(&b, buf, sizeof buf, HX_SFU_RELAY_OUT, 0);
    hx_sfu_put_cstr(&b, HX_SFU_T_ROOM, r->name);
    hx_sfu_put_cstr(&b, HX_SFU_T_ADDR, w->addr[to]);
    hx_sfu_put_flags(&b, on ? HX_SFU_F_ON : 0);
    post_to(w, r->worker, &b);
}

static void relay_in(hx_workers *w, const wtrack *t, int to)
{
    uint8_t buf[3 * ROOM_MAX + HX_WORKER_ADDR_MAX + 1024 + 128];
    hx_sfu_builder b;
    hx_sfu_build(&b, buf, sizeof buf, HX_SFU_RELAY_IN, t->pub);
    hx_sfu_put_cstr(&b, HX_SFU_T_ROOM, t->room);
    hx_sfu_put_cstr(&b, HX_SFU_T_PARTICIPANT, t->participant);
    hx_sfu_put_cstr(&b, HX_SFU_T_TRACK, t->id);
    hx_sfu_put_str(&b, HX_SFU_T_DESC, (const char *)t->desc, t->desc_len);
    hx_sfu_put_cstr(&b, HX_SFU_T_ADDR, w->addr[t->worker]);
    post_to(w, to, &b);
}

static void relay_drop(hx_workers *w, const wtrack *t, int to)
{
    uint8_t buf[TRACK_MAX + 64];
    hx_sfu_builder b;
    hx_sfu_build(&b, buf, sizeof buf, HX_SFU_RELAY_DROP, t->pub);
    hx_sfu_put_cstr(&b, HX_SFU_T_TRACK, t->id);
    post_to(w, to, &b);
}

typedef struct each_track {
    hx_workers *w;
    const worker_room *r;
    int worker; /* the spread worker concerned */
    void (*fn)(hx_workers *w, const wtrack *t, int to);
} each_track;

static int track_of_room(void *arg, const char *key, void *value)
{
    (void)key;
    each_track *c = arg;
    const wtrack *t = value;
    if (!strcmp(t->room, c->r->name) && t->worker == c->r->worker) c->fn(c->w, t, c->worker);
    return 0;
}

/* Worker k joins the room's spread: the home relays to it, it mirrors every track. */
static void spread_to(hx_workers *w, worker_room *r, int k)
{
    if (!r->spread) w->spread_rooms++;
    r->spread |= 1u << k;
    w->relays_started++;
    relay_out(w, r, k, true);
    each_track c = {w, r, k, relay_in};
    hx_strmap_foreach(&w->tracks, track_of_room, &c);
}

/* Worker k leaves it (none of the room's transports there any more). */
static void unspread(hx_workers *w, worker_room *r, int k, bool worker_gone)
{
    r->spread &= ~(1u << k);
    if (!r->spread) w->spread_rooms--;
    relay_out(w, r, k, false);
    if (worker_gone) return; /* its mirrors went with it */
    each_track c = {w, r, k, relay_drop};
    hx_strmap_foreach(&w->tracks, track_of_room, &c);
}

/* Where a new subscriber of a room at its split goes: a worker of its spread with room left,
 * else a new one (the least loaded), else (every worker full) the spread's emptiest. */
static int spill(const hx_workers *w, const worker_room *r)
{
    int best = -1;
    if (!w->addr[r->worker][0]) return r->worker; /* no relay from a home whose socket is unknown */
    for (size_t i = 0; i < w->n; i++) {
        if ((int)i == r->worker || w->down[i] || !w->addr[i][0] || !(r->spread >> i & 1)) continue;
        if (r->subs[i] < w->split_subscribers && (best < 0 || r->subs[i] < r->subs[best]))
            best = (int)i;
    }
    if (best >= 0) return best;
    for (size_t i = 0; i < w->n; i++) {
        if ((int)i == r->worker || w->down[i] || !w->addr[i][0] || (r->spread >> i & 1)) continue;
        if (best < 0 || w->transports[i] < w->transports[best]) best = (int)i;
    }
    if (best >= 0) return best;
    for (size_t i = 0; i < w->n; i++)
        if ((r->spread >> i & 1) && !w->down[i] && (best < 0 || r->subs[i] < r->subs[best]))
            best = (int)i;
    return best < 0 ? r->worker : best;
}

/* ---- placement ------------------------------------------------------------------------------ */

typedef struct lost_ctx {
    hx_workers *w;
    int worker;
    uint64_t *ids; /* the transports lost, reported once the maps are consistent again */
    size_t n, cap;
} lost_ctx;

static int lose_transport(void *arg, const char *key, void *value)
{
    lost_ctx *c = arg;
    placed *p = value;
    if (p->worker != c->worker) return 0;
    if (c->n == c->cap) {
        size_t cap = c->cap ? 2 * c->cap : 64;
        uint64_t *ids = realloc(c->ids, cap * sizeof *ids);
        if (!ids) goto forget; /* forgotten all the same; its session learns when it next posts */
        c->ids = ids, c->cap = cap;
    }
    c->ids[c->n++] = strtoull(key, NULL, 16);
forget:
    p->room->transports--;
    p->room->on[p->worker]--;
    if (p->sub) p->room->subs[p->worker]--;
    free(p);
    return 1;
}

static int lose_track(void *arg, const char *key, void *value)
{
    (void)key;
    lost_ctx *c = arg;
    wtrack *t = value;
    if (t->worker != c->worker) return 0;
    worker_room *r = hx_strmap_get(&c->w->rooms, t->room);
    for (size_t k = 0; r && k < c->w->n; k++)
        if (r->spread >> k & 1) relay_drop(c->w, t, (int)k);
    free(t);
    return 1;
}

static int lose_room(void *arg, const char *key, void *value)
{
    (void)key;
    lost_ctx *c = arg;
    hx_workers *w = c->w;
    worker_room *r = value;
    if (r->spread >> c->worker & 1) unspread(w, r, c->worker, true);
    if (!r->transports) { /* all of them were there */
        (void)HX_ALWAYS(!r->spread);
        free(r);
        return 1;
    }
    if (r->worker != c->worker) return 0;
    /* Its home died with the publishers; its subscribers elsewhere stay. The worker with most
     * of them is the home now, relaying to the others. */
    int home = -1;
    for (size_t i = 0; i < w->n; i++)
        if (r->on[i] && (home < 0 || r->on[i] > r->on[home])) home = (int)i;
    if (HX_NEVER(home < 0)) return 0;
    bool was = r->spread != 0;
    r->spread &= ~(1u << home);
    r->worker = home;
    if (was && !r->spread) w->spread_rooms--;
    for (size_t k = 0; k < w->n; k++)
        if (r->spread >> k & 1) relay_out(w, r, (int)k, true);
    return 0;
}

void hx_workers_lost(hx_workers *w, int worker, void (*lost)(void *arg, uint64_t transport),
                     void *arg)
{
    if (worker < 0 || (size_t)worker >= w->n) return;
    lost_ctx c = {.w = w, .worker = worker};
    hx_strmap_foreach(&w->by_transport, lose_transport, &c);
    hx_strmap_foreach(&w->tracks, lose_track, &c);
    hx_strmap_foreach(&w->rooms, lose_room, &c);
    w->transports[worker] = 0;
    w->down[worker] = true;
    for (size_t i = 0; lost && i < c.n; i++)
        lost(arg, c.ids[i]);
    free(c.ids);
}

/* A new transport (a TRANSPORT_OPEN): its worker, the room placed when new; -1 when out of
 * memory. *joined: the worker k joins the room's spread with it (relays to set up once the
 * open is posted); *rehome: the home had none of the room's transports (its engine forgot
 * the relays). */
static int place(hx_workers *w, const hx_sfu_msg *m, int *joined, bool *rehome)
{
    char room[ROOM_MAX];
    hx_sfu_field_copy(m, HX_SFU_T_ROOM, room, sizeof room);
    bool sub = hx_sfu_field_is(m, HX_SFU_T_ROLE, "subscriber");
    worker_room *r = hx_strmap_get(&w->rooms, room);
    if (!r) {
        size_t n = strlen(room);
        if (!(r = calloc(1, sizeof *r + n + 1))) return -1;
        memcpy(r->name, room, n + 1);
        r->worker = least_loaded(w);
        if (hx_strmap_put(&w->rooms, room, r, NULL)) {
            free(r);
            return -1;
        }
    }
    int k = r->worker;
    if (sub && w->split_subscribers && r->subs[k] >= w->split_subscribers && w->addr[k][0])
        k = spill(w, r);
    placed *p = malloc(sizeof *p);
    char key[24];
    key_of(m->transport, key);
    if (!p || hx_strmap_put(&w->by_transport, key, p, NULL)) {
        free(p);
        if (!r->transports) free(hx_strmap_del(&w->rooms, room));
        return -1;
    }
    *p = (placed){r, k, sub};
    *joined = k != r->worker && !(r->spread >> k & 1) ? k : -1;
    *rehome = k == r->worker && !r->on[k] && r->spread;
    r->transports++;
    r->on[k]++;
    if (sub) r->subs[k]++;
    w->transports[k]++;
    return k;
}

/* A transport closed: its room and worker lose it; a spread worker with none of the room's
 * left leaves the spread; the room its home once it has none. */
static void forget(hx_workers *w, uint64_t transport, placed *p)
{
    char key[24];
    key_of(transport, key);
    hx_strmap_del(&w->by_transport, key);
    worker_room *r = p->room;
    int k = p->worker;
    if (HX_ALWAYS(w->transports[k] > 0)) w->transports[k]--;
    if (HX_ALWAYS(r->on[k] > 0)) r->on[k]--;
    if (p->sub && HX_ALWAYS(r->subs[k] > 0)) r->subs[k]--;
    free(p);
    if (k != r->worker && !r->on[k] && (r->spread >> k & 1)) unspread(w, r, k, false);
    if (HX_ALWAYS(r->transports > 0) && --r->transports == 0) {
        (void)HX_ALWAYS(!r->spread);
        free(hx_strmap_del(&w->rooms, r->name));
    }
}

int hx_workers_post(void *ctx, const uint8_t *msg, size_t len)
{
    hx_workers *w = ctx;
    hx_sfu_msg m;
    const char *why;
    if (HX_NEVER(hx_sfu_parse(msg, len, &m, &why) != 0)) return -1;
    placed *p = placement(w, m.transport);
    bool was_placed = p != NULL;
    int joined = -1;
    bool rehome = false;
    int worker = p                                 ? p->worker
                 : m.kind == HX_SFU_TRANSPORT_OPEN ? place(w, &m, &joined, &rehome)
                                                   : -1;
    if (worker < 0) worker = 0;
    int rc = w->post(w->ctx[worker], msg, len);
    if (rc == 0) w->posted[worker]++;
    worker_room *r = (p = placement(w, m.transport)) ? p->room : NULL;
    if (rc == 0 && r && joined >= 0) spread_to(w, r, joined);
    for (size_t k = 0; rc == 0 && r && rehome && k < w->n; k++)
        if (r->spread >> k & 1) relay_out(w, r, (int)k, true);
    /* Closed, or an open the engine never took: the transport is gone. */
    if ((m.kind == HX_SFU_TRANSPORT_CLOSE ||
         (rc && m.kind == HX_SFU_TRANSPORT_OPEN && !was_placed)) &&
        p)
        forget(w, m.transport, p);
    return rc;
}

/* ---- events --------------------------------------------------------------------------------- */

static void track_published(hx_workers *w, const hx_sfu_msg *m, int worker)
{
    const hx_sfu_str *desc = &m->f[HX_SFU_T_DESC];
    if (!desc->len || m->f[HX_SFU_T_TRACK].len >= TRACK_MAX ||
        m->f[HX_SFU_T_ROOM].len >= ROOM_MAX || m->f[HX_SFU_T_PARTICIPANT].len >= ROOM_MAX)
        return;
    wtrack *t = calloc(1, sizeof *t + desc->len);
    if (!t) return;
    t->pub = m->transport;
    t->worker = worker;
    t->desc_len = desc->len;
    memcpy(t->desc, desc->p, desc->len);
    hx_sfu_field_copy(m, HX_SFU_T_ROOM, t->room, sizeof t->room);
    hx_sfu_field_copy(m, HX_SFU_T_PARTICIPANT, t->participant, sizeof t->participant);
    hx_sfu_field_copy(m, HX_SFU_T_TRACK, t->id, sizeof t->id);
    wtrack *old = NULL;
    if (hx_strmap_put(&w->tracks, t->id, t, (void **)&old)) {
        free(t);
        return;
    }
    free(old);
    worker_room *r = hx_strmap_get(&w->rooms, t->room);
    if (!r || r->worker != worker) return; /* not the home's (a room re-homed since) */
    for (size_t k = 0; k < w->n; k++)
        if (r->spread >> k & 1) relay_in(w, t, (int)k);
}

static void track_closed(hx_workers *w, const hx_sfu_msg *m)
{
    char id[TRACK_MAX];
    if (m->f[HX_SFU_T_TRACK].len >= sizeof id) return;
    wtrack *t = hx_strmap_del(&w->tracks, hx_sfu_field_copy(m, HX_SFU_T_TRACK, id, sizeof id));
    if (!t) return;
    worker_room *r = hx_strmap_get(&w->rooms, t->room);
    for (size_t k = 0; r && r->worker == t->worker && k < w->n; k++)
        if (r->spread >> k & 1) relay_drop(w, t, (int)k);
    free(t);
}

void hx_workers_event(hx_workers *w, const uint8_t *msg, size_t len)
{
    hx_sfu_msg m;
    const char *why;
    if (w->n < 2 || hx_sfu_parse(msg, len, &m, &why)) return;
    if (m.kind == HX_SFU_EV_TRACK_PUBLISHED) {
        int worker = hx_workers_of_transport(w, m.transport);
        if (worker >= 0) track_published(w, &m, worker);
    } else if (m.kind == HX_SFU_EV_TRACK_CLOSED) {
        track_closed(w, &m);
    }
}
