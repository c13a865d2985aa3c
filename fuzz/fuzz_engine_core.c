/*
 * libFuzzer target for the engine core (sfu/core.h), stateful, as
 * mediasoup fuzzes its stream managers: every input starts from the same
 * room (tests/support/engine_fixture.h), a publisher that offered Chromium's
 * audio + video (tests/sdp/fixtures/chromium_pub.sdp) and a subscriber
 * forwarding both, each connected with real ICE, DTLS and SRTP. The input is
 * then a sequence of records [op][len][len bytes] run against that room on
 * a clock that only moves forward:
 *
 *   0  RTP from the publisher (protected by the harness): bytes[0] picks the
 *      SSRC (audio, video, video RTX, or bytes[1..4]), then PT, marker,
 *      seq and ts from the bytes, the rest is the payload (VP8 descriptors
 *      and key frames appear when the mutator finds them);
 *   1  RTCP from the subscriber (protected): the bytes as a compound packet,
 *      with bytes[0] able to stamp the consumer's SSRC into a NACK, PLI or
 *      FIR so feedback reaches the resend and keyframe paths;
 *   2  RTCP from the publisher (protected): the bytes (sender reports);
 *   3  raw bytes from a peer's address (bytes[0] picks the peer): garbage
 *      STUN, DTLS and RTP to the demux, unauthenticated;
 *   4  time: bytes[0..1] ms pass and the core's timer runs;
 *   5  a command: bytes[0] picks pause, resume, set_layer (by rid; with more
 *      bytes, a size: "WxH" text from them), mute, unmute,
 *      unsubscribe, subscribe, ice restart, a renegotiation answer, a
 *      refusal, close and reopen of the subscriber, pin and unpin (which
 *      allocate the downlink again);
 *   6  an ICE check from a peer, or (bytes[0] bit 0) over an ICE-TCP
 *      connection the harness holds, which bit 1 closes;
 *   7  RTP as 0 from a second publisher whose video is VP9 (the same offer
 *      with VP9 first), opened at its first record and subscribed to: VP9
 *      descriptors with spatial layers make its track SVC (sfu/svc.c), and
 *      set_layer commands (5) on the video then pick among them too;
 *   8  RTP from a third publisher whose video is AV1 with the dependency
 *      descriptor (fx_sdp_av1_offer), opened and subscribed to at its first
 *      record: the header as 0, then bytes[12] = the descriptor's length L,
 *      L bytes of descriptor (sent as extension FX_DD_ID, two-byte form when
 *      long), the rest the payload: its structures and frames make the track
 *      SVC through the descriptor, and set_layer picks among its layers;
 *   9  relays between workers (sfu/relay.h): bytes[0] picks RELAY_OUT of the
 *      room to a far worker (on or off), RELAY_IN of a mirror (of the video's
 *      description, from a home address; bit 4 also subscribes to it),
 *      RELAY_DROP, or a relay frame whose type, id (a mirror's, the local
 *      video's, or from the bytes) and layer come from bytes[1..2], sent from
 *      the home or the far worker, the rest its payload.
 *
 * After every record the harness aborts unless hx_engine_core_check holds.
 * Data channels are off: usrsctp's global state would outlive an input.
 *
 * Seeds (fuzz/corpus/engine_core): audio and video packets, NACK, PLI, an
 * SR, time steps, commands (pin among them), checks, VP9 SVC pictures and
 * AV1 SVC pictures with their descriptors.
 */
#include "support/engine_fixture.h"

#include "rtp/rtcp.h"
#include "sctp/sctp.h"
#include "sfu/relay.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define AUDIO_SSRC 200015246u
#define VIDEO_SSRC FX_CHROMIUM_VIDEO_SSRC
#define VIDEO_RTX_SSRC 1006924124u

static uint32_t be32(const uint8_t *b)
{
    return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}

typedef struct room {
    fx f;
    fx_peer *pub, *sub;
    fx_peer *svc; /* the VP9 publisher (op 7), NULL until its first record */
    fx_peer *av1; /* the AV1 publisher (op 8), likewise */
    char audio[64], video[64], svc_video[64], av1_video[64];
    uint8_t desc[HX_RELAY_DESC_MAX]; /* the video's description (op 9) */
    size_t desc_len;
    int conn;    /* the ICE-TCP connection's identity */
    void *bound; /* its binding */
    bool conn_open;
} room;

static int room_open(room *r)
{
    const char *offer = fx_sdp_fixture(HX_SOURCE_DIR, "chromium_pub.sdp");
    if (!offer) abort();
    hx_engine_config cfg;
    hx_engine_config_default(&cfg);
    cfg.max_transports = 8; /* small tables: a fresh core per input stays cheap */
    if (fx_init(&r->f, &cfg) != 0) return -1;
    r->pub = fx_publisher(&r->f, 2, "fuzz", "p_pub", offer);
    if (!r->pub || !fx_track_id(&r->f, 2, 1)) return -1;
    snprintf(r->audio, sizeof r->audio, "%s", fx_track_id(&r->f, 2, 0));
    snprintf(r->video, sizeof r->video, "%s", fx_track_id(&r->f, 2, 1));
    for (int i = 0; i < 4; i++) { /* the video's TRACK_PUBLISHED: its description */
        const hx_sfu_msg *m = fx_event(&r->f, HX_SFU_EV_TRACK_PUBLISHED, 2, i);
        if (m && hx_sfu_field_is(m, HX_SFU_T_TRACK, r->video) &&
            m->f[HX_SFU_T_DESC].len <= sizeof r->desc) {
            memcpy(r->desc, m->f[HX_SFU_T_DESC].p, m->f[HX_SFU_T_DESC].len);
            r->desc_len = m->f[HX_SFU_T_DESC].len;
        }
    }
    if (!r->desc_len) return -1;
    r->sub = fx_subscriber(&r->f, 5, "fuzz", "p_sub");
    if (!r->sub) return -1;
    fx_track_cmd(&r->f, HX_SFU_SUBSCRIBE, 5, r->audio, NULL);
    fx_track_cmd(&r->f, HX_SFU_SUBSCRIBE, 5, r->video, NULL);
    fx_advance(&r->f, 20);
    if (fx_answer(r->sub) != 0) return -1;
    r->f.keep_out = false;
    return 0;
}

static void rtp(room *r, fx_peer *pub, const uint8_t *b, size_t n)
{
    if (n < 12) return;
    static const uint32_t ssrcs[] = {AUDIO_SSRC, VIDEO_SSRC, VIDEO_RTX_SSRC};
    uint32_t ssrc = (b[0] & 3) < 3 ? ssrcs[b[0] & 3] : be32(b + 1);
    uint8_t pkt[HX_ENGINE_MTU];
    size_t len = fx_rtp(pkt, b[5] & 0x7f, (uint16_t)(b[6] << 8 | b[7]), be32(b + 8), ssrc,
                        b[5] & 0x80, b + 12, n - 12 > 1100 ? 1100 : n - 12);
    if (b[0] & 4) pkt[0] |= 0x10; /* claims an extension: the parser checks it */
    fx_send_rtp(pub, pkt, len);
}

/* Op 8's packet: as rtp(), with a dependency descriptor of bytes[12] bytes after the header. */
static void rtp_dd(fx_peer *pub, const uint8_t *b, size_t n)
{
    if (n < 13) return;
    size_t dl = b[12] < n - 13 ? b[12] : n - 13, pl = n - 13 - dl;
    static const uint32_t ssrcs[] = {AUDIO_SSRC, VIDEO_SSRC, VIDEO_RTX_SSRC};
    hx_rtp_ext x = {.id = FX_DD_ID, .len = (uint8_t)dl, .val = b + 13};
    hx_rtp_build_args a = {.marker = (b[5] & 0x80) != 0,
                           .pt = b[5] & 0x7f,
                           .seq = (uint16_t)(b[6] << 8 | b[7]),
                           .ts = be32(b + 8),
                           .ssrc = (b[0] & 3) < 3 ? ssrcs[b[0] & 3] : be32(b + 1),
                           .ext = &x,
                           .n_ext = dl ? 1 : 0,
                           .payload = b + 13 + dl,
                           .payload_len = pl > 1100 ? 1100 : pl};
    uint8_t pkt[HX_ENGINE_MTU];
    long len = hx_rtp_build(pkt, sizeof pkt, &a);
    if (len > 0) fx_send_rtp(pub, pkt, (size_t)len);
}

/* A second publisher (VP9 or AV1), opened and subscribed to at its first use. */
static fx_peer *svc_publisher(room *r, fx_peer **p, uint64_t id, const char *offer, char *video,
                              size_t cap)
{
    if (*p) return *p;
    if (!offer) abort();
    *p = fx_publisher(&r->f, id, "fuzz", id == 3 ? "p_svc" : "p_av1", offer);
    const char *tr = *p ? fx_track_id(&r->f, id, 1) : NULL;
    if (!tr) {
        fprintf(stderr, "fuzz_engine_core: publisher %llu did not open: %s\n",
                (unsigned long long)id, r->f.err);
        abort();
    }
    snprintf(video, cap, "%s", tr);
    fx_track_cmd(&r->f, HX_SFU_SUBSCRIBE, 5, video, NULL);
    fx_advance(&r->f, 20);
    fx_answer(r->sub); /* refused when the subscriber is closed: then it only publishes */
    return *p;
}

static void rtcp(room *r, fx_peer *p, const uint8_t *b, size_t n)
{
    if (n < 9 || n > 1200) return;
    uint8_t pkt[1200];
    memcpy(pkt, b + 1, n - 1);
    uint32_t ssrc = fx_offer_ssrc(r->sub, (b[0] & 1) ? "1" : "0", false);
    /* Stamp the consumer's SSRC as the media SSRC of a feedback packet (bytes 8..11). */
    if ((b[0] & 2) && n - 1 >= 12) {
        pkt[8] = (uint8_t)(ssrc >> 24), pkt[9] = (uint8_t)(ssrc >> 16);
        pkt[10] = (uint8_t)(ssrc >> 8), pkt[11] = (uint8_t)ssrc;
    }
    fx_send_rtcp(p, pkt, n - 1);
}

static void raw(room *r, const uint8_t *b, size_t n)
{
    if (n < 2 || n > HX_ENGINE_MTU) return;
    fx_peer *p = b[0] & 1 ? r->sub : r->pub;
    uint8_t pkt[HX_ENGINE_MTU];
    memcpy(pkt, b + 1, n - 1);
    hx_engine_path from = {
        .proto = HX_PATH_UDP, .addr = p->addr, .addrlen = sizeof(struct sockaddr_in)};
    hx_engine_core_rx(r->f.core, &from, NULL, pkt, n - 1, r->f.now);
    fx_pump(&r->f);
}

static void command(room *r, const uint8_t *b, size_t n)
{
    if (n < 1) return;
    fx *f = &r->f;
    /* bit 4: video, and with bit 7 the VP9 publisher's (op 7), or the AV1 one's (op 8) when
     * the record's length is even or there is no VP9 publisher */
    bool av1 = r->av1 && (n % 2 == 0 || !r->svc);
    const char *track = !(b[0] & 0x10)  ? r->audio
                        : !(b[0] & 0x80) ? r->video
                        : av1            ? r->av1_video
                        : r->svc         ? r->svc_video
                                         : r->video;
    static const char *const layers[] = {"", "q", "h", "f"};
    switch (b[0] & 0x0f) {
    case 0:
        fx_track_cmd(f, HX_SFU_PAUSE, 5, track, NULL);
        break;
    case 1:
        fx_track_cmd(f, HX_SFU_RESUME, 5, track, NULL);
        break;
    case 2:
        if (n >= 3) { /* a size instead of a rid: the bytes, as text (malformed too) */
            uint8_t buf[256];
            hx_sfu_builder m;
            hx_sfu_build(&m, buf, sizeof buf, HX_SFU_SET_LAYER, 5);
            hx_sfu_put_cstr(&m, HX_SFU_T_TRACK, track);
            hx_sfu_put_str(&m, HX_SFU_T_SIZE, (const char *)b + 1, n - 1 > 16 ? 16 : n - 1);
            fx_command(f, &m);
            break;
        }
        fx_track_cmd(f, HX_SFU_SET_LAYER, 5, track, layers[(b[0] >> 5) & 3]);
        break;
    case 3:
        fx_track_flag_cmd(f, HX_SFU_MUTE, 2, track, b[0] & 0x20, NULL);
        break;
    case 4:
        fx_track_cmd(f, HX_SFU_UNSUBSCRIBE, 5, track, NULL);
        break;
    case 5:
        fx_track_cmd(f, HX_SFU_SUBSCRIBE, 5, track, NULL);
        break;
    case 6: {
        uint8_t buf[64];
        hx_sfu_builder m;
        hx_sfu_build(&m, buf, sizeof buf, HX_SFU_ICE_RESTART, 5);
        fx_command(f, &m);
        break;
    }
    case 7:
        fx_answer(r->sub);
        break;
    case 8: {
        const hx_sfu_msg *o = fx_event(f, HX_SFU_EV_LOCAL_SDP, 5, -1);
        if (!o) break;
        uint8_t buf[256];
        hx_sfu_builder m;
        hx_sfu_build(&m, buf, sizeof buf, HX_SFU_REMOTE_SDP, 5);
        hx_sfu_put_cstr(&m, HX_SFU_T_SDP_TYPE, "refusal");
        hx_sfu_put_cstr(&m, HX_SFU_T_REVISION, fx_field(o, HX_SFU_T_REVISION));
        fx_command(f, &m);
        break;
    }
    case 9:
        fx_close(f, b[0] & 0x10 ? 2 : 5, "fuzz");
        break;
    case 10:
        fx_track_flag_cmd(f, HX_SFU_PIN, 5, track, b[0] & 0x20, NULL);
        break;
    default:
        break;
    }
}

static void check(room *r, const uint8_t *b, size_t n)
{
    fx_peer *p = n && (b[0] & 4) ? r->pub : r->sub;
    if (!n || !(b[0] & 1)) {
        fx_check(p);
        return;
    }
    hx_engine_path from = {.proto = HX_PATH_TCP,
                           .conn = &r->conn,
                           .addr = p->addr,
                           .addrlen = sizeof(struct sockaddr_in)};
    ((struct sockaddr_in *)&from.addr)->sin_port = htons(7000);
    if (b[0] & 2) {
        if (r->conn_open && r->bound)
            hx_engine_core_conn_closed(r->f.core, &r->conn, r->bound, r->f.now);
        r->bound = NULL;
        r->conn_open = false;
        return;
    }
    r->conn_open = true;
    fx_check_from(p, &from, &r->bound);
}

#define HOME_ADDR "127.0.0.8:9000" /* the far home mirrors come from */
#define FAR_ADDR "127.0.0.9:9001"  /* the far worker this room relays to */

static void relay_from(room *r, const char *addr, const uint8_t *pkt, size_t n)
{
    hx_engine_path from = {.proto = HX_PATH_UDP, .addrlen = sizeof(struct sockaddr_in)};
    struct sockaddr_in *a = (struct sockaddr_in *)&from.addr;
    a->sin_family = AF_INET;
    inet_pton(AF_INET, addr[8] == '8' ? "127.0.0.8" : "127.0.0.9", &a->sin_addr);
    a->sin_port = htons(addr[8] == '8' ? 9000 : 9001);
    uint8_t buf[HX_ENGINE_MTU];
    memcpy(buf, pkt, n);
    hx_engine_core_rx(r->f.core, &from, NULL, buf, n, r->f.now);
    fx_pump(&r->f);
}

static void relay(room *r, const uint8_t *b, size_t n)
{
    if (n < 1) return;
    fx *f = &r->f;
    const char *mirror = b[0] & 0x20 ? "TR_far1" : "TR_far0";
    uint8_t buf[HX_RELAY_DESC_MAX + 256];
    hx_sfu_builder m;
    switch (b[0] % 5) {
    case 0:
        hx_sfu_build(&m, buf, sizeof buf, HX_SFU_RELAY_OUT, 0);
        hx_sfu_put_cstr(&m, HX_SFU_T_ROOM, "fuzz");
        hx_sfu_put_cstr(&m, HX_SFU_T_ADDR, n > 1 && b[1] == 0xff ? "[::1]:x" : FAR_ADDR);
        hx_sfu_put_flags(&m, b[0] & 0x10 ? 0 : HX_SFU_F_ON);
        fx_command(f, &m);
        break;
    case 1:
        hx_sfu_build(&m, buf, sizeof buf, HX_SFU_RELAY_IN, 77);
        hx_sfu_put_cstr(&m, HX_SFU_T_ROOM, "fuzz");
        hx_sfu_put_cstr(&m, HX_SFU_T_PARTICIPANT, "p_far");
        hx_sfu_put_cstr(&m, HX_SFU_T_TRACK, mirror);
        hx_sfu_put_str(&m, HX_SFU_T_DESC, (const char *)r->desc, r->desc_len);
        hx_sfu_put_cstr(&m, HX_SFU_T_ADDR, HOME_ADDR);
        fx_command(f, &m);
        if (b[0] & 0x10) fx_track_cmd(f, HX_SFU_SUBSCRIBE, 5, mirror, NULL);
        break;
    case 2:
        hx_sfu_build(&m, buf, sizeof buf, HX_SFU_RELAY_DROP, 77);
        hx_sfu_put_cstr(&m, HX_SFU_T_TRACK, mirror);
        fx_command(f, &m);
        break;
    default: {
        if (n < 3) return;
        const char *id = (b[1] & 3) == 0 ? "TR_far0" : (b[1] & 3) == 1 ? "TR_far1" : r->video;
        long h = hx_relay_frame_head(buf, sizeof buf, (hx_relay_type)(1 + (b[1] >> 2) % 6), id,
                                     strlen(id), b[2]);
        if ((b[1] & 3) == 3) { /* raw: the bytes as they come, first byte a relay's */
            h = 0;
            if (n > 3) buf[h++] = HX_RELAY_BYTE;
        }
        size_t rest = n - 3 < HX_ENGINE_MTU - (size_t)h ? n - 3 : HX_ENGINE_MTU - (size_t)h;
        if (h < 0 || !h) return;
        memcpy(buf + h, b + 3, rest);
        relay_from(r, b[0] % 5 == 3 ? HOME_ADDR : FAR_ADDR, buf, (size_t)h + rest);
        break;
    }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static room *r;
    static hx_sctp_stack *keep; /* usrsctp stays initialised: each core's stack is a reference */
    if (!keep) {
        hx_sctp_stack_config sc = {.crc32c_offload = false};
        if (hx_sctp_stack_create(&sc, &keep) != 0) abort();
    }
    if (!r && !(r = malloc(sizeof *r))) abort();
    memset(r, 0, sizeof *r);
    if (room_open(r) != 0) {
        fprintf(stderr, "fuzz_engine_core: the room did not open: %s\n", r->f.err);
        abort();
    }
    size_t i = 0;
    while (i + 3 <= size) {
        uint8_t op = data[i];
        size_t len = (size_t)data[i + 1] << 8 | data[i + 2];
        i += 3;
        if (len > size - i) len = size - i;
        const uint8_t *b = data + i;
        i += len;
        switch (op % 10) {
        case 0:
            rtp(r, r->pub, b, len);
            break;
        case 1:
            rtcp(r, r->sub, b, len);
            break;
        case 2:
            rtcp(r, r->pub, b, len);
            break;
        case 3:
            raw(r, b, len);
            break;
        case 4:
            fx_advance(&r->f, len >= 2 ? (b[0] << 8 | b[1]) % 40000 : 10);
            break;
        case 5:
            command(r, b, len);
            break;
        case 6:
            check(r, b, len);
            break;
        case 7:
            rtp(r, svc_publisher(r, &r->svc, 3, fx_sdp_vp9_offer(HX_SOURCE_DIR), r->svc_video,
                                 sizeof r->svc_video),
                b, len);
            break;
        case 8:
            rtp_dd(svc_publisher(r, &r->av1, 4, fx_sdp_av1_offer(HX_SOURCE_DIR), r->av1_video,
                                 sizeof r->av1_video),
                   b, len);
            break;
        case 9:
            relay(r, b, len);
            break;
        }
        if (hx_engine_core_check(r->f.core) != 0) {
            fprintf(stderr, "fuzz_engine_core: invariant broken at line %d\n",
                    -hx_engine_core_check(r->f.core));
            abort();
        }
    }
    /* Whatever the sequence did, the core still closes cleanly and frees everything. */
    fx_free(&r->f);
    return 0;
}
