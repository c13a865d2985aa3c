/*
 * A room's moderation policy as JSON (the admin API's body and answer, the
 * store's "policy" state): the fields a request names override a base (the
 * server's policy from the configuration), each checked against the same
 * bounds as the configuration keys.
 */
#include "moderation/moderation.h"

#include <stdio.h>
#include <string.h>

json_t *hx_mod_policy_json(const hx_mod_policy *p)
{
    return json_pack("{s:s, s:s, s:I, s:i, s:i, s:I, s:I}", "timeout_policy", hx_timeout_policy_name(p->timeout),
                     "ratification", p->ratify ? "required" : "none", "vote_window_s",
                     (json_int_t)(p->vote_window_ms / 1000), "quorum_pct", p->quorum_pct, "majority_pct",
                     p->majority_pct, "kick_cooldown_s", (json_int_t)(p->kick_cooldown_ms / 1000), "timeout_s",
                     (json_int_t)(p->timeout_default_ms / 1000));
}

static int take_int(json_t *o, const char *key, int64_t lo, int64_t hi, int64_t *out, char *why, size_t len)
{
    json_t *v = json_object_get(o, key);
    if (!v) return 0;
    if (!json_is_integer(v) || json_integer_value(v) < lo || json_integer_value(v) > hi) {
        snprintf(why, len, "%s must be an integer from %lld to %lld", key, (long long)lo, (long long)hi);
        return -1;
    }
    *out = json_integer_value(v);
    return 0;
}

int hx_mod_policy_from_json(json_t *o, hx_mod_policy *p, char *why, size_t len)
{
    if (!json_is_object(o)) {
        snprintf(why, len, "a policy is an object");
        return -1;
    }
    hx_mod_policy n = *p;
    json_t *tp = json_object_get(o, "timeout_policy"), *ra = json_object_get(o, "ratification");
    if (tp && (!json_is_string(tp) || hx_timeout_policy_parse(json_string_value(tp), &n.timeout))) {
        snprintf(why, len, "timeout_policy must be listen_only or deny_join");
        return -1;
    }
    if (ra && (!json_is_string(ra) || (strcmp(json_string_value(ra), "required") &&
                                       strcmp(json_string_value(ra), "none")))) {
        snprintf(why, len, "ratification must be required or none");
        return -1;
    }
    if (ra) n.ratify = !strcmp(json_string_value(ra), "required");
    int64_t window = n.vote_window_ms / 1000, q = n.quorum_pct, m = n.majority_pct,
            cool = n.kick_cooldown_ms / 1000, to = n.timeout_default_ms / 1000;
    if (take_int(o, "vote_window_s", 10, 86400, &window, why, len) ||
        take_int(o, "quorum_pct", 0, 99, &q, why, len) || take_int(o, "majority_pct", 0, 99, &m, why, len) ||
        take_int(o, "kick_cooldown_s", 0, 30 * 86400, &cool, why, len) ||
        take_int(o, "timeout_s", 1, 30 * 86400, &to, why, len))
        return -1;
    n.vote_window_ms = window * 1000;
    n.quorum_pct = (int)q;
    n.majority_pct = (int)m;
    n.kick_cooldown_ms = cool * 1000;
    n.timeout_default_ms = to * 1000;
    *p = n;
    return 0;
}
