/*
 * A session's node in a cluster (docs/scaling.md, docs/protocol.md §2.9): the signaling side
 * of src/cluster. A join or resume that reaches a node while another live node hosts the room
 * is sent there (`room_elsewhere` with that node's signal URL; a join's ticket is not spent);
 * a room whose lease went to another node is handed over (`disconnect` reason `moved` with a
 * resume hint toward it); and a resume of a participant this node does not hold takes over the
 * participant's record from the store the nodes share (its node died, or handed it over).
 */
#include "signal/session.h"
#include "core/metric_names.h"

#include "cluster/cluster.h"
#include "common/clock.h"
#include "signal/registry.h"

#include <stdlib.h>
#include <string.h>

bool hx_session_redirect(hx_session *s, const char *id, const char *room)
{
    hx_server *srv = s->srv;
    hx_node_view to;
    char url[HX_NODE_URL_MAX + 32];
    if (!srv->cluster || !hx_cluster_elsewhere(srv->cluster, room, &to) ||
        hx_node_signal_url(to.url, s->version, url, sizeof url))
        return false;
    hx_session_send(s, "error", id,
                    json_pack("{s:s, s:s, s:s, s:s, s:b}", "code", "room_elsewhere", "message",
                              "another node hosts this room: connect there", "signal_url", url,
                              "node", to.id, "rejoin", 0));
    hx_metrics_add(&srv->metrics, HX_M_CLUSTER_REDIRECTS_TOTAL, "node", to.id, 1);
    s->state = HX_SESSION_CLOSING;
    s->io->close(s->io_ctx, HX_CLOSE_GOING_AWAY, "room_elsewhere");
    return true;
}

typedef struct moved_ctx {
    const char *room;
    const hx_node_view *to;
} moved_ctx;

static bool in_room(const hx_session *s, const void *arg)
{
    const moved_ctx *m = arg;
    return s->p.room && !strcmp(s->p.room->name, m->room) && s->state != HX_SESSION_CLOSING;
}

/* One session handed over: it leaves this node without leaving the call. Its record stays in
 * the store for the node it goes to (resume_gen 0: never deleted from here). */
static void hand_over(hx_session *s, void *arg)
{
    const moved_ctx *m = arg;
    hx_server *srv = s->srv;
    char url[HX_NODE_URL_MAX + 32], detail[HX_NODE_ID_MAX + 16];
    bool away = s->state == HX_SESSION_AWAY;
    if (!away && !hx_node_signal_url(m->to->url, s->version, url, sizeof url))
        hx_session_send(s, "disconnect", NULL,
                        json_pack("{s:s, s:s, s:b, s:I, s:s, s:s}", "reason", "moved", "message",
                                  "the room moved to another node: resume there", "resume", 1,
                                  "retry_after_ms", (json_int_t)0, "signal_url", url, "node",
                                  m->to->id));
    snprintf(detail, sizeof detail, "{\"to\":\"%s\"}", m->to->id);
    hx_server_audit(srv, "session.moved", m->room, s->p.user, s->p.device,
                    s->p.sid[0] ? s->p.sid : NULL, NULL, detail);
    hx_session_media_close(s);
    hx_session_drop_events(s);
    hx_room_remove(s->p.room, &s->p, hx_now_ms());
    s->resume_gen = 0;
    s->state = HX_SESSION_CLOSING; /* an AWAY one is freed by the next tick */
    s->io->close(s->io_ctx, HX_CLOSE_GOING_AWAY, "moved");
}

void hx_signal_room_moved(void *server, const char *room, const hx_node_view *to)
{
    hx_server *srv = server;
    moved_ctx m = {room, to};
    size_t n = hx_sessions_each(srv, in_room, &m, hand_over, &m);
    char count[16];
    snprintf(count, sizeof count, "%zu", n);
    hx_log(&srv->log, HX_LOG_WARN, "cluster.handed_over", "room", room, "to", to->id, "sessions",
           count, NULL);
}

hx_session *hx_session_take_over(hx_server *srv, const hx_resume_token *t)
{
    if (!srv->cluster || !srv->store->ops->get_state) return NULL;
    /* A token this old belonged to a session that would have rotated it since (resume.rotate_s)
     * had it been alive, or whose node is gone longer than the restart window. */
    int64_t age = hx_now_ms() - t->issued_ms;
    if (age > (int64_t)(srv->cfg.resume_rotate_s + srv->cfg.restart_grace_s) * 1000) return NULL;
    char *value = NULL;
    if (srv->store->ops->get_state(srv->store, "session", t->participant, &value) != HX_STORE_OK)
        return NULL;
    hx_session *s = hx_session_restore_record(srv, t->participant, value, t->room);
    free(value);
    if (s)
        hx_log(&srv->log, HX_LOG_INFO, "cluster.took_over", "room", t->room, "user", t->user, NULL);
    return s;
}
