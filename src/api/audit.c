/*
 * The audit trail over the admin API (docs/admin-api.md): events as JSON
 * objects (GET /v1/admin/events builds its list with hx_api_event_json),
 * the same objects as JSON lines for export (format=jsonl), the time
 * window (since, until), and GET /v1/admin/audit/verify.
 *
 * An exported line carries everything the store holds for the record,
 * chain fields included (seq, redacted, the three hashes in hex). Pages
 * are the events endpoint's (after, limit); a JSON lines page also stops
 * at MAX_JSONL_BYTES and the client pages on from its last id.
 */
#include "api/api.h"

#include "store/chain.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_JSONL_BYTES (16u << 20)
#define MAX_LISTED_PROBLEMS 100

static json_t *hex_or_null(const uint8_t *h)
{
    char text[2 * HX_CHAIN_HASH_LEN + 1];
    if (!h) return NULL;
    for (size_t i = 0; i < HX_CHAIN_HASH_LEN; i++)
        snprintf(text + 2 * i, 3, "%02x", h[i]);
    return json_string(text);
}

json_t *hx_api_event_json(const hx_event *ev)
{
    json_t *detail = NULL;
    if (ev->detail && !(detail = json_loads(ev->detail, 0, NULL)))
        detail = json_string(ev->detail); /* not JSON (edited?): kept as it is */
    json_t *o = json_pack("{s:I, s:I, s:s, s:s?, s:s?, s:s?, s:s?, s:s?, s:o?}", "id",
                          (json_int_t)ev->id, "ts_ms", (json_int_t)ev->ts_ms, "kind", ev->kind,
                          "room", ev->room, "user", ev->user, "device", ev->device, "sid", ev->sid,
                          "code", ev->code, "detail", detail);
    if (!o) return NULL;
    if (ev->seq) json_object_set_new(o, "seq", json_integer(ev->seq));
    if (ev->redacted) json_object_set_new(o, "redacted", json_true());
    json_t *prev = hex_or_null(ev->prev_hash), *content = hex_or_null(ev->content_hash),
           *hash = hex_or_null(ev->hash);
    if (prev) json_object_set_new(o, "prev_hash", prev);
    if (content) json_object_set_new(o, "content_hash", content);
    if (hash) json_object_set_new(o, "hash", hash);
    return o;
}

/* A unix-ms query parameter: absent leaves *out; 0 bad, 1 ok. */
static int query_ms(const hx_http_req *req, const char *name, int64_t *out)
{
    char num[24], *end;
    if (!hx_api_query(req, name, num, sizeof num)) return 1;
    errno = 0;
    long long v = strtoll(num, &end, 10);
    if (errno || end == num || *end) return 0;
    *out = v;
    return 1;
}

bool hx_api_event_window(const hx_http_req *req, hx_http_resp *resp, hx_event_filter *f)
{
    if (query_ms(req, "since", &f->since_ms) && query_ms(req, "until", &f->until_ms)) return true;
    hx_api_error(resp, 400, "bad_request", "since and until are unix milliseconds");
    return false;
}

typedef struct lines {
    FILE *out;
} lines;

static int add_line(void *arg, const hx_event *ev)
{
    lines *l = arg;
    json_t *o = hx_api_event_json(ev);
    int rc = o ? json_dumpf(o, l->out, JSON_COMPACT | JSON_PRESERVE_ORDER) : -1;
    json_decref(o);
    if (rc || fputc('\n', l->out) == EOF) return -1;
    return ftell(l->out) >= (long)MAX_JSONL_BYTES ? 1 : 0; /* full: the client pages on */
}

bool hx_api_events_jsonl(hx_server *s, const hx_http_req *req, hx_http_resp *resp,
                         const hx_event_filter *f)
{
    char format[16];
    char *body = NULL;
    size_t len = 0;
    lines l = {0};

    if (!hx_api_query(req, "format", format, sizeof format) || !strcmp(format, "json"))
        return false;
    if (strcmp(format, "jsonl") != 0) {
        hx_api_error(resp, 400, "bad_request", "format is json (the default) or jsonl");
        return true;
    }
    if (!(l.out = open_memstream(&body, &len))) {
        hx_api_error(resp, 500, "internal_error", "out of memory");
        return true;
    }
    int rc = s->store->ops->query_events(s->store, f, add_line, &l);
    if (fclose(l.out) || rc < 0) {
        free(body);
        hx_api_error(resp, 500, "internal_error", "store: %s",
                     rc < 0 ? hx_store_errmsg(s->store) : "out of memory");
        return true;
    }
    resp->status = 200;
    resp->content_type = "application/x-ndjson";
    resp->body = body;
    resp->len = len;
    return true;
}

typedef struct verify_report {
    json_t *list;
    long total;
} verify_report;

static void add_problem(void *arg, const hx_chain_problem *p)
{
    verify_report *r = arg;
    if (r->total++ >= MAX_LISTED_PROBLEMS) return;
    json_array_append_new(r->list, json_pack("{s:s, s:o, s:I, s:s}", "room", hx_chain_name(p->room),
                                             "id", p->id ? json_integer(p->id) : json_null(), "seq",
                                             (json_int_t)p->seq, "what", p->what));
}

void hx_api_audit_verify(hx_server *s, const hx_http_req *req, hx_http_resp *resp)
{
    char room[sizeof req->query];
    const char *chain = NULL; /* every chain */
    verify_report r = {.list = json_array()};
    hx_chain_summary sum;

    /* "(server)", as reports name it, or empty: the server chain. */
    if (hx_api_query(req, "room", room, sizeof room))
        chain = strcmp(room, HX_CHAIN_SERVER_NAME) ? room : "";
    if (s->store->ops->verify_chain(s->store, chain, add_problem, &r, &sum) < 0) {
        json_decref(r.list);
        hx_api_error(resp, 500, "internal_error", "store: %s", hx_store_errmsg(s->store));
        return;
    }
    hx_api_json(resp, 200,
                json_pack("{s:b, s:I, s:I, s:I, s:I, s:I, s:o}", "ok", r.total == 0, "chains",
                          (json_int_t)sum.chains, "records", (json_int_t)sum.records, "redacted",
                          (json_int_t)sum.redacted, "unchained", (json_int_t)sum.unchained,
                          "problems_total", (json_int_t)r.total, "problems", r.list));
}
