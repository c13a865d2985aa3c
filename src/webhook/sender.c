/*
 * One POST at a time through libcurl's multi socket API, on hearthd's loop:
 * curl says which sockets to watch (socket_cb: a uv_poll each, made on first
 * use and closed on CURL_POLL_REMOVE, before curl closes the socket) and
 * when to call it back (timer_cb: one uv_timer); readiness and the timer both
 * go to curl_multi_socket_action, and a finished transfer is read from
 * curl_multi_info_read. Nothing blocks the loop: name resolution runs in
 * curl's resolver thread, connects and TLS are non-blocking.
 *
 * The multi handle keeps its connections between POSTs (keep-alive). The
 * response body is read and thrown away; no redirect is followed (the body
 * is signed for the URL configured, and a redirect could point anywhere).
 *
 * Ownership: the sender owns the multi handle, the transfer in flight with
 * its headers and body copy, the timer and a poll context per socket, each
 * freed in its close callback; closed() runs once the last has closed.
 */
#include "webhook/webhook_internal.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct sock_ctx {
    uv_poll_t poll;
    curl_socket_t fd;
    hx_wh_sender *s;
    struct sock_ctx *prev, *next; /* the sender's open polls */
} sock_ctx;

static void handle_closed(hx_wh_sender *s)
{
    if (--s->open_handles == 0 && s->closing && s->closed) s->closed(s->arg);
}

static void poll_closed(uv_handle_t *h)
{
    sock_ctx *c = h->data;
    hx_wh_sender *s = c->s;
    free(c);
    handle_closed(s);
}

static void poll_close(sock_ctx *c)
{
    hx_wh_sender *s = c->s;
    if (c->prev)
        c->prev->next = c->next;
    else
        s->socks = c->next;
    if (c->next) c->next->prev = c->prev;
    uv_poll_stop(&c->poll);
    uv_close((uv_handle_t *)&c->poll, poll_closed);
}

static void end_transfer(hx_wh_sender *s)
{
    if (s->easy) {
        curl_multi_remove_handle(s->multi, s->easy);
        curl_easy_cleanup(s->easy);
    }
    curl_slist_free_all(s->hdrs);
    free(s->body);
    s->easy = s->hdrs = NULL;
    s->body = NULL;
}

/* A finished transfer: its status, then the callback (which may post the next one). */
static void check_done(hx_wh_sender *s)
{
    CURLMsg *m;
    int left;
    while ((m = curl_multi_info_read(s->multi, &left))) {
        if (m->msg != CURLMSG_DONE || m->easy_handle != s->easy) continue;
        long status = 0;
        CURLcode res = m->data.result;
        curl_easy_getinfo(s->easy, CURLINFO_RESPONSE_CODE, &status);
        char error[sizeof s->error + 128];
        if (res != CURLE_OK)
            snprintf(error, sizeof error, "%.100s%s%s", curl_easy_strerror(res),
                     s->error[0] ? ": " : "", s->error);
        else
            snprintf(error, sizeof error, "HTTP %ld", status);
        end_transfer(s);
        s->cb(s->arg, res == CURLE_OK ? status : 0, error);
        return; /* one transfer at a time: the next one was posted anew, if any */
    }
}

static void on_poll(uv_poll_t *h, int status, int events)
{
    sock_ctx *c = h->data;
    hx_wh_sender *s = c->s;
    int flags = status < 0 ? CURL_CSELECT_ERR : 0, running;
    if (events & UV_READABLE) flags |= CURL_CSELECT_IN;
    if (events & UV_WRITABLE) flags |= CURL_CSELECT_OUT;
    curl_multi_socket_action(s->multi, c->fd, flags, &running);
    check_done(s);
}

static void on_timer(uv_timer_t *t)
{
    hx_wh_sender *s = t->data;
    int running;
    curl_multi_socket_action(s->multi, CURL_SOCKET_TIMEOUT, 0, &running);
    check_done(s);
}

static int socket_cb(CURL *easy, curl_socket_t fd, int what, void *arg, void *sockp)
{
    (void)easy;
    hx_wh_sender *s = arg;
    sock_ctx *c = sockp;
    if (what == CURL_POLL_REMOVE) {
        if (c) {
            curl_multi_assign(s->multi, fd, NULL);
            poll_close(c);
        }
        return 0;
    }
    if (!c) {
        if (!(c = calloc(1, sizeof *c))) return -1;
        c->fd = fd;
        c->s = s;
        c->poll.data = c;
        if (uv_poll_init_socket(s->loop, &c->poll, fd)) {
            free(c);
            return -1;
        }
        s->open_handles++;
        c->next = s->socks;
        if (c->next) c->next->prev = c;
        s->socks = c;
        curl_multi_assign(s->multi, fd, c);
    }
    int ev = (what & CURL_POLL_IN ? UV_READABLE : 0) | (what & CURL_POLL_OUT ? UV_WRITABLE : 0);
    uv_poll_start(&c->poll, ev, on_poll);
    return 0;
}

static int timer_cb(CURLM *multi, long timeout_ms, void *arg)
{
    (void)multi;
    hx_wh_sender *s = arg;
    if (timeout_ms < 0)
        uv_timer_stop(&s->timer);
    else
        uv_timer_start(&s->timer, on_timer, (uint64_t)timeout_ms, 0);
    return 0;
}

static size_t discard(char *p, size_t size, size_t n, void *arg)
{
    (void)p;
    (void)arg;
    return size * n;
}

int hx__wh_sender_init(hx_wh_sender *s, uv_loop_t *loop, hx_wh_sent_cb cb, void *arg)
{
    memset(s, 0, sizeof *s);
    s->loop = loop;
    s->cb = cb;
    s->arg = arg;
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) return -1; /* counted by curl */
    if (!(s->multi = curl_multi_init()) || uv_timer_init(loop, &s->timer)) {
        if (s->multi) curl_multi_cleanup(s->multi);
        s->multi = NULL;
        curl_global_cleanup();
        return -1;
    }
    s->timer.data = s;
    s->open_handles = 1;
    curl_multi_setopt(s->multi, CURLMOPT_SOCKETFUNCTION, socket_cb);
    curl_multi_setopt(s->multi, CURLMOPT_SOCKETDATA, s);
    curl_multi_setopt(s->multi, CURLMOPT_TIMERFUNCTION, timer_cb);
    curl_multi_setopt(s->multi, CURLMOPT_TIMERDATA, s);
    curl_multi_setopt(s->multi, CURLMOPT_MAX_HOST_CONNECTIONS, 1L);
    return 0;
}

bool hx__wh_sender_busy(const hx_wh_sender *s)
{
    return s->easy != NULL;
}

int hx__wh_sender_post(hx_wh_sender *s, const char *url, const char *const *headers,
                       const char *body, size_t len, int64_t timeout_ms)
{
    if (s->easy || s->closing || !s->multi) return -1;
    CURL *e = curl_easy_init();
    if (!e || !(s->body = malloc(len ? len : 1))) goto fail;
    memcpy(s->body, body, len);
    for (const char *const *h = headers; *h; h++) {
        struct curl_slist *n = curl_slist_append(s->hdrs, *h);
        if (!n) goto fail;
        s->hdrs = n;
    }
    s->error[0] = '\0';
    curl_easy_setopt(e, CURLOPT_URL, url);
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_POST, 1L);
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, s->body);
    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, s->hdrs);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)timeout_ms);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, discard);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, s->error);
    if (curl_multi_add_handle(s->multi, e) != CURLM_OK) goto fail;
    s->easy = e;
    return 0;
fail:
    if (e) curl_easy_cleanup(e);
    curl_slist_free_all(s->hdrs);
    free(s->body);
    s->hdrs = NULL;
    s->body = NULL;
    return -1;
}

static void timer_closed(uv_handle_t *h)
{
    handle_closed(h->data);
}

void hx__wh_sender_close(hx_wh_sender *s, void (*closed)(void *arg))
{
    if (s->closing) return;
    s->closing = true;
    s->closed = closed;
    end_transfer(s); /* its sockets come back through socket_cb as CURL_POLL_REMOVE */
    if (s->multi) {
        curl_multi_cleanup(s->multi);
        curl_global_cleanup();
    }
    s->multi = NULL;
    while (s->socks) /* any curl did not remove */
        poll_close(s->socks);
    if (s->open_handles) {
        uv_timer_stop(&s->timer);
        uv_close((uv_handle_t *)&s->timer, timer_closed);
    } else if (closed) {
        closed(s->arg);
    }
}
