/*
 * Relays between media workers (docs/scaling.md, "a room over several workers"): the two
 * pure codecs a relay uses, fuzzed by fuzz/fuzz_relay.c.
 *
 * A room whose subscribers outgrow one worker spreads: its publishers stay on the worker
 * where the room began (its home), and every other worker that hosts some of its subscribers
 * gets one copy of each published stream from the home, not one per subscriber. There each
 * track has a mirror (a track whose publisher is a stand-in with the publisher's transport
 * id), which the worker's subscribers consume like any track: layers, keyframes, NACKs from
 * its cache, the downlink allocator, all as on the home.
 *
 * Frames travel between the workers' own media sockets, on loopback or the address the
 * workers bind, as UDP datagrams whose first byte (8) no WebRTC protocol uses (RFC 7983
 * reserves 0-3 for STUN, 16-19 ZRTP, 20-63 DTLS, 64-79 TURN channels, 128-191 RTP/RTCP). A
 * worker takes a frame only from an address the control plane named for that room, and only
 * in the direction it was named: media, sender reports and data from the home; keyframe
 * requests and the layers wanted from a worker the home relays to.
 *
 *   u8 8 | u8 type | u8 id length n (1..255) | u8 arg | id[n] | payload
 *
 *   MEDIA     id: track, arg: layer, payload: the RTP packet as the publisher sent it
 *             (SRTP removed, RTX unwrapped)
 *   KEYFRAME  id: track, arg: layer (255: every layer)        (a mirror's worker to the home)
 *   LAYERS    id: track, arg: the layers wanted, bit per layer (a mirror's worker to the home)
 *   SR        id: track, arg: layer, payload: u64 NTP time, u32 RTP time: the publisher's
 *             last sender report, for the subscribers' own (lip sync)
 *   NACK      id: track, arg: layer, payload: u16 sequence numbers (1..64) a mirror's worker
 *             lost on the way; the home resends them from its cache as MEDIA frames
 *   DATA      id: room, arg: bit 0 binary (else text), bit 1 more fragments follow; payload:
 *             u32 message number, u16 fragment number, then that fragment of
 *             "participant\n" + the message (a message longer than a datagram goes in several)
 *
 * A track's description (RELAY_IN's desc field, sfu.h) is what a mirror needs to be offered
 * to subscribers and to forward: kind, mid, the forwarded codec (and the Opus inside RED),
 * the header extension ids, and each layer's rid and SSRCs.
 */
#ifndef HX_SFU_RELAY_H
#define HX_SFU_RELAY_H

#include "sdp/negotiate.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HX_RELAY_BYTE 8
#define HX_RELAY_HEAD 4
#define HX_RELAY_MAX_LAYERS 3
#define HX_RELAY_DESC_MAX 1024

typedef enum hx_relay_type {
    HX_RELAY_MEDIA = 1,
    HX_RELAY_KEYFRAME,
    HX_RELAY_LAYERS,
    HX_RELAY_SR,
    HX_RELAY_DATA,
    HX_RELAY_NACK,
} hx_relay_type;

#define HX_RELAY_MAX_NACKS 64

typedef struct hx_relay_frame {
    uint8_t type, arg;
    const char *id; /* not NUL-terminated */
    size_t id_len;
    const uint8_t *payload;
    size_t payload_len;
    uint64_t ntp;      /* SR */
    uint32_t rtp;      /* SR */
    uint32_t data_seq; /* DATA: the message's number, */
    uint16_t frag;     /* the fragment's (payload: the fragment alone) */
} hx_relay_frame;

#define HX_RELAY_DATA_BINARY 1
#define HX_RELAY_DATA_MORE 2
#define HX_RELAY_DATA_HEAD 6 /* u32 message number, u16 fragment number */

/** Write a frame's head (and an SR's payload) into buf[cap]: its length, or -1 when the id is
 *  empty, too long, or it does not fit. The caller appends MEDIA and DATA payloads. */
long hx_relay_frame_head(uint8_t *buf, size_t cap, hx_relay_type type, const char *id,
                         size_t id_len, uint8_t arg);
/** An SR frame, whole. Its length, or -1. */
long hx_relay_frame_sr(uint8_t *buf, size_t cap, const char *track, uint8_t layer, uint64_t ntp,
                       uint32_t rtp);
/** Parse a frame. 0, or -1 for anything malformed (wrong first byte, unknown type, id past
 *  the end, an SR of the wrong size, a MEDIA frame without a packet). */
int hx_relay_frame_parse(const uint8_t *buf, size_t len, hx_relay_frame *f);

/** A published track as a mirror needs it. */
typedef struct hx_relay_desc {
    hx_sdp_kind kind; /* audio or video */
    char mid[HX_SDP_TOKEN_LEN];
    hx_sdp_nego_codec codec;
    bool has_alt;
    hx_sdp_nego_codec alt;
    uint8_t ext_id[HX_SDP_EXT_COUNT];
    uint8_t n_layers; /* 1..HX_RELAY_MAX_LAYERS */
    struct {
        char rid[HX_SDP_TOKEN_LEN];
        uint32_t ssrc, rtx_ssrc;
    } layers[HX_RELAY_MAX_LAYERS];
} hx_relay_desc;

/** Encode d into buf[cap]: the length, or -1 when it does not fit. */
long hx_relay_desc_encode(const hx_relay_desc *d, uint8_t *buf, size_t cap);
/** Decode; 0, or -1 for anything malformed (another version, a string too long for its field
 *  or with a NUL in it, a kind that is neither audio nor video, no layer or too many, bytes
 *  left over). */
int hx_relay_desc_decode(const uint8_t *buf, size_t len, hx_relay_desc *d);

#endif
