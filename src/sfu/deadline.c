/*
 * Timers on deadlines (docs/design.md §1): every transport with work due
 * has one node in the core's min-heap, keyed by when its earliest work is
 * due. Nothing walks the transports: an idle one (ICE consent its only
 * work) wakes once per consent interval, an active one when its RTCP,
 * TWCC, NACK or stats are due.
 *
 * The heap key may be early, never late. Whatever creates work arms the
 * transport with hx__arm (an O(1) compare on the hot path; the heap moves
 * only when the time is earlier). When the node fires, the transport's
 * timer work runs (transport.c's hx__transport_tick, each part checking
 * its own time) and hx__rearm puts the node at the precise next deadline
 * hx__transport_due computes, which may be later than the one that fired.
 * hx_engine_core_check verifies the rule: no transport has work due before
 * its node (or without one).
 *
 * usrsctp's timers are process-wide, not per transport: they run when the
 * SCTP stack says (hx_sctp_stack_next_due).
 */
#include "sfu/engine_internal.h"

#include "common/invariant.h"

void hx__arm_slow(hx__transport *t, int64_t at)
{
    if (t->closing) return;
    (void)HX_ALWAYS(hx_heap_set(&t->e->timers, &t->timer, at) == 0); /* sized for every transport */
}

static int64_t min64(int64_t a, int64_t b)
{
    return a < b ? a : b;
}

/* RTCP (rtcp.c, twcc.c): what hx__rtcp_tick would send, and when. */
static int64_t rtcp_due(const hx__transport *t)
{
    int64_t due = INT64_MAX;
    const hx__twcc *w = t->twcc;
    if (w && w->started && w->base <= w->highest) due = min64(due, w->last_ms + 50);
    if (t->role == HX__PUBLISHER) {
        for (int i = 0; i < t->n_tracks; i++) {
            const hx__track *tr = t->tracks[i];
            if (tr->pli_pending) due = min64(due, tr->last_pli_ms + HX__PLI_MIN_MS);
            for (int l = 0; l < tr->n_layers; l++) {
                const hx__layer *ly = &tr->layers[l];
                if (ly->nack.n && tr->kind == HX_SDP_VIDEO) due = min64(due, t->last_nack_ms + 20);
                if (ly->stats_started && ly->ssrc) due = min64(due, t->last_report_ms + 1000);
            }
        }
    } else {
        for (int i = 0; i < t->n_consumers; i++) {
            const hx__consumer *c = t->consumers[i];
            if (c->packets || (c->negotiated && !c->paused && c->track->kind == HX_SDP_VIDEO))
                due = min64(due, t->last_report_ms + 1000);
        }
    }
    return due;
}

int64_t hx__transport_due(hx__transport *t)
{
    hx__engine *e = t->e;
    if (t->relay) return hx__relay_due(t); /* a stand-in: no ICE, DTLS, RTCP or stats */
    int64_t now = e->now_ms, due = INT64_MAX;
    if (t->dtls && hx_dtls_get_state(t->dtls) == HX_DTLS_CONNECTING) {
        int64_t ms = hx_dtls_timeout_ms(t->dtls, (uint64_t)now);
        if (ms >= 0) due = now + ms;
    }
    int64_t ice = hx_ice_agent_next_deadline(&t->ice); /* INT64_MIN: events wait, now */
    due = min64(due, ice < now ? now : ice);
    if (t->connect_deadline_ms && !t->srtp_in) due = min64(due, t->connect_deadline_ms);
    if (hx__data_waiting(t)) due = min64(due, t->data_started_ms + HX__SCTP_UP_MS);
    if (t->srtp_out) due = min64(due, rtcp_due(t));
    if (t->srtp_out) due = min64(due, hx__dl_due(t));
    if (t->role == HX__PUBLISHER) due = min64(due, hx__speakers_due(t));
    if (t->role == HX__PUBLISHER) due = min64(due, hx__layers_due(t));
    if (hx__stats_sum(t) != t->stats_seen) due = min64(due, t->last_stats_ms + 2000);
    if (e->debug) due = min64(due, t->last_debug_ms + 2000);
    if (t->role == HX__SUBSCRIBER) {
        if (t->offer_outstanding) due = min64(due, t->offer_sent_ms + e->cfg.offer_timeout_ms);
        /* An offer to send waits HX__TICK_MS: the subscriptions of one burst share it. */
        else if (t->renegotiate && t->offerer && t->nego_failures < 2)
            due = min64(due, now + HX__TICK_MS);
    }
    return due;
}

void hx__rearm(hx__transport *t)
{
    if (t->closing) return;
    int64_t due = hx__transport_due(t);
    if (due == INT64_MAX)
        hx_heap_remove(&t->e->timers, &t->timer);
    else
        (void)HX_ALWAYS(hx_heap_set(&t->e->timers, &t->timer, due) == 0);
}

void hx__milestones(hx__transport *t)
{
    static const struct {
        uint8_t bit;
        const char *name;
    } ms[] = {{HX__MS_ICE, "ice_connected"}, {HX__MS_MEDIA, "first_media"}};
    bool reached[] = {t->ice.n_valid > 0, t->packets_in + t->packets_out > 0};
    for (size_t i = 0; i < sizeof ms / sizeof ms[0]; i++) {
        if ((t->milestones & ms[i].bit) || !reached[i]) continue;
        t->milestones |= ms[i].bit;
        hx_sfu_builder b;
        hx__begin(t->e, &b, HX_SFU_EV_MILESTONE, t->id);
        hx_sfu_put_cstr(&b, HX_SFU_T_STATE, ms[i].name);
        hx__emit(t->e, &b);
    }
}

int64_t hx_engine_core_next_deadline(const hx_engine_core *e)
{
    const hx_heap_node *top = hx_heap_top(&e->timers);
    return min64(top ? top->at : INT64_MAX, e->sctp_due);
}

int64_t hx_engine_core_timer(hx_engine_core *e, int64_t now_ms)
{
    e->now_ms = now_ms;
    if (e->sctp_due <= now_ms) hx_sctp_stack_advance(e->sctp, now_ms);
    /* Every node due now, once: one that is due again goes to the next millisecond (rearm). */
    for (;;) {
        hx_heap_node *top = hx_heap_top(&e->timers);
        if (!top || top->at > now_ms) break;
        hx__transport *t = HX_HEAP_ENTRY(top, hx__transport, timer);
        hx__transport_tick(t);
        hx__rearm(t);
        /* Due again at once (work its tick could not finish): the next millisecond, no spin. */
        if (t->timer.pos != SIZE_MAX && t->timer.at <= now_ms)
            (void)HX_ALWAYS(hx_heap_set(&e->timers, &t->timer, now_ms + 1) == 0);
    }
    e->sctp_due = hx_sctp_stack_next_due(e->sctp, now_ms);
    return hx_engine_core_next_deadline(e);
}

/** After a call into the core: the SCTP stack may have work sooner (a packet in or out). */
void hx__sctp_touched(hx__engine *e)
{
    e->sctp_due = min64(e->sctp_due, hx_sctp_stack_next_due(e->sctp, e->now_ms));
}
