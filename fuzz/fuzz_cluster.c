/*
 * libFuzzer target for src/cluster: what a node reads from Redis and the lease state machine.
 *
 * First byte even: the rest is a registry beacon (another node's JSON, as Redis returns it):
 * what parses has an id, a URL without a trailing slash, and a signal URL that is ws:// or
 * wss:// when one can be made. First byte odd: the rest drives hx_leases (stateful fuzzing with
 * a fake clock), two bytes an operation over eight rooms and three nodes, checking after each
 * step what lease.h promises: a claim in flight is not sent again within a TTL; an answer naming
 * this node holds the lease; a live node's answer hands the room over once until the state
 * changes; a room not marked in a round is gone after its sweep; placement names a node that
 * is not draining.
 */
#include "cluster/lease.h"
#include "cluster/placement.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ROOMS 8

typedef struct model {
    int64_t sent_at[ROOMS]; /* when each room's claim went, -1: none in flight */
    bool moved[ROOMS];      /* MOVED reported since the last other outcome */
    int64_t ttl;
} model;

static const char *room_name(int i)
{
    static const char *names[ROOMS] = {"r0", "r1", "r2", "r3", "r4", "r5", "r6", "r7"};
    return names[i & (ROOMS - 1)];
}

static model *cur;
static int64_t now_ms;

static void on_send(void *arg, const char *room)
{
    (void)arg;
    int i = room[1] - '0';
    /* Not sent twice while one is in flight (before the TTL gives it up). */
    if (cur->sent_at[i] >= 0 && now_ms - cur->sent_at[i] < cur->ttl) abort();
    cur->sent_at[i] = now_ms;
}

static void on_release(void *arg, const char *room, bool held)
{
    (void)arg, (void)held;
    cur->sent_at[room[1] - '0'] = -1;
}

static void beacon(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    if (!text) return;
    memcpy(text, data, size);
    text[size] = '\0';
    hx_node_view v[2];
    if (!hx_node_view_parse(text, &v[0])) {
        size_t n = strlen(v[0].url);
        if (!v[0].id[0] || (n && v[0].url[n - 1] == '/')) abort();
        char url[HX_NODE_URL_MAX + 32];
        if (!hx_node_signal_url(v[0].url, 2, url, sizeof url) && strncmp(url, "ws://", 5) &&
            strncmp(url, "wss://", 6))
            abort();
        v[1] = v[0];
        v[1].draining = !v[0].draining;
        int at = hx_place_room("room", v, 2);
        if (at < 0 || v[at].draining) abort();
    }
    free(text);
}

static void leases(const uint8_t *data, size_t size)
{
    static const char *nodes[3] = {"self", "other", ""};
    model m;
    memset(&m, 0, sizeof m);
    for (int i = 0; i < ROOMS; i++)
        m.sent_at[i] = -1;
    m.ttl = 1000;
    cur = &m;
    now_ms = 0;
    hx_leases L;
    hx_leases_init(&L, "self", m.ttl);
    bool marked[ROOMS] = {0};
    for (size_t k = 0; k + 1 < size; k += 2) {
        int op = data[k] % 6, arg = data[k + 1], r = arg & (ROOMS - 1);
        const char *room = room_name(r);
        switch (op) {
        case 0:
            if (hx_leases_want(&L, room, now_ms)) abort();
            marked[r] = true;
            break;
        case 1:
            hx_leases_sweep(&L, on_release, NULL);
            for (int i = 0; i < ROOMS; i++) {
                if (!marked[i] && hx_leases_get(&L, room_name(i))) abort();
                if (!marked[i]) m.moved[i] = false; /* gone: a new lease starts over */
                marked[i] = false;
            }
            break;
        case 2:
            now_ms += arg * 7;
            hx_leases_due(&L, now_ms, on_send, NULL);
            break;
        case 3: {
            const char *holder = nodes[(arg >> 3) % 3];
            bool alive = arg & 0x80;
            bool lost_before =
                hx_leases_get(&L, room) && hx_leases_get(&L, room)->state == HX_LEASE_LOST;
            hx_lease_outcome o = hx_leases_answer(&L, room, holder, alive, now_ms);
            const hx_lease *l = hx_leases_get(&L, room);
            if (!l && o != HX_LEASE_UNKNOWN) abort();
            if (l) m.sent_at[r] = -1; /* an answer, even an empty one: nothing in flight */
            if (o == HX_LEASE_OURS && (!l || l->state != HX_LEASE_HELD)) abort();
            if (o == HX_LEASE_MOVED) {
                if (lost_before || m.moved[r] || l->state != HX_LEASE_LOST) abort();
                m.moved[r] = true;
            } else if (l && l->state != HX_LEASE_LOST) {
                m.moved[r] = false;
            }
            break;
        }
        case 4:
            hx_leases_failed(&L, room, now_ms);
            if (hx_leases_get(&L, room)) m.sent_at[r] = -1;
            break;
        default:
            now_ms += 1;
            break;
        }
    }
    hx_leases_free(&L);
    cur = NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!size) return 0;
    if (data[0] % 2 == 0)
        beacon(data + 1, size - 1);
    else
        leases(data + 1, size - 1);
    return 0;
}
