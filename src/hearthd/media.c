/*
 * Starting and stopping the media engine (sfu/engine.h) for the daemon:
 * the media.* configuration becomes an hx_engine_config, the engine's
 * events are delivered on the main loop to hx_signal_engine_event, and
 * commands go out through srv->sfu_post. Stopped when the server's stop
 * sequence closes its handles, after the sessions are gone.
 */
#include "hearthd/daemon.h"

#include "sfu/engine.h"
#include "signal/session.h"

#include <stdio.h>
#include <string.h>

int hx_server_media_start(hx_server *s, char *err, size_t errlen)
{
    if (!s->cfg.media) return 0;
    hx_engine_config ec;
    hx_engine_config_default(&ec);
    snprintf(ec.host, sizeof ec.host, "%s", s->cfg.media_host);
    ec.port = s->cfg.media_port;
    ec.tcp_port = s->cfg.media_tcp_port;
    for (size_t i = 0; i < s->cfg.n_announce && i < HX_ENGINE_MAX_ANNOUNCE; i++)
        snprintf(ec.announce[ec.n_announce++], sizeof ec.announce[0], "%s", s->cfg.announce[i]);
    ec.remb_bps = (uint32_t)s->cfg.remb_bps;
    ec.adaptive = s->cfg.adaptive;
    ec.retransmit_original = !strcmp(s->cfg.retransmit, "original");
    ec.max_packet_rate = (double)s->cfg.max_packet_rate;
    ec.offer_timeout_ms = s->cfg.offer_timeout_ms;
    ec.connect_timeout_ms = s->cfg.connect_timeout_ms;
    ec.mlines_before_recycle = (unsigned)s->cfg.mlines_before_recycle;
    hx_config_speaker(&s->cfg, &ec.speaker); /* checked by hx_config_validate */
    if (hx_engine_start(&ec, s->loop, hx_signal_engine_event, s, &s->engine, err, errlen) != 0)
        return -1;
    s->sfu_post = hx_engine_post;
    s->sfu_ctx = s->engine;
    char port[16], tcp[16];
    snprintf(port, sizeof port, "%d", hx_engine_port(s->engine));
    snprintf(tcp, sizeof tcp, "%d", hx_engine_tcp_port(s->engine));
    hx_log(&s->log, HX_LOG_INFO, "media.ready", "host", s->cfg.media_host, "udp_port", port,
           "tcp_port", tcp, NULL);
    return 0;
}

void hx_server_media_stop(hx_server *s)
{
    if (!s->engine) return;
    s->sfu_post = NULL;
    s->sfu_ctx = NULL;
    hx_engine_stop(s->engine);
    s->engine = NULL;
}
