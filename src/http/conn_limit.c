/*
 * Open HTTP/WebSocket connections per client address (http.max_conns_per_addr).
 *
 * A connection is counted from accept to the destruction of its wsi, under
 * one address at a time. At accept that is the socket peer, and a peer over
 * the limit is closed there: nothing has been asked, so nothing can be
 * answered. A trusted proxy's connections are not counted at accept (one
 * proxy carries many clients); once a request head names the client
 * (client_addr.c) the connection is counted under that address, and a
 * client over the limit is answered 429 too_many_connections. A kept-alive
 * proxy connection moves to each request's client in turn.
 *
 * Two maps: address -> count (the count is the value pointer itself, so an
 * address costs one entry and no allocation; zero removes it), and wsi ->
 * the address it is counted under (key "%p", a malloc'd copy of the
 * address), so a close uncounts exactly what was counted, whatever lws
 * did to the connection's user data on the way (an upgrade, say).
 */
#include "http/http_internal.h"
#include "core/metric_names.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

static void wsi_key(struct lws *wsi, char key[32])
{
    snprintf(key, 32, "%p", (void *)wsi);
}

static size_t count_of(hx_http *h, const char *addr)
{
    return (size_t)(uintptr_t)hx_strmap_get(&h->per_addr, addr);
}

static void set_count(hx_http *h, const char *addr, size_t n)
{
    if (n == 0)
        hx_strmap_del(&h->per_addr, addr);
    else if (hx_strmap_put(&h->per_addr, addr, (void *)(uintptr_t)n, NULL))
        hx_log(&h->srv->log, HX_LOG_ERROR, "http.conn_limit", "reason", "out of memory", NULL);
}

void hx__http_refused(hx_http *h, const char *reason)
{
    hx_metrics_add(&h->srv->metrics, HX_M_HTTP_REFUSED_TOTAL,
                   "reason", reason, 1);
}

void hx__conn_limit_init(hx_http *h)
{
    hx_strmap_init(&h->per_addr);
    hx_strmap_init(&h->by_wsi);
}

static int free_value(void *arg, const char *key, void *value)
{
    free(value);
    return 1;
}

void hx__conn_limit_free(hx_http *h)
{
    hx_strmap_foreach(&h->by_wsi, free_value, NULL);
    hx_strmap_free(&h->by_wsi);
    hx_strmap_free(&h->per_addr);
}

/* The socket peer of fd as canonical text; false when it is no IP address. */
static bool fd_peer(int fd, char *out, size_t outlen, hx_ipaddr *a)
{
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    if (getpeername(fd, (struct sockaddr *)&ss, &sl)) return false;
    memset(a, 0, sizeof *a);
    if (ss.ss_family == AF_INET) {
        a->family = 4;
        memcpy(a->b, &((struct sockaddr_in *)&ss)->sin_addr, 4);
    } else if (ss.ss_family == AF_INET6) {
        char text[HX_ADDR_STRLEN];
        a->family = 6;
        memcpy(a->b, &((struct sockaddr_in6 *)&ss)->sin6_addr, 16);
        hx_ip_format(a, text, sizeof text); /* through text: a mapped address becomes IPv4 */
        if (hx_ip_parse(text, strlen(text), a)) return false;
    } else {
        return false;
    }
    hx_ip_format(a, out, outlen);
    return true;
}

int hx__conn_limit_accept(hx_http *h, int fd)
{
    char addr[HX_ADDR_STRLEN];
    hx_ipaddr a;
    if (!fd_peer(fd, addr, sizeof addr, &a) || hx_cidrs_contain(h->trusted, h->n_trusted, &a))
        return 0;
    if (count_of(h, addr) < (size_t)h->srv->cfg.max_conns_per_addr) return 0;
    hx__http_refused(h, "too_many_connections");
    return -1;
}

/* Count wsi under addr (uncounting where it was). */
static void move(hx_http *h, struct lws *wsi, const char *addr)
{
    char key[32];
    wsi_key(wsi, key);
    char *was = hx_strmap_get(&h->by_wsi, key);
    if (was && !strcmp(was, addr)) return;
    char *copy = strdup(addr);
    if (!copy) return;
    if (hx_strmap_put(&h->by_wsi, key, copy, NULL)) {
        free(copy);
        return;
    }
    if (was) {
        set_count(h, was, count_of(h, was) - 1);
        free(was);
    }
    set_count(h, addr, count_of(h, addr) + 1);
}

void hx__conn_limit_open(hx_http *h, struct lws *wsi)
{
    char addr[HX_ADDR_STRLEN];
    hx_ipaddr a;
    int fd = (int)lws_get_socket_fd(wsi);
    if (fd < 0 || !fd_peer(fd, addr, sizeof addr, &a) ||
        hx_cidrs_contain(h->trusted, h->n_trusted, &a))
        return;
    move(h, wsi, addr);
}

int hx__conn_limit_claim(hx_http *h, struct lws *wsi, const char *addr)
{
    move(h, wsi, addr);
    if (count_of(h, addr) <= (size_t)h->srv->cfg.max_conns_per_addr) return 0;
    hx__http_refused(h, "too_many_connections");
    return -1;
}

void hx__conn_limit_close(hx_http *h, struct lws *wsi)
{
    char key[32];
    wsi_key(wsi, key);
    char *was = hx_strmap_del(&h->by_wsi, key);
    if (!was) return;
    set_count(h, was, count_of(h, was) - 1);
    free(was);
}

size_t hx__conn_limit_total(const hx_http *h)
{
    return h->by_wsi.count;
}
