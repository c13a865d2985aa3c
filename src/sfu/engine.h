/*
 * The media engine: the process side of the sfu.h boundary. It runs on its
 * own thread with its own libuv loop (a media worker), owns one UDP socket
 * for every transport it serves (ICE-lite demux by ufrag, then by remote
 * address), and takes commands and gives events only as sfu.h byte
 * messages through two bounded pipes. Nothing in here touches the control
 * plane's memory, so moving the worker into its own process later changes
 * only the carrier.
 *
 * Ownership: hx_engine_start allocates everything; hx_engine_stop stops the
 * thread (closing every transport) and frees it.
 */
#ifndef HX_SFU_ENGINE_H
#define HX_SFU_ENGINE_H

#include "sfu/sfu.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "adapt/bwe.h"
#include "adapt/speaker.h"

#define HX_ENGINE_MAX_ANNOUNCE 8

typedef struct hx_engine_config {
    char host[64];     /* UDP bind address (numeric) */
    int port;          /* UDP port; 0: the kernel picks */
    int tcp_port;      /* passive ICE-TCP port; 0: the kernel picks, -1: off */
    size_t n_announce; /* addresses put in candidates */
    char announce[HX_ENGINE_MAX_ANNOUNCE]
                 [64]; /* none: the bound address, or every interface's for 0.0.0.0 / :: */
    size_t max_transports;
    uint32_t remb_bps;            /* bitrate cap told to publishers (REMB) */
    double data_rate, data_burst; /* data channel messages per second per participant */
    size_t data_max_message;      /* bytes */
    bool retransmit_original;     /* NACKed packets resent in their own stream, not as RTX */
    double max_packet_rate;       /* inbound datagrams per second per transport (burst: 1 s) */
    int64_t offer_timeout_ms;     /* an unanswered subscriber offer has failed after this */
    int64_t connect_timeout_ms;   /* ICE + DTLS must be up this long after the transport opened */
    unsigned mlines_before_recycle; /* subscriber m-lines before removed ones are reused */
    hx_bwe_config bwe;              /* subscribers' downlink estimates (adapt/bwe.h) */
    hx_speaker_config speaker;      /* rooms' active speakers (adapt/speaker.h) */
    bool adaptive; /* the estimates cap layers and probe (downlink.c); hearthd's media.adaptive,
                    * on by default there (the engine's own default is off: its tests set it) */
} hx_engine_config;

typedef struct hx_engine hx_engine;

/** Defaults for everything (loopback, ephemeral port). */
void hx_engine_config_default(hx_engine_config *cfg);

/**
 * Start a worker thread. Events are delivered on `events_loop` (the
 * control plane's) to deliver(ctx, msg, len). 0 and *out, or -1 with err.
 */
int hx_engine_start(const hx_engine_config *cfg, uv_loop_t *events_loop, hx_sfu_deliver_fn deliver,
                    void *ctx, hx_engine **out, char *err, size_t errlen);
/** Post a command (any thread). 0, or -1 when the command queue is full. */
int hx_engine_post(void *engine, const uint8_t *msg, size_t len);
/** The UDP port media arrives on. */
int hx_engine_port(const hx_engine *e);
/** The passive ICE-TCP port, -1 when off. */
int hx_engine_tcp_port(const hx_engine *e);
/**
 * Stop: every transport is closed, the thread joined. Events still queued
 * are dropped; the events pipe handle closes on events_loop (run it once
 * more to finish).
 */
void hx_engine_stop(hx_engine *e);

#endif
