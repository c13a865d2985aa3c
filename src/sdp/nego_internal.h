/*
 * Pieces shared by the answer builder, the offer builder and answer
 * application: turning a section of the model into the negotiated view,
 * and stamping hearth's transport into a section it writes.
 */
#ifndef HX_SDP_NEGO_INTERNAL_H
#define HX_SDP_NEGO_INTERNAL_H

#include "sdp/negotiate.h"
#include "sdp/sdp_internal.h"

/** HX_SDP_FB_* bits of a codec's rtcp-fb list. */
uint8_t hx__sdp_fb_bits(const hx_sdp_codec *c);
/** The apt of an rtx codec, or -1 when c is not RTX or has none. */
int hx__sdp_apt(const hx_sdp_codec *c);
/** Codecs (RTX folded in) and extmaps of m into nm. */
void hx__sdp_nego_from(hx_sdp_nego_media *nm, const hx_sdp_media *m);
/* Clear a negotiation result's session part and its first n media (n <= HX_SDP_MAX_MEDIA
 * enforced): entries past n_media are not read, and the 64 of them are 1 MB. */
void hx__sdp_nego_clear(hx_sdp_negotiated *nego, unsigned n);
/** The remote side's SSRCs, groups, RIDs and simulcast into nm. */
void hx__sdp_nego_remote(hx_sdp_nego_media *nm, const hx_sdp_media *remote);
/** Check the required local fields; 0 or HX_SDP_E_MISSING / HX_SDP_E_LIMIT. */
int hx__sdp_local_check(const hx_sdp_local *l, const char **what);
/** Port, address, ICE, fingerprint, setup and candidates of hearth into m. */
void hx__sdp_local_transport(hx_sdp_media *m, const hx_sdp_local *l, hx_sdp_setup setup);
/** Whether l->ext_mask allows extension x on an m-line of this kind. */
bool hx__sdp_ext_allowed(const hx_sdp_local *l, hx_sdp_kind kind, int x);
/** Copy a NUL-terminated string into dst[cap]; false if it does not fit. */
bool hx__sdp_strcpy(char *dst, size_t cap, const char *s);

#endif
