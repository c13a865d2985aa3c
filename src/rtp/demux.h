/*
 * First-byte demultiplexing of everything that arrives on a media port
 * (RFC 7983, updating RFC 5764 §5.1.2): STUN, DTLS, TURN ChannelData and
 * RTP/RTCP share one 5-tuple, and the first byte alone tells them apart.
 * RTP and RTCP are then separated by the second byte (RFC 5761 §4).
 */
#ifndef HX_RTP_DEMUX_H
#define HX_RTP_DEMUX_H

#include <stddef.h>
#include <stdint.h>

/** What a datagram on a muxed port is. */
typedef enum {
    HX_PKT_UNKNOWN = 0,
    HX_PKT_STUN,         /**< first byte 0-3 */
    HX_PKT_DTLS,         /**< first byte 20-63 */
    HX_PKT_TURN_CHANNEL, /**< first byte 64-79 */
    HX_PKT_RTP,          /**< first byte 128-191, second byte not 192-223 */
    HX_PKT_RTCP,         /**< first byte 128-191, packet type 192-223 */
} hx_pkt_kind;

/** Classify a datagram; too short for its kind's fixed header is HX_PKT_UNKNOWN. */
hx_pkt_kind hx_pkt_classify(const uint8_t *buf, size_t len);

/** A static name for a kind ("stun", "dtls", ...), for logs and metrics. */
const char *hx_pkt_kind_name(hx_pkt_kind kind);

#endif
