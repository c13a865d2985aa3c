/*
 * A session's own subscription choices, kept so that a resume restores
 * them (docs/protocol.md §2.4): tracks it subscribed to or unsubscribed
 * from by hand, the simulcast layer it asked for and whether it pinned
 * them (track.pin). What the room's
 * default (auto-subscription) gives needs no entry. The list is bounded
 * (HX_MAX_SUB_CHOICES): past it, the oldest choice is forgotten.
 */
#include "signal/session.h"

#include <stdlib.h>
#include <string.h>

static hx_sub_choice *find(hx_session *s, const char *track)
{
    for (size_t i = 0; i < s->n_choices; i++)
        if (!strcmp(s->choices[i].track, track)) return &s->choices[i];
    return NULL;
}

static hx_sub_choice *note(hx_session *s, const char *track)
{
    hx_sub_choice *c = find(s, track);
    if (!c && !s->choices && !(s->choices = calloc(HX_MAX_SUB_CHOICES, sizeof *s->choices)))
        return NULL; /* out of memory: the choice holds now, a resume forgets it */
    if (!c) {
        if (s->n_choices == HX_MAX_SUB_CHOICES) { /* forget the oldest */
            memmove(s->choices, s->choices + 1, (HX_MAX_SUB_CHOICES - 1) * sizeof s->choices[0]);
            s->n_choices--;
        }
        c = &s->choices[s->n_choices++];
        memset(c, 0, sizeof *c);
        snprintf(c->track, sizeof c->track, "%s", track);
        c->subscribed = -1;
    }
    return c;
}

void hx_session_sub_note(hx_session *s, const char *track, int subscribed, const char *layer)
{
    hx_sub_choice *c = note(s, track);
    if (!c) return;
    if (subscribed >= 0) c->subscribed = (int8_t)subscribed;
    if (subscribed == 0) c->pinned = false; /* the engine forgets it with the subscription */
    if (layer) snprintf(c->layer, sizeof c->layer, "%s", layer);
    hx_session_persist(s);
}

void hx_session_pin_note(hx_session *s, const char *track, bool pinned)
{
    hx_sub_choice *c = note(s, track);
    if (!c) return;
    c->pinned = pinned;
    hx_session_persist(s);
}

const hx_sub_choice *hx_session_sub_choice(const hx_session *s, const char *track)
{
    return find((hx_session *)s, track);
}
