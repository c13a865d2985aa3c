/*
 * Minting join tickets (auth/ticket.h): the API's /v1/tickets and, later,
 * resume share it. The caller has authenticated and authorized the request.
 */
#include "core/server.h"

#include "common/clock.h"
#include "core/slo.h"

#include <string.h>

int hx_server_mint_ticket(hx_server *s, const hx_ticket_req *req, hx_ticket *t, char *text, size_t textlen)
{
    memset(t, 0, sizeof *t);
    if (hx_ticket_new_id(t)) return -1;
    t->expires_ms = hx_now_ms() + s->cfg.ticket_ttl_s * 1000;
    t->token_iat = req->token_iat;
    t->protocol_version = (uint8_t)req->protocol_version;
    t->grants = req->grants;
    snprintf(t->user, sizeof t->user, "%s", req->user);
    snprintf(t->device, sizeof t->device, "%s", req->device);
    snprintf(t->sid, sizeof t->sid, "%s", req->sid ? req->sid : "");
    snprintf(t->room, sizeof t->room, "%s", req->room);
    snprintf(t->jti, sizeof t->jti, "%s", req->jti ? req->jti : "");
    if (hx_ticket_seal(s->ticket_key, t, text, textlen) < 0) return -1;
    hx_slo_stage(s, "ticket_minted");
    return 0;
}
