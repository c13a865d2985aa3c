/*
 * One transport (one PeerConnection, BUNDLE + rtcp-mux): its ICE-lite
 * agent, its DTLS association, the two SRTP contexts DTLS keys, and the
 * SCTP association for data channels. Opened by a TRANSPORT_OPEN command,
 * closed by TRANSPORT_CLOSE (or by the engine's stop); what it owns goes
 * with it (publish.c, subscribe.c, datachan.c).
 *
 * DTLS: hearth is the DTLS server unless the negotiation says otherwise
 * (sdp/negotiate.h), so the association exists from the start as a server
 * and waits for the ClientHello, which may arrive before the client's SDP
 * answer does; the remote fingerprint is checked once the SDP gives it.
 *
 * States reported to the control plane: "connected" once DTLS is up (ICE
 * has passed a check by then), "disconnected" when consent lapses,
 * "failed" on a DTLS or SRTP failure, when consent stays lost, or when
 * ICE + DTLS are not up media.connect_timeout_ms after the remote
 * description was first applied ("connect_timeout": the clock starts with
 * the SDP, not with the transport, so a participant who never publishes
 * does not fail). A failed publisher withdraws its tracks (publish.c).
 */
#include "sfu/engine_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void hx__transport_fail(hx__transport *t, const char *reason)
{
    if (!strcmp(t->state, "failed") || t->closing) return;
    hx__emit_state(t, "failed", reason);
    if (t->role == HX__PUBLISHER) hx__publisher_failed(t, reason);
}

static int dtls_send(void *user, const uint8_t *buf, size_t len)
{
    return hx__transport_send(user, buf, len);
}

static void dtls_connected(void *user, const hx_dtls_srtp_keys *k)
{
    hx__transport *t = user;
    hx_srtp_destroy(t->srtp_in);
    hx_srtp_destroy(t->srtp_out);
    t->srtp_in = t->srtp_out = NULL;
    if (hx_srtp_create(&t->srtp_in, k->profile, k->remote_key, k->key_len, k->remote_salt,
                       k->salt_len) ||
        hx_srtp_create(&t->srtp_out, k->profile, k->local_key, k->key_len, k->local_salt,
                       k->salt_len)) {
        hx__transport_fail(t, "srtp");
        return;
    }
    hx__emit_state(t, "connected",
                   k->profile == HX_DTLS_SRTP_AEAD_AES_128_GCM ? "aead_aes_128_gcm"
                                                               : "aes_cm_128_hmac_sha1_80");
    if (t->sctp_wanted) hx__data_start(t);
    if (t->role == HX__PUBLISHER) hx__publisher_connected(t);
    /* Subscribers now receive: ask the publishers for keyframes. */
    for (int i = 0; i < t->n_consumers; i++)
        if (t->consumers[i]->negotiated)
            hx__request_keyframe(t->consumers[i]->track,
                                 hx__wanted_layer(t->consumers[i], t->e->now_ms));
}

static void dtls_failed(void *user, int err, const char *reason)
{
    hx__transport *t = user;
    (void)err;
    char why[96];
    snprintf(why, sizeof why, "dtls: %s", reason ? reason : "failed");
    hx__transport_fail(t, why);
}

static void dtls_closed(void *user)
{
    hx__transport *t = user;
    hx__emit_state(t, "closed", "dtls close_notify");
}

static void dtls_data(void *user, const uint8_t *buf, size_t len)
{
    hx__transport *t = user;
    t->dtls_records_in++; /* decrypted and authenticated: consent, like SRTP (io.c) */
    hx__data_input(t, buf, len);
}

static int dtls_create(hx__transport *t, hx_dtls_role role)
{
    hx_dtls_free(t->dtls);
    t->dtls = NULL;
    hx_dtls_cbs cbs = {
        .user = t,
        .send = dtls_send,
        .on_connected = dtls_connected,
        .on_failed = dtls_failed,
        .on_closed = dtls_closed,
        .on_data = dtls_data,
    };
    if (hx_dtls_new(&t->dtls, t->e->dtls, role, &cbs) != 0) return -1;
    t->dtls_server = role == HX_DTLS_SERVER;
    return hx_dtls_start(t->dtls, (uint64_t)t->e->now_ms);
}

hx__transport *hx__transport_open(hx__engine *e, const hx_sfu_msg *cmd, const char **why)
{
    if (e->stopping) {
        *why = "this media worker is stopping";
        return NULL;
    }
    if (hx__transport_get(e, cmd->transport)) {
        *why = "the transport exists already";
        return NULL;
    }
    if (e->transports.count >= e->cfg.max_transports) {
        *why = "this media worker is full";
        return NULL;
    }
    hx__transport *t = calloc(1, sizeof *t);
    if (!t) {
        *why = "out of memory";
        return NULL;
    }
    t->timer = HX_HEAP_NODE_INIT;
    t->e = e;
    t->id = cmd->transport;
    t->role = hx_sfu_field_is(cmd, HX_SFU_T_ROLE, "subscriber") ? HX__SUBSCRIBER : HX__PUBLISHER;
    t->flags = cmd->flags;
    t->data_sid = -1;
    t->rtt_ms = -1;
    hx_sfu_field_copy(cmd, HX_SFU_T_ROOM, t->room, sizeof t->room);
    hx_sfu_field_copy(cmd, HX_SFU_T_PARTICIPANT, t->participant, sizeof t->participant);
    snprintf(t->state, sizeof t->state, "new");
    hx_bucket_init(&t->data_bucket, e->cfg.data_rate, e->cfg.data_burst, e->now_ms);
    hx_bucket_init(&t->rx_bucket, e->cfg.max_packet_rate, e->cfg.max_packet_rate, e->now_ms);

    hx_ice_config ic;
    hx_ice_config_default(&ic);
    ic.connect_timeout_ms = 0; /* the transport's own deadline, from its first SDP (above) */
    if (hx_ice_agent_init(&t->ice, &ic, e->now_ms) != 0) {
        *why = "ice";
        free(t);
        return NULL;
    }
    t->ice.user = t;
    if (hx_ice_demux_add(&e->demux, &t->ice) != 0) {
        *why = "ice demux full";
        hx_ice_agent_clear(&t->ice);
        free(t);
        return NULL;
    }
    t->ice_registered = true;
    char key[24];
    hx__transport_key(t->id, key);
    /* The DTLS association comes with the first description (hx__transport_ensure_dtls): a
     * receive-only participant's idle publisher PC then costs no SSL object. */
    if (hx_strmap_put(&e->transports, key, t, NULL) != 0) {
        *why = "out of memory";
        hx_ice_demux_remove(&e->demux, &t->ice);
        hx_ice_agent_clear(&t->ice);
        free(t);
        return NULL;
    }
    hx__room *r = hx_strmap_get(&e->rooms, t->room);
    if (!r && (r = calloc(1, sizeof *r))) {
        snprintf(r->name, sizeof r->name, "%s", t->room);
        if (hx_strmap_put(&e->rooms, r->name, r, NULL)) {
            free(r);
            r = NULL;
        }
    }
    if (r) {
        t->room_of = r;
        t->room_next = r->head;
        if (r->head) r->head->room_prev = t;
        r->head = t;
        r->n++;
    }
    if (t->role == HX__SUBSCRIBER) {
        t->offerer = calloc(1, sizeof *t->offerer);
        if (t->offerer) {
            hx_sdp_offerer_init(t->offerer, (uint64_t)hx__random_ssrc(e) << 16);
            /* The data m-line comes first: never removed, it stays the BUNDLE tag (RFC 8843
             * §7.2). Were a track's m-line the tag, Chromium would move to a new transport when
             * that track goes away. */
            t->offerer->data_first = true;
        }
        /* The first offer carries the data channel even before any track. */
        if (t->flags & HX_SFU_F_DATA) {
            snprintf(t->data_mid, sizeof t->data_mid, "data");
            t->renegotiate = true;
        }
    }
    return t; /* a publisher's twcc state comes with its first packet that needs it (twcc.c) */
}

void hx__transport_close(hx__transport *t, const char *reason)
{
    hx__engine *e = t->e;
    if (t->closing) return;
    t->closing = true;
    if (t->relay) e->n_relay_in--;
    hx__data_stop(t);
    while (t->n_tracks) { /* publisher: its tracks and their consumers */
        hx__track *tr = t->tracks[--t->n_tracks];
        hx__track_withdraw(tr, reason);
    }
    while (t->n_consumers) /* subscriber */
        hx__consumer_remove(t->consumers[t->n_consumers - 1]);
    if (t->dtls) {
        hx_dtls_close(t->dtls);
        hx_dtls_free(t->dtls);
    }
    hx_srtp_destroy(t->srtp_in);
    hx_srtp_destroy(t->srtp_out);
    hx_heap_remove(&e->timers, &t->timer);
    if (t->tcp_bound && e->io.unbind) e->io.unbind(e->io.ctx, t); /* its ICE-TCP connections */
    if (t->ice_registered) hx_ice_demux_remove(&e->demux, &t->ice);
    hx_ice_agent_clear(&t->ice);
    hx__room *r = t->room_of;
    t->room_of = NULL;
    if (r) {
        if (t->room_prev)
            t->room_prev->room_next = t->room_next;
        else
            r->head = t->room_next;
        if (t->room_next) t->room_next->room_prev = t->room_prev;
        if (--r->n == 0) {
            hx_strmap_del(&e->rooms, r->name);
            free(r->speakers);
            free(r->rx_buf);
            free(r);
        }
    }
    char key[24];
    hx__transport_key(t->id, key);
    hx_strmap_del(&e->transports, key);
    free(t->offerer);
    free(t->agreed);
    free(t->twcc);
    free(t->dl);
    free(t->last_offer);
    free(t);
}

int hx__transport_ensure_dtls(hx__transport *t)
{
    return t->dtls ? 0 : dtls_create(t, HX_DTLS_SERVER);
}

int hx__transport_remote_candidate(hx__transport *t, const char *cand, size_t len)
{
    /* An ICE-lite agent never checks toward the peer: it learns addresses from
     * the peer's checks. A candidate is only validated. "" ends the list. */
    (void)t;
    if (len == 0) return 0;
    hx_ice_candidate c;
    return hx_ice_candidate_parse(&c, cand, len) == 0 ? 0 : -1;
}

/* ICE restart (RFC 8445 §9): new local credentials under the same DTLS association. The
 * selected pair keeps carrying media until the peer's checks with the new credentials move it. */
int hx__transport_ice_restart(hx__transport *t)
{
    hx__engine *e = t->e;
    if (t->ice_registered) hx_ice_demux_remove_ufrag(&e->demux, &t->ice);
    int rc = hx_ice_agent_new_local(&t->ice);
    if (t->ice_registered && hx_ice_demux_add(&e->demux, &t->ice) != 0) {
        hx_ice_demux_remove(&e->demux, &t->ice);
        t->ice_registered = false;
        rc = -1;
    }
    t->ice_restarts++;
    hx__path_update(t);
    return rc;
}

int hx__transport_apply_remote(hx__transport *t, const hx_sdp_negotiated *n)
{
    if (!n->remote_ufrag[0] || !n->remote_pwd[0] || !n->remote_fingerprint.alg[0]) return -1;
    if (hx_ice_agent_set_remote(&t->ice, n->remote_ufrag, n->remote_pwd) != 0) return -1;
    hx_dtls_role want = n->dtls_server ? HX_DTLS_SERVER : HX_DTLS_CLIENT;
    if (!t->dtls ? dtls_create(t, want) != 0
                 : !t->have_remote && want != (t->dtls_server ? HX_DTLS_SERVER : HX_DTLS_CLIENT) &&
                       dtls_create(t, want) != 0)
        return -1;
    /* SCTP parameters first: setting the fingerprint may complete a waiting handshake at once. */
    for (int i = 0; i < n->n_media; i++) {
        const hx_sdp_nego_media *m = &n->media[i];
        if (m->kind != HX_SDP_APPLICATION || !m->accepted) continue;
        t->sctp_wanted = true;
        t->sctp_remote_port = m->sctp_port;
        t->remote_max_message = m->max_message_size ? m->max_message_size : 65536;
    }
    if (!t->have_remote && !t->srtp_in)
        t->connect_deadline_ms = t->e->now_ms + t->e->cfg.connect_timeout_ms;
    t->have_remote = true;
    if (hx_dtls_set_remote_fingerprint(t->dtls, n->remote_fingerprint.alg,
                                       n->remote_fingerprint.hex) != 0)
        return -1;
    /* A renegotiation that adds the data m-line to a transport already up. */
    if (t->sctp_wanted && !t->sctp && hx_dtls_get_state(t->dtls) == HX_DTLS_CONNECTED)
        hx__data_start(t);
    return 0;
}

void hx__transport_local(hx__transport *t, hx_sdp_local *local)
{
    memset(local, 0, sizeof *local);
    local->ice_ufrag = t->ice.local_ufrag;
    local->ice_pwd = t->ice.local_pwd;
    local->fp_alg = "sha-256";
    local->fp_hex = t->e->cert.fingerprint;
    local->candidates = t->e->candidate_ptrs;
    local->n_candidates = t->e->n_candidates;
    local->end_of_candidates = true;
    local->max_message_size = (uint32_t)t->e->cfg.data_max_message;
    /* Publishers get transport-wide CC feedback (twcc.c); subscribers' packets carry no such ids.
     */
    local->ext_mask = t->role == HX__PUBLISHER ? 0 : ~(1u << HX_SDP_EXT_TCC);
}

/* RTP clock units in microseconds, at the track's clock. */
static uint64_t clock_us(const hx__track *tr, uint64_t units)
{
    return units * 1000000 / (tr->codec.clock ? tr->codec.clock : 90000);
}

/* Counters and the last measurements (sfu.h: HX_SFU_S_*), for the control plane's metrics. */
static void emit_stats(hx__transport *t)
{
    uint64_t st[HX_SFU_STATS_N] = {
        [HX_SFU_S_PACKETS_IN] = t->packets_in,   [HX_SFU_S_BYTES_IN] = t->bytes_in,
        [HX_SFU_S_PACKETS_OUT] = t->packets_out, [HX_SFU_S_BYTES_OUT] = t->bytes_out,
        [HX_SFU_S_RTT_US] = HX_SFU_UNKNOWN,      [HX_SFU_S_JITTER_IN_US] = HX_SFU_UNKNOWN,
        [HX_SFU_S_JITTER_OUT_US] = HX_SFU_UNKNOWN, [HX_SFU_S_DROPPED_SRTP] = t->srtp_errors,
        [HX_SFU_S_DROPPED_LIMIT] = t->rx_limited};
    uint64_t *jin = &st[HX_SFU_S_JITTER_IN_US], *jout = &st[HX_SFU_S_JITTER_OUT_US];
    for (int i = 0; i < t->n_tracks; i++) {
        st[HX_SFU_S_PLIS] += t->tracks[i]->plis_sent;
        for (int l = 0; l < t->tracks[i]->n_layers; l++) {
            const hx__layer *ly = &t->tracks[i]->layers[l];
            if (!ly->stats_started) continue;
            int64_t lost = hx_rx_stats_lost(&ly->stats);
            st[HX_SFU_S_LOST] += lost > 0 ? (uint64_t)lost : 0;
            uint64_t j = clock_us(t->tracks[i], ly->stats.jitter_q4 >> 4);
            if (*jin == HX_SFU_UNKNOWN || j > *jin) *jin = j;
        }
    }
    for (int i = 0; i < t->n_consumers; i++) {
        const hx__consumer *c = t->consumers[i];
        st[HX_SFU_S_NACKS] += c->nacks;
        uint64_t j = clock_us(c->track, c->rr_jitter);
        if (c->rr_seen && (*jout == HX_SFU_UNKNOWN || j > *jout)) *jout = j;
    }
    if (t->rtt_ms >= 0) st[HX_SFU_S_RTT_US] = (uint64_t)t->rtt_ms * 1000;
    hx_sfu_builder b;
    hx__begin(t->e, &b, HX_SFU_EV_STATS, t->id);
    hx_sfu_put_stats(&b, st);
    hx__emit(t->e, &b);
}

void hx__transport_ice_events(hx__transport *t, uint32_t ev)
{
    if (!(ev & HX_ICE_EV_STATE) || !strcmp(t->state, "failed") || !strcmp(t->state, "closed"))
        return;
    if (t->ice.state == HX_ICE_DISCONNECTED)
        hx__emit_state(t, "disconnected", "ice consent lost");
    else if (t->ice.state == HX_ICE_FAILED)
        hx__transport_fail(t, "ice: consent not regained");
    else if (t->ice.state == HX_ICE_CONNECTED && t->dtls &&
             hx_dtls_get_state(t->dtls) == HX_DTLS_CONNECTED)
        hx__emit_state(t, "connected", NULL); /* consent regained */
}

void hx__transport_tick(hx__transport *t)
{
    hx__engine *e = t->e;
    if (t->relay) {
        hx__relay_tick(t);
        return;
    }
    if (t->dtls && hx_dtls_get_state(t->dtls) == HX_DTLS_CONNECTING) {
        int64_t due = hx_dtls_timeout_ms(t->dtls, (uint64_t)e->now_ms);
        if (due == 0) hx_dtls_on_timer(t->dtls, (uint64_t)e->now_ms);
    }
    hx__milestones(t); /* before the state: a check passed before DTLS could fail */
    uint32_t ev = hx_ice_agent_tick(&t->ice, e->now_ms);
    hx__path_update(t); /* a pair may have expired */
    hx__transport_ice_events(t, ev);
    if (t->connect_deadline_ms && !t->srtp_in && e->now_ms >= t->connect_deadline_ms) {
        t->connect_deadline_ms = 0;
        char why[96];
        snprintf(why, sizeof why, "connect_timeout: ice %s, dtls %s",
                 hx_ice_state_name(t->ice.state),
                 !t->dtls                                           ? "none"
                 : hx_dtls_get_state(t->dtls) == HX_DTLS_CONNECTING ? "handshaking"
                                                                    : "not started");
        hx__transport_fail(t, why);
    }
    if (t->srtp_out) hx__rtcp_tick(t);
    if (t->srtp_out) hx__dl_tick(t);
    if (t->role == HX__PUBLISHER) hx__speakers_tick(t);
    if (t->role == HX__PUBLISHER) hx__layers_tick(t);
    hx__data_tick(t);
    /* Cumulative counters: an unchanged set tells the control plane nothing. */
    uint64_t seen = hx__stats_sum(t);
    if (seen != t->stats_seen && e->now_ms - t->last_stats_ms >= 2000) {
        t->last_stats_ms = e->now_ms;
        t->stats_seen = seen;
        emit_stats(t);
    }
    if (e->debug && e->now_ms - t->last_debug_ms >= 2000) {
        t->last_debug_ms = e->now_ms;
        fprintf(stderr,
                "engine %llx %s %s ice=%s pairs=%u dtls=%d in=%llu/%llu out=%llu rtcp=%llu/%llu "
                "srtperr=%llu tracks=%d cons=%d\n",
                (unsigned long long)t->id, t->role ? "sub" : "pub", t->participant,
                hx_ice_state_name(t->ice.state), t->ice.n_pairs,
                t->dtls ? (int)hx_dtls_get_state(t->dtls) : -1, (unsigned long long)t->packets_in,
                (unsigned long long)t->bytes_in, (unsigned long long)t->packets_out,
                (unsigned long long)t->rtcp_in, (unsigned long long)t->rtcp_out,
                (unsigned long long)t->srtp_errors, t->n_tracks, t->n_consumers);
        for (int i = 0; i < t->n_tracks; i++)
            fprintf(stderr,
                    "  track %s %s ssrc=%u kbps=%u/%u/%u tl=%u:%u/%u pkts=%llu plis=%llu "
                    "dups=%llu consumers=%s\n",
                    t->tracks[i]->id, t->tracks[i]->codec.name, t->tracks[i]->layers[0].ssrc,
                    t->tracks[i]->layers[0].rate_bps / 1000,
                    t->tracks[i]->layers[1].rate_bps / 1000,
                    t->tracks[i]->layers[2].rate_bps / 1000, t->tracks[i]->layers[0].tl_max,
                    t->tracks[i]->layers[0].tl_rate_bps[0] / 1000,
                    t->tracks[i]->layers[0].tl_rate_bps[1] / 1000,
                    (unsigned long long)t->tracks[i]->layers[0].packets,
                    (unsigned long long)t->tracks[i]->plis_sent,
                    (unsigned long long)(t->tracks[i]->layers[0].rtx_duplicates +
                                         t->tracks[i]->layers[1].rtx_duplicates +
                                         t->tracks[i]->layers[2].rtx_duplicates),
                    t->tracks[i]->consumers ? "yes" : "no");
        if (t->dl)
            fprintf(
                stderr,
                "  downlink est=%u acked=%u wanted=%u fb=%llu probes=%llu/%llu pad=%llu "
                "changes=%llu loss=%.3f seqs=%llu/%llu got=%llu lost=%llu refused=%llu\n",
                hx_bwe_estimate(&t->dl->bwe), hx_bwe_acked(&t->dl->bwe), t->dl->wanted_bps,
                (unsigned long long)t->dl->feedbacks, (unsigned long long)t->dl->bwe.probes_ok,
                (unsigned long long)t->dl->bwe.probes, (unsigned long long)t->dl->padding_packets,
                (unsigned long long)t->dl->layer_changes, t->dl->bwe.last_loss,
                (unsigned long long)t->dl->stamped, (unsigned long long)t->dl->recorded,
                (unsigned long long)t->dl->reported_got, (unsigned long long)t->dl->reported_lost,
                (unsigned long long)t->dl->rtx_refused);
        for (int i = 0; i < t->n_consumers; i++)
            fprintf(stderr,
                    "  consumer %s mid=%s neg=%d layer=%d svc=%d/%d cap=%d tl=%d/%d tcc=%d nk=%d "
                    "pkts=%llu nacks=%llu rtx=%llu\n",
                    t->consumers[i]->track->id, t->consumers[i]->mid, t->consumers[i]->negotiated,
                    t->consumers[i]->layer, t->consumers[i]->svc_cur, t->consumers[i]->svc_target,
                    t->consumers[i]->bwe_layer, t->consumers[i]->tl_cur,
                    t->consumers[i]->tl_target, t->consumers[i]->tcc,
                    t->consumers[i]->need_keyframe, (unsigned long long)t->consumers[i]->packets,
                    (unsigned long long)t->consumers[i]->nacks,
                    (unsigned long long)t->consumers[i]->rtx_sent);
    }
    if (t->role == HX__SUBSCRIBER) {
        hx__subscriber_tick(t);
        hx__subscriber_maybe_offer(t);
    }
}

void hx__transport_rx_dtls(hx__transport *t, const uint8_t *buf, size_t len)
{
    if (t->dtls) hx_dtls_input(t->dtls, buf, len, (uint64_t)t->e->now_ms);
}
