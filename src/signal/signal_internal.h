/*
 * What the signaling layer's files share and nothing outside it calls:
 * the raw delivery under hx_session_send and the room-event fan-out
 * (signal/fanout.c), and the fan-out's hooks on the loop.
 */
#ifndef HX_SIGNAL_SIGNAL_INTERNAL_H
#define HX_SIGNAL_SIGNAL_INTERNAL_H

#include "signal/registry.h"

/** Queue one encoded message on s's connection as is (no waiting room events first); a full
 *  queue closes the session (1008). */
void hx__session_deliver(hx_session *s, const char *text, size_t len);
/** Deliver room events at the end of each turn of srv->loop (none: at once). 0 or -1. */
int hx__fanout_start(hx_server *srv);
/** Deliver what waits, stop deferring, close the loop handles (freed in their callbacks). */
void hx__fanout_stop(hx_server *srv);

#endif
