/*
 * Per-user quotas of the TURN core. A user is the id after ':' in a REST
 * username (auth/turn_cred.h), so every device and tab of one person
 * shares them: at most cfg.max_allocations allocations (486 past it) and
 * cfg.max_bps relayed bits per second in each direction, a token bucket
 * holding up to one second of traffic; a packet that does not fit is
 * dropped and counted, never queued.
 *
 * A record lives while the user has allocations (the map holds it, each
 * allocation a reference); it is created on Allocate (control path) and
 * only read and updated on the relay path.
 */
#include "turn/core_internal.h"

#include <stdlib.h>
#include <string.h>

hx__turn_user *hx__turn_user_get(hx_turn_core *t, const char *id, int64_t now_ms)
{
    hx__turn_user *u = hx_strmap_get(&t->users, id);
    if (u) return u;
    size_t len = strlen(id);
    u = calloc(1, sizeof *u + len + 1);
    if (!u) return NULL;
    memcpy(u->id, id, len + 1);
    u->bits[0] = u->bits[1] = t->cfg.max_bps; /* a full second to start with */
    u->last_ms[0] = u->last_ms[1] = now_ms;
    if (hx_strmap_put(&t->users, u->id, u, NULL) != 0) {
        free(u);
        return NULL;
    }
    return u;
}

void hx__turn_user_put(hx_turn_core *t, hx__turn_user *u)
{
    if (!u) return;
    if (u->allocations > 0) u->allocations--;
    if (u->allocations) return;
    hx_strmap_del(&t->users, u->id);
    free(u);
}

bool hx__turn_user_spend(hx_turn_core *t, hx__turn_user *u, int dir, size_t len, int64_t now_ms)
{
    uint64_t rate = t->cfg.max_bps;
    if (!rate) return true; /* no limit configured */
    int64_t dt = now_ms - u->last_ms[dir];
    if (dt > 0) {
        if (dt > 1000) dt = 1000; /* the bucket holds one second: no overflow below */
        uint64_t add = rate * (uint64_t)dt / 1000;
        u->bits[dir] = u->bits[dir] + add > rate ? rate : u->bits[dir] + add;
        u->last_ms[dir] = now_ms;
    }
    uint64_t cost = (uint64_t)len * 8;
    if (cost > u->bits[dir]) return false;
    u->bits[dir] -= cost;
    return true;
}
