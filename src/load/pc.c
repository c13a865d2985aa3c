/*
 * A client PeerConnection for the load generator: one UDP socket, ICE as the
 * controlling agent, DTLS as the client, SRTP both ways.
 *
 * ICE (RFC 8445): against one remote host candidate the client sends Binding
 * requests with USERNAME "<remote ufrag>:<local ufrag>", PRIORITY,
 * ICE-CONTROLLING and USE-CANDIDATE (aggressive nomination; or ICE-CONTROLLED
 * when we answered a full agent's offer, which then nominates), MESSAGE-INTEGRITY
 * under the remote password and FINGERPRINT, every 50 ms until a success
 * response carrying the same transaction id verifies, then every 5 s as
 * consent freshness (RFC 7675). A full agent (Janus) checks us too: a
 * request whose integrity verifies under our password gets a success
 * response with XOR-MAPPED-ADDRESS. DTLS starts on the first success.
 *
 * Receive: the socket is polled on the worker's loop; each wakeup reads
 * batches with recvmmsg into the worker's fixed buffers and demultiplexes by
 * first byte (RFC 7983): STUN, DTLS, RTP/RTCP. Send: protect in place in the
 * caller's buffer and sendto. Nothing on these paths allocates.
 */
#define _GNU_SOURCE
#include "load/load_internal.h"
#include "rtp/rtp.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int dtls_send(void *user, const uint8_t *buf, size_t len)
{
    hx_lpc *pc = user;
    if (!pc->have_remote || pc->fd < 0) return -1;
    return sendto(pc->fd, buf, len, 0, (struct sockaddr *)&pc->remote, pc->remote_len) < 0 ? -1 : 0;
}

static void fail(hx_lpc *pc, const char *why)
{
    if (pc->failed) return;
    pc->failed = true;
    if (pc->cbs.on_fail) pc->cbs.on_fail(pc, why);
}

static void dtls_connected(void *user, const hx_dtls_srtp_keys *k)
{
    hx_lpc *pc = user;
    if (hx_srtp_create(&pc->tx, k->profile, k->local_key, k->key_len, k->local_salt, k->salt_len) !=
            0 ||
        hx_srtp_create(&pc->rx, k->profile, k->remote_key, k->key_len, k->remote_salt,
                       k->salt_len) != 0) {
        fail(pc, "SRTP context");
        return;
    }
    pc->up = true;
    if (pc->cbs.on_up) pc->cbs.on_up(pc);
}

static void dtls_failed(void *user, int err, const char *reason)
{
    hx_lpc *pc = user;
    char why[160];
    snprintf(why, sizeof why, "DTLS: %s (%s)", hx_dtls_strerror(err), reason ? reason : "");
    fail(pc, why);
}

static void dtls_data(void *user, const uint8_t *buf, size_t len)
{
    /* SCTP from a server that opened a data channel: not used by the load generator. */
}

static void send_check(hx_lpc *pc, uint64_t now_us)
{
    uint8_t buf[512];
    for (int i = 0; i < HX_STUN_TID_LEN; i++)
        pc->tid[i] = (uint8_t)hx__load_rand(pc->w);
    char user[sizeof pc->rufrag + sizeof pc->lufrag + 2];
    int ulen = snprintf(user, sizeof user, "%s:%s", pc->rufrag, pc->lufrag);
    hx_stun_writer w;
    hx_stun_writer_init(&w, buf, sizeof buf, HX_STUN_BINDING_REQUEST, pc->tid);
    hx_stun_put(&w, HX_STUN_ATTR_USERNAME, user, (size_t)ulen);
    hx_stun_put_u32(&w, HX_STUN_ATTR_PRIORITY, 0x6e7fffffu); /* a host candidate's, RFC 8445 */
    if (pc->controlled) {
        hx_stun_put_u64(&w, HX_STUN_ATTR_ICE_CONTROLLED, pc->tiebreaker);
    } else {
        hx_stun_put_u64(&w, HX_STUN_ATTR_ICE_CONTROLLING, pc->tiebreaker);
        hx_stun_put(&w, HX_STUN_ATTR_USE_CANDIDATE, NULL, 0);
    }
    hx_stun_put_integrity(&w, &pc->rkey);
    hx_stun_put_fingerprint(&w);
    long n = hx_stun_writer_finish(&w);
    if (n > 0) dtls_send(pc, buf, (size_t)n);
    pc->next_check_us = now_us + (pc->ice_ok ? HX_LPC_CONSENT_EVERY_US : HX_LPC_CHECK_EVERY_US);
}

static void on_stun(hx_lpc *pc, const uint8_t *buf, size_t len, const struct sockaddr_storage *from,
                    socklen_t fromlen, uint64_t now_us)
{
    hx_stun_msg m;
    if (hx_stun_parse(&m, buf, len) != 0) return;
    if (m.type == HX_STUN_BINDING_SUCCESS) {
        if (memcmp(m.tid, pc->tid, HX_STUN_TID_LEN) != 0) return;
        if (hx_stun_check_integrity(&m, &pc->rkey) != 0) return;
        if (!pc->ice_ok) {
            if (getenv("HX_LOAD_DEBUG")) fprintf(stderr, "pc %p: ICE ok\n", (void *)pc);
            pc->ice_ok = true;
            pc->next_check_us = now_us + HX_LPC_CONSENT_EVERY_US;
        }
        if (!pc->dtls_started) {
            pc->dtls_started = true;
            if (hx_dtls_start(pc->dtls, now_us / 1000) != 0) fail(pc, "DTLS start");
        }
    } else if (m.type == HX_STUN_BINDING_REQUEST) {
        if (hx_stun_check_integrity(&m, &pc->lkey) != 0) return;
        if (!pc->have_remote) {
            memcpy(&pc->remote, from, fromlen);
            pc->remote_len = fromlen;
            pc->have_remote = true;
        }
        uint8_t out[256];
        hx_stun_writer w;
        hx_stun_writer_init(&w, out, sizeof out, HX_STUN_BINDING_SUCCESS, m.tid);
        hx_stun_put_xor_addr(&w, HX_STUN_ATTR_XOR_MAPPED_ADDRESS, (const struct sockaddr *)from);
        hx_stun_put_integrity(&w, &pc->lkey);
        hx_stun_put_fingerprint(&w);
        long n = hx_stun_writer_finish(&w);
        if (n > 0) sendto(pc->fd, out, (size_t)n, 0, (const struct sockaddr *)from, fromlen);
    }
}

static void on_packet(hx_lpc *pc, uint8_t *buf, size_t len, const struct sockaddr_storage *from,
                      socklen_t fromlen, uint64_t now_us)
{
    if (len < 1) return;
    uint8_t b = buf[0];
    if (b < 4) {
        on_stun(pc, buf, len, from, fromlen, now_us);
    } else if (b >= 20 && b < 64) {
        if (pc->dtls) hx_dtls_input(pc->dtls, buf, len, now_us / 1000);
    } else if (b >= 128 && b < 192 && pc->up && len >= 2) {
        uint8_t pt = buf[1] & 0x7f;
        if (pt >= 64 && pt < 96) { /* RTCP: 192-223 with the marker bit (RFC 5761) */
            if (hx_srtcp_unprotect(pc->rx, buf, &len) == 0 && pc->cbs.on_rtcp)
                pc->cbs.on_rtcp(pc, buf, len, now_us);
        } else if (hx_srtp_unprotect(pc->rx, buf, &len) == 0) {
            if (pc->cbs.on_rtp) pc->cbs.on_rtp(pc, buf, len, now_us);
        } else {
            pc->w->st.unprotect_fail++;
        }
    }
}

static void on_poll(uv_poll_t *h, int status, int events)
{
    hx_lpc *pc = h->data;
    hx_load_worker *w = pc->w;
    struct mmsghdr msgs[HX_LPC_RX_BATCH];
    struct iovec iov[HX_LPC_RX_BATCH];
    struct sockaddr_storage from[HX_LPC_RX_BATCH];
    for (int round = 0; round < 8 && !pc->closing; round++) {
        for (int i = 0; i < HX_LPC_RX_BATCH; i++) {
            iov[i].iov_base = w->rx_bufs[i];
            iov[i].iov_len = HX_LOAD_PKT_MAX;
            memset(&msgs[i].msg_hdr, 0, sizeof msgs[i].msg_hdr);
            msgs[i].msg_hdr.msg_iov = &iov[i];
            msgs[i].msg_hdr.msg_iovlen = 1;
            msgs[i].msg_hdr.msg_name = &from[i];
            msgs[i].msg_hdr.msg_namelen = sizeof from[i];
        }
        int n = recvmmsg(pc->fd, msgs, HX_LPC_RX_BATCH, MSG_DONTWAIT, NULL);
        if (n <= 0) break;
        uint64_t now = hx_load_now_us();
        for (int i = 0; i < n && !pc->closing; i++)
            on_packet(pc, w->rx_bufs[i], msgs[i].msg_len, &from[i], msgs[i].msg_hdr.msg_namelen,
                      now);
        if (n < HX_LPC_RX_BATCH) break;
    }
}

int hx_lpc_open(hx_lpc *pc, hx_load_worker *w, hx_load_part *part, const hx_lpc_cbs *cbs)
{
    /* pc is malloc'd by the caller and owned from here on: hx_lpc_close frees it, and a
     * failed open has already closed it. */
    memset(pc, 0, sizeof *pc);
    pc->w = w;
    pc->part = part;
    pc->cbs = *cbs;
    pc->fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (pc->fd < 0) goto fail;
    int sz = HX_LPC_RCVBUF;
    if (setsockopt(pc->fd, SOL_SOCKET, SO_RCVBUFFORCE, &sz, sizeof sz) != 0)
        setsockopt(pc->fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof sz);
    struct sockaddr_in *sin = (struct sockaddr_in *)&pc->local;
    sin->sin_family = AF_INET;
    if (inet_pton(AF_INET, w->run->cfg->local_ip, &sin->sin_addr) != 1 ||
        bind(pc->fd, (struct sockaddr *)sin, sizeof *sin) != 0)
        goto fail;
    socklen_t sl = sizeof pc->local;
    getsockname(pc->fd, (struct sockaddr *)&pc->local, &sl);
    hx__load_rand_ice(w, pc->lufrag, 8);
    hx__load_rand_ice(w, pc->lpwd, 24);
    hx_stun_key_init(&pc->lkey, (const uint8_t *)pc->lpwd, strlen(pc->lpwd));
    pc->tiebreaker = (uint64_t)hx__load_rand(w) << 32 | hx__load_rand(w);
    hx_dtls_cbs dc = {.user = pc,
                      .send = dtls_send,
                      .on_connected = dtls_connected,
                      .on_failed = dtls_failed,
                      .on_data = dtls_data};
    if (hx_dtls_new(&pc->dtls, w->dtls_ctx, HX_DTLS_CLIENT, &dc) != 0) goto fail;
    if (uv_poll_init(&w->loop, &pc->poll, pc->fd) != 0) goto fail;
    pc->poll_init = true;
    pc->poll.data = pc;
    uv_poll_start(&pc->poll, UV_READABLE, on_poll);
    return 0;
fail:
    hx_lpc_close(pc);
    return -1;
}

int hx_lpc_set_remote(hx_lpc *pc, const char *ufrag, const char *pwd, const char *fp_alg,
                      const char *fp)
{
    if (pc->have_rcreds) return 0; /* renegotiations keep the transport */
    if (strlen(ufrag) >= sizeof pc->rufrag || strlen(pwd) >= sizeof pc->rpwd || !*ufrag || !*pwd)
        return -1;
    strcpy(pc->rufrag, ufrag);
    strcpy(pc->rpwd, pwd);
    hx_stun_key_init(&pc->rkey, (const uint8_t *)pwd, strlen(pwd));
    if (hx_dtls_set_remote_fingerprint(pc->dtls, fp_alg, fp) != 0) return -1;
    pc->have_rcreds = true;
    if (getenv("HX_LOAD_DEBUG"))
        fprintf(stderr, "pc %p: remote %s / %s, candidate %s\n", (void *)pc, ufrag, pwd,
                pc->have_remote ? "yes" : "no");
    pc->ice_deadline_us = hx_load_now_us() + HX_LOAD_JOIN_TIMEOUT_MS * 1000ull;
    return 0;
}

int hx_lpc_add_candidate(hx_lpc *pc, const char *cand)
{
    if (!strncmp(cand, "a=", 2)) cand += 2;
    if (strncmp(cand, "candidate:", 10) != 0 || pc->have_remote) return 0;
    char found[64], proto[16], ip[64], typ[16], type[16];
    unsigned comp, port;
    unsigned long prio;
    if (sscanf(cand + 10, "%63s %u %15s %lu %63s %u %15s %15s", found, &comp, proto, &prio, ip,
               &port, typ, type) != 8)
        return 0;
    if (comp != 1 || strcasecmp(proto, "udp") != 0 || port == 0 || port > 65535) return 0;
    struct sockaddr_in *sin = (struct sockaddr_in *)&pc->remote;
    memset(&pc->remote, 0, sizeof pc->remote);
    sin->sin_family = AF_INET;
    sin->sin_port = htons((uint16_t)port);
    if (inet_pton(AF_INET, ip, &sin->sin_addr) != 1) return 0;
    pc->remote_len = sizeof *sin;
    pc->have_remote = true;
    return 1;
}

void hx_lpc_tick(hx_lpc *pc, uint64_t now_us)
{
    if (pc->closing || pc->failed || !pc->have_rcreds || !pc->have_remote) return;
    if (now_us >= pc->next_check_us) send_check(pc, now_us);
    if (!pc->up && pc->ice_deadline_us && now_us > pc->ice_deadline_us) {
        fail(pc, pc->ice_ok ? "DTLS did not connect in time" : "ICE did not connect in time");
        return;
    }
    if (pc->dtls_started && !pc->up) {
        int64_t t = hx_dtls_timeout_ms(pc->dtls, now_us / 1000);
        if (t == 0) hx_dtls_on_timer(pc->dtls, now_us / 1000);
    }
}

static int send_protected(hx_lpc *pc, uint8_t *buf, size_t len, size_t cap, bool rtcp)
{
    if (!pc->up || pc->closing) return -1;
    int rc =
        rtcp ? hx_srtcp_protect(pc->tx, buf, &len, cap) : hx_srtp_protect(pc->tx, buf, &len, cap);
    if (rc != 0) return -1;
    return sendto(pc->fd, buf, len, 0, (struct sockaddr *)&pc->remote, pc->remote_len) < 0 ? -1 : 0;
}

int hx_lpc_send_rtp(hx_lpc *pc, uint8_t *buf, size_t len, size_t cap)
{
    return send_protected(pc, buf, len, cap, false);
}

int hx_lpc_send_rtcp(hx_lpc *pc, uint8_t *buf, size_t len, size_t cap)
{
    return send_protected(pc, buf, len, cap, true);
}

static void poll_closed(uv_handle_t *h)
{
    hx_lpc *pc = h->data;
    free(pc);
}

void hx_lpc_close(hx_lpc *pc)
{
    if (pc->closing) return;
    pc->closing = true;
    if (pc->dtls) {
        if (pc->up) hx_dtls_close(pc->dtls);
        hx_dtls_free(pc->dtls);
        pc->dtls = NULL;
    }
    hx_srtp_destroy(pc->tx);
    hx_srtp_destroy(pc->rx);
    pc->tx = pc->rx = NULL;
    if (pc->poll_init) {
        uv_poll_stop(&pc->poll);
        uv_close((uv_handle_t *)&pc->poll, poll_closed);
    }
    if (pc->fd >= 0) close(pc->fd);
    pc->fd = -1;
    if (!pc->poll_init) free(pc);
}

int hx_lpc_port(const hx_lpc *pc)
{
    return ntohs(((const struct sockaddr_in *)&pc->local)->sin_port);
}

const char *hx_lpc_fingerprint(const hx_lpc *pc)
{
    return pc->w->cert.fingerprint;
}
