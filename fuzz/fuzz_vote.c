/*
 * libFuzzer target for a stored vote (moderation/vote_codec.c): hearthd
 * reads open votes back from the store at start, and a store is input like
 * any other (a database edited by hand, a node of another version). What
 * parses must write back and parse to the same vote, field for field.
 */
#include "moderation/moderation.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_t *o = json_loadb((const char *)data, size, 0, NULL);
    static hx_vote v, again;
    int rc = hx_vote_from_json(o, &v);
    json_decref(o);
    if (rc) return 0;
    json_t *w = hx_vote_state_json(&v);
    if (!w) abort();
    if (hx_vote_from_json(w, &again)) abort();
    json_decref(w);
    if (memcmp(&v, &again, sizeof v)) abort();
    return 0;
}
