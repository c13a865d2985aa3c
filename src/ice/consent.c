/*
 * The ICE-lite agent's memory: the pair table, nomination, consent
 * freshness (RFC 7675) and the state machine (see ice.h).
 *
 * A pair is a remote address that sent a valid check; its last_check_ms is
 * the consent the peer last gave on it. The table is small (16) and
 * scanned linearly. When it is full, the unselected pair that checked
 * least recently makes room; unselected pairs also expire after one
 * consent timeout, so addresses a browser abandoned do not linger.
 *
 * Nomination (RFC 8445 §7.3.1.5 for the controlled agent): a valid check
 * with USE-CANDIDATE selects its pair. The latest nomination wins, which is
 * what renomination by libwebrtc expects after a network change.
 */
#include "ice/ice.h"
#include "ice/ice_internal.h"

#include <string.h>

const char *hx_ice_state_name(hx_ice_state s)
{
    switch (s) {
    case HX_ICE_NEW:
        return "new";
    case HX_ICE_CHECKING:
        return "checking";
    case HX_ICE_CONNECTED:
        return "connected";
    case HX_ICE_DISCONNECTED:
        return "disconnected";
    case HX_ICE_FAILED:
        return "failed";
    }
    return "?";
}

void hx__ice_agent_set_state(hx_ice_agent *a, int state, int64_t now_ms)
{
    if (a->state == (hx_ice_state)state) return;
    a->state = (hx_ice_state)state;
    a->state_since_ms = now_ms;
    a->events |= HX_ICE_EV_STATE;
}

static void select_pair(hx_ice_agent *a, int i)
{
    if (a->selected == i) return;
    if (a->selected >= 0) a->pairs[a->selected].nominated = false;
    a->selected = i;
    if (i >= 0) a->pairs[i].nominated = true;
    a->events |= HX_ICE_EV_SELECTED;
}

static void remove_pair(hx_ice_agent *a, unsigned i)
{
    if (a->selected == (int)i) select_pair(a, -1);
    a->n_pairs--;
    if (i != a->n_pairs) {
        a->pairs[i] = a->pairs[a->n_pairs];
        if (a->selected == (int)a->n_pairs) a->selected = (int)i;
    }
}

static int find(const hx_ice_agent *a, const struct sockaddr_storage *addr)
{
    for (unsigned i = 0; i < a->n_pairs; i++)
        if (hx__ice_pair_addr_is(&a->pairs[i].addr, addr)) return (int)i;
    return -1;
}

/* A slot for a new pair: a free one, else the stalest unselected one. */
static unsigned make_room(hx_ice_agent *a)
{
    if (a->n_pairs < HX_ICE_MAX_PAIRS) return a->n_pairs++;
    unsigned victim = a->selected == 0 ? 1 : 0;
    for (unsigned i = 0; i < a->n_pairs; i++)
        if ((int)i != a->selected && a->pairs[i].last_check_ms < a->pairs[victim].last_check_ms)
            victim = i;
    return victim;
}

void hx__ice_agent_on_valid(hx_ice_agent *a, const struct sockaddr_storage *addr, uint32_t priority,
                            bool use_candidate, int64_t now_ms)
{
    int i = find(a, addr);
    if (i < 0) {
        i = (int)make_room(a);
        memset(&a->pairs[i], 0, sizeof a->pairs[i]);
        hx__ice_pair_addr_set(&a->pairs[i].addr, addr);
    }
    a->pairs[i].last_check_ms = now_ms;
    a->pairs[i].priority = priority;
    if (use_candidate) select_pair(a, i);
    if (a->selected >= 0)
        hx__ice_agent_set_state(a, HX_ICE_CONNECTED, now_ms);
    else if (a->state == HX_ICE_NEW)
        hx__ice_agent_set_state(a, HX_ICE_CHECKING, now_ms);
}

void hx_ice_agent_media_seen(hx_ice_agent *a, const struct sockaddr_storage *addr, int64_t now_ms)
{
    if (a->selected >= 0 && a->state == HX_ICE_CONNECTED &&
        hx__ice_pair_addr_is(&a->pairs[a->selected].addr, addr))
        a->pairs[a->selected].last_check_ms = now_ms;
}

/* When a timeout counted from `since` runs out: since + timeout, or INT64_MAX for never (a
 * timeout of 0 is off, ice.h). The tick and the deadline both use it, so they agree. */
static int64_t expiry(int64_t since, int64_t timeout)
{
    if (timeout <= 0 || since > INT64_MAX - timeout) return INT64_MAX;
    return since + timeout;
}

static bool expired(int64_t since, int64_t timeout, int64_t now_ms)
{
    int64_t at = expiry(since, timeout);
    return at != INT64_MAX && now_ms >= at;
}

uint32_t hx_ice_agent_tick(hx_ice_agent *a, int64_t now_ms)
{
    const hx_ice_config *c = &a->cfg;
    for (unsigned i = a->n_pairs; i-- > 0;)
        if ((int)i != a->selected &&
            expired(a->pairs[i].last_check_ms, c->consent_timeout_ms, now_ms))
            remove_pair(a, i);
    switch (a->state) {
    case HX_ICE_NEW:
    case HX_ICE_CHECKING:
        if (expired(a->state_since_ms, c->connect_timeout_ms, now_ms))
            hx__ice_agent_set_state(a, HX_ICE_FAILED, now_ms);
        break;
    case HX_ICE_CONNECTED:
        /* RFC 7675 §5.1: no consent for the timeout -> stop sending on the pair. */
        if (expired(a->pairs[a->selected].last_check_ms, c->consent_timeout_ms, now_ms)) {
            remove_pair(a, (unsigned)a->selected);
            hx__ice_agent_set_state(a, HX_ICE_DISCONNECTED, now_ms);
        }
        break;
    case HX_ICE_DISCONNECTED:
        if (expired(a->state_since_ms, c->disconnected_timeout_ms, now_ms))
            hx__ice_agent_set_state(a, HX_ICE_FAILED, now_ms);
        break;
    case HX_ICE_FAILED:
        break;
    }
    if (a->state == HX_ICE_FAILED) {
        select_pair(a, -1);
        a->n_pairs = 0;
    }
    return hx_ice_agent_take_events(a);
}

static int64_t earlier(int64_t a, int64_t b)
{
    return a < b ? a : b;
}

/* Each case is the expired() test of the same case in hx_ice_agent_tick, solved for now_ms. */
int64_t hx_ice_agent_next_deadline(const hx_ice_agent *a)
{
    const hx_ice_config *c = &a->cfg;
    if (a->events) return INT64_MIN; /* the tick hands them over whenever it runs */
    int64_t at = INT64_MAX;
    for (unsigned i = 0; i < a->n_pairs; i++)
        if ((int)i != a->selected)
            at = earlier(at, expiry(a->pairs[i].last_check_ms, c->consent_timeout_ms));
    switch (a->state) {
    case HX_ICE_NEW:
    case HX_ICE_CHECKING:
        return earlier(at, expiry(a->state_since_ms, c->connect_timeout_ms));
    case HX_ICE_CONNECTED:
        if (a->selected < 0) return at; /* not reached: connected means a selected pair */
        return earlier(at, expiry(a->pairs[a->selected].last_check_ms, c->consent_timeout_ms));
    case HX_ICE_DISCONNECTED:
        return earlier(at, expiry(a->state_since_ms, c->disconnected_timeout_ms));
    case HX_ICE_FAILED:
        break;
    }
    return at;
}

uint32_t hx_ice_agent_take_events(hx_ice_agent *a)
{
    uint32_t ev = a->events;
    a->events = 0;
    return ev;
}

const hx_ice_addr *hx_ice_agent_selected(const hx_ice_agent *a)
{
    return a->selected >= 0 ? &a->pairs[a->selected].addr : NULL;
}

const hx_ice_pair *hx_ice_agent_find_pair(const hx_ice_agent *a,
                                          const struct sockaddr_storage *addr)
{
    int i = find(a, addr);
    return i >= 0 ? &a->pairs[i] : NULL;
}
