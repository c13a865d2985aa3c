/*
 * Fresh ICE servers for a session (DESIGN §3): the join and resume results
 * carry a TURN credential minted for the participant's user; before it
 * lapses (at four fifths of its life) the session is pushed `ice.servers`
 * with a new one, so an ICE restart or a new transport late in a long
 * call still authenticates at the TURN server. docs/protocol.md §2.
 */
#include "common/clock.h"
#include "core/ice_servers.h"
#include "signal/session.h"

/* Mint, and schedule the next push relative to mono_ms (the tick's clock). */
static json_t *ice_servers(hx_session *s, int64_t mono_ms)
{
    int64_t now_ms = hx_now_ms(), expires_s = 0;
    json_t *ice = hx_ice_servers(s->srv, s->p.user, NULL, now_ms / 1000, &expires_s);
    s->ice_push_ms = expires_s ? mono_ms + (expires_s * 1000 - now_ms) * 4 / 5 : 0;
    return ice;
}

json_t *hx_session_ice_servers(hx_session *s)
{
    return ice_servers(s, hx_mono_ms());
}

void hx_session_ice_tick(hx_session *s, int64_t mono_ms)
{
    if (s->state != HX_SESSION_JOINED || !s->ice_push_ms || mono_ms < s->ice_push_ms) return;
    json_t *ice = ice_servers(s, mono_ms);
    if (ice) hx_session_send(s, "ice.servers", NULL, json_pack("{s:o}", "ice_servers", ice));
}
