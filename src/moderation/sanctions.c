/*
 * The sanctions in force (moderation.h). Loaded from the store at start,
 * added to after the store has the sanction (store first: what is enforced
 * survives a crash), lifted by the action that made them (unban, untimeout,
 * an overturned kick) or by expiry. Checked at ticket minting, at join and
 * at every publish, so the array is scanned often but is small: a sanction
 * exists per misbehaving user, not per session.
 */
#include "moderation/moderation.h"

#include <stdlib.h>
#include <string.h>

static const char *const sanction_names[] = {
    [HX_SANCTION_BAN] = "ban",
    [HX_SANCTION_TIMEOUT] = "timeout",
    [HX_SANCTION_COOLDOWN] = "cooldown",
};

const char *hx_sanction_kind_name(hx_sanction_kind k)
{
    return k >= HX_SANCTION_BAN && k <= HX_SANCTION_COOLDOWN ? sanction_names[k] : "unknown";
}

void hx_sanctions_init(hx_sanctions *s)
{
    memset(s, 0, sizeof *s);
}

void hx_sanctions_free(hx_sanctions *s)
{
    free(s->v);
    memset(s, 0, sizeof *s);
}

int hx_sanctions_add(hx_sanctions *s, const hx_sanction *x)
{
    if (s->n == s->cap) {
        if (s->cap == HX_MOD_MAX_SANCTIONS) return -1;
        size_t cap = s->cap ? s->cap * 2 : 16;
        if (cap > HX_MOD_MAX_SANCTIONS) cap = HX_MOD_MAX_SANCTIONS;
        hx_sanction *v = realloc(s->v, cap * sizeof *v);
        if (!v) return -1;
        s->v = v;
        s->cap = cap;
    }
    s->v[s->n++] = *x;
    return 0;
}

static void remove_at(hx_sanctions *s, size_t i)
{
    s->v[i] = s->v[--s->n]; /* order does not matter: every check scans all */
}

size_t hx_sanctions_lift(hx_sanctions *s, const char *action_id)
{
    size_t n = 0;
    for (size_t i = 0; i < s->n;)
        if (!strcmp(s->v[i].action_id, action_id)) {
            remove_at(s, i);
            n++;
        } else {
            i++;
        }
    return n;
}

size_t hx_sanctions_sweep(hx_sanctions *s, int64_t now_ms, void (*on_expired)(void *arg, const hx_sanction *x),
                          void *arg)
{
    size_t n = 0;
    for (size_t i = 0; i < s->n;)
        if (s->v[i].expires_ms && s->v[i].expires_ms <= now_ms) {
            hx_sanction gone = s->v[i];
            remove_at(s, i);
            if (on_expired) on_expired(arg, &gone);
            n++;
        } else {
            i++;
        }
    return n;
}

bool hx_sanction_applies(const hx_sanction *x, const char *room, const char *user, const char *device,
                         int64_t now_ms)
{
    if (x->expires_ms && x->expires_ms <= now_ms) return false;
    if (x->room[0] && strcmp(x->room, room)) return false;
    if (x->user[0] && strcmp(x->user, user)) return false;
    if (x->device[0] && strcmp(x->device, device)) return false;
    return true;
}

const hx_sanction *hx_sanctions_join_block(const hx_sanctions *s, const char *room, const char *user,
                                           const char *device, int64_t now_ms)
{
    for (size_t i = 0; i < s->n; i++) {
        const hx_sanction *x = &s->v[i];
        if (x->kind == HX_SANCTION_TIMEOUT && x->policy != HX_TIMEOUT_DENY_JOIN) continue;
        if (hx_sanction_applies(x, room, user, device, now_ms)) return x;
    }
    return NULL;
}

const hx_sanction *hx_sanctions_publish_block(const hx_sanctions *s, const char *room, const char *user,
                                              const char *device, int64_t now_ms)
{
    for (size_t i = 0; i < s->n; i++) {
        const hx_sanction *x = &s->v[i];
        if (x->kind == HX_SANCTION_TIMEOUT && hx_sanction_applies(x, room, user, device, now_ms)) return x;
    }
    return NULL;
}

const hx_sanction *hx_sanctions_find_same(const hx_sanctions *s, hx_sanction_kind kind, const char *room,
                                          const char *user, const char *device, int64_t now_ms)
{
    for (size_t i = 0; i < s->n; i++) {
        const hx_sanction *x = &s->v[i];
        if (x->kind == kind && !strcmp(x->room, room) && !strcmp(x->user, user) && !strcmp(x->device, device) &&
            (!x->expires_ms || x->expires_ms > now_ms))
            return x;
    }
    return NULL;
}

const char *hx_sanction_code(const hx_sanction *x)
{
    switch (x->kind) {
    case HX_SANCTION_BAN:
        return "banned";
    case HX_SANCTION_COOLDOWN:
        return "kicked";
    default:
        return "timed_out";
    }
}
