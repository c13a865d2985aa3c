/*
 * Actions: their names, reading one from a request, writing one for events
 * and the audit trail, and the room policy's defaults.
 */
#include "moderation/moderation.h"

#include <openssl/rand.h>
#include <stdio.h>
#include <string.h>

static const char *const kind_names[] = {
    [HX_MOD_MUTE] = "mute",   [HX_MOD_UNMUTE] = "unmute", [HX_MOD_TIMEOUT] = "timeout",
    [HX_MOD_UNTIMEOUT] = "untimeout", [HX_MOD_KICK] = "kick", [HX_MOD_BAN] = "ban",
    [HX_MOD_UNBAN] = "unban",
};

const char *hx_mod_kind_name(hx_mod_kind k)
{
    return k >= 1 && k <= HX_MOD_KIND_MAX ? kind_names[k] : "unknown";
}

hx_mod_kind hx_mod_kind_parse(const char *name)
{
    for (int k = 1; name && k <= HX_MOD_KIND_MAX; k++)
        if (!strcmp(name, kind_names[k])) return (hx_mod_kind)k;
    return 0;
}

void hx_mod_new_id(char id[HX_MOD_ID_LEN])
{
    uint8_t r[8] = {0};
    if (RAND_bytes(r, sizeof r) != 1) { /* never fails on Linux; an id still must be unique-ish */
        for (size_t i = 0; i < sizeof r; i++) r[i] = (uint8_t)(rand() >> 3);
    }
    snprintf(id, HX_MOD_ID_LEN, "m_%02x%02x%02x%02x%02x%02x%02x%02x", r[0], r[1], r[2], r[3], r[4], r[5], r[6],
             r[7]);
}

void hx_mod_policy_default(hx_mod_policy *p)
{
    *p = (hx_mod_policy){
        .timeout = HX_TIMEOUT_LISTEN_ONLY,
        .ratify = true,
        .vote_window_ms = 10 * 60 * 1000,
        .quorum_pct = 50,
        .majority_pct = 50,
        .kick_cooldown_ms = 10 * 60 * 1000,
        .timeout_default_ms = 10 * 60 * 1000,
        .max_duration_ms = 30LL * 86400 * 1000,
    };
}

const char *hx_timeout_policy_name(hx_timeout_policy p)
{
    return p == HX_TIMEOUT_DENY_JOIN ? "deny_join" : "listen_only";
}

int hx_timeout_policy_parse(const char *s, hx_timeout_policy *out)
{
    if (!strcmp(s, "listen_only")) *out = HX_TIMEOUT_LISTEN_ONLY;
    else if (!strcmp(s, "deny_join")) *out = HX_TIMEOUT_DENY_JOIN;
    else return -1;
    return 0;
}

/* An optional string member that must fit `cap` (NUL included) and be an identifier if `ident`. */
static int take_str(json_t *data, const char *key, char *out, size_t cap, bool ident, char *why, size_t whylen)
{
    json_t *v = json_object_get(data, key);
    out[0] = '\0';
    if (!v || json_is_null(v)) return 0;
    size_t len = json_string_length(v);
    const char *s = json_string_value(v);
    if (!json_is_string(v) || len >= cap || memchr(s, 0, len) || (ident && !hx_id_valid(s))) {
        snprintf(why, whylen, "data.%s must be %s of at most %zu bytes", key, ident ? "an identifier" : "a string",
                 cap - 1);
        return -1;
    }
    memcpy(out, s, len + 1);
    return 0;
}

int hx_mod_action_parse(json_t *data, hx_mod_action *a, const char **code, char *why, size_t whylen)
{
    memset(a, 0, sizeof *a);
    *code = "bad_request";
    if (!json_is_object(data)) {
        snprintf(why, whylen, "data must be an object");
        return -1;
    }
    json_t *act = json_object_get(data, "action");
    if (!json_is_string(act)) {
        snprintf(why, whylen, "data.action must name the action (mute, unmute, timeout, untimeout, kick, ban, unban)");
        return -1;
    }
    if (!(a->kind = hx_mod_kind_parse(json_string_value(act)))) {
        *code = "unknown_action";
        snprintf(why, whylen, "no action '%.32s' (mute, unmute, timeout, untimeout, kick, ban, unban)",
                 json_string_value(act));
        return -1;
    }
    if (take_str(data, "participant", a->participant, sizeof a->participant, false, why, whylen) ||
        take_str(data, "user", a->user, sizeof a->user, true, why, whylen) ||
        take_str(data, "device", a->device, sizeof a->device, true, why, whylen) ||
        take_str(data, "track", a->track, sizeof a->track, false, why, whylen) ||
        take_str(data, "room", a->room, sizeof a->room, true, why, whylen) ||
        take_str(data, "reason", a->reason, sizeof a->reason, false, why, whylen))
        return -1;
    json_t *d = json_object_get(data, "duration_s"), *prop = json_object_get(data, "propose");
    if (d && !json_is_null(d)) {
        if (!json_is_integer(d) || json_integer_value(d) < 0 || json_integer_value(d) > 365LL * 86400) {
            snprintf(why, whylen, "data.duration_s must be an integer from 0 to 31536000");
            return -1;
        }
        a->duration_ms = json_integer_value(d) * 1000;
    }
    if (prop && !json_is_boolean(prop)) {
        snprintf(why, whylen, "data.propose must be a boolean");
        return -1;
    }
    a->propose = json_is_true(prop);
    bool needs_track = a->kind == HX_MOD_MUTE || a->kind == HX_MOD_UNMUTE;
    if (needs_track && !a->track[0]) {
        snprintf(why, whylen, "%s needs data.track", hx_mod_kind_name(a->kind));
        return -1;
    }
    if (!a->participant[0] && !a->user[0] && !(a->device[0] && (a->kind == HX_MOD_BAN || a->kind == HX_MOD_UNBAN)) &&
        !needs_track) {
        snprintf(why, whylen, "%s needs a target: data.participant or data.user%s", hx_mod_kind_name(a->kind),
                 a->kind == HX_MOD_BAN || a->kind == HX_MOD_UNBAN ? " and/or data.device" : "");
        return -1;
    }
    return 0;
}

json_t *hx_mod_action_json(const hx_mod_action *a)
{
    json_t *o = json_pack("{s:s, s:s, s:s}", "id", a->id, "action", hx_mod_kind_name(a->kind), "actor", a->actor);
    if (!o) return NULL;
    json_t *target = json_object();
    if (a->participant[0]) json_object_set_new(target, "participant", json_string(a->participant));
    if (a->user[0]) json_object_set_new(target, "user", json_string(a->user));
    if (a->device[0]) json_object_set_new(target, "device", json_string(a->device));
    if (a->track[0]) json_object_set_new(target, "track", json_string(a->track));
    json_object_set_new(o, "target", target);
    if (a->room[0]) json_object_set_new(o, "room", json_string(a->room));
    json_object_set_new(o, "reason", json_string(a->reason));
    if (a->duration_ms) json_object_set_new(o, "duration_s", json_integer(a->duration_ms / 1000));
    return o;
}
