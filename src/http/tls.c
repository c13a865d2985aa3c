/*
 * The listener's certificate (tls.cert_file, tls.key_file), and its reload
 * on SIGHUP without dropping a connection.
 *
 * lws loads the files into the vhost's SSL_CTX at start, as usual. On top,
 * this file keeps its own copy (hx_tls_material: leaf, chain, key, checked
 * to belong together) and installs a certificate callback on that SSL_CTX
 * which, at every handshake, replaces whatever the SSL_CTX holds with the
 * copy. A reload loads the files into a fresh copy and, only if that
 * succeeds whole, swaps it in: new handshakes get the new certificate,
 * connections already up keep theirs (an SSL holds its own references), and
 * a broken file leaves the old copy serving.
 *
 * Why not lws_tls_cert_updated(): in lws 4.1.6 it loads the files into the
 * live SSL_CTX in place and returns 0 even when they are bad. Tried here: a
 * good pair is picked up by new connections, but a key that does not match
 * the certificate, or a certificate file that does not parse, leaves the
 * SSL_CTX failing every new handshake (alert handshake_failure) while the
 * call reports success. Loading into a copy first avoids that; and clearing
 * the SSL's certificates in the callback means exactly one pair is offered
 * (OpenSSL keeps one per key type in an SSL_CTX, so an RSA certificate
 * replacing an EC one would otherwise sit beside it).
 */
#include "http/http_internal.h"
#include "core/metric_names.h"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <string.h>

void hx__tls_material_free(hx_tls_material *m)
{
    X509_free(m->cert);
    if (m->chain) sk_X509_pop_free(m->chain, X509_free);
    EVP_PKEY_free(m->key);
    memset(m, 0, sizeof *m);
}

static void ssl_err(char *err, size_t errlen, const char *what, const char *path)
{
    char buf[200];
    unsigned long e = ERR_peek_last_error();
    if (e)
        ERR_error_string_n(e, buf, sizeof buf);
    else
        snprintf(buf, sizeof buf, "no PEM data");
    ERR_clear_error();
    snprintf(err, errlen, "%s %s: %s", what, path, buf);
}

int hx__tls_load(const char *cert_file, const char *key_file, hx_tls_material *m, char *err,
                 size_t errlen)
{
    hx_tls_material n = {0};
    FILE *f = NULL;
    ERR_clear_error();
    if (!(f = fopen(cert_file, "r"))) {
        snprintf(err, errlen, "cannot open %s", cert_file);
        goto fail;
    }
    if (!(n.cert = PEM_read_X509(f, NULL, NULL, NULL))) {
        ssl_err(err, errlen, "no certificate in", cert_file);
        goto fail;
    }
    if (!(n.chain = sk_X509_new_null())) goto oom;
    for (X509 *x; (x = PEM_read_X509(f, NULL, NULL, NULL));) {
        if (!sk_X509_push(n.chain, x)) {
            X509_free(x);
            goto oom;
        }
    }
    ERR_clear_error(); /* the end of the file reads as an error */
    fclose(f);
    if (!(f = fopen(key_file, "r"))) {
        snprintf(err, errlen, "cannot open %s", key_file);
        goto fail;
    }
    if (!(n.key = PEM_read_PrivateKey(f, NULL, NULL, NULL))) {
        ssl_err(err, errlen, "no private key in", key_file);
        goto fail;
    }
    fclose(f);
    f = NULL;
    if (X509_check_private_key(n.cert, n.key) != 1) {
        ERR_clear_error();
        snprintf(err, errlen, "the key in %s does not belong to the certificate in %s", key_file,
                 cert_file);
        goto fail;
    }
    *m = n;
    return 0;
oom:
    snprintf(err, errlen, "out of memory");
fail:
    if (f) fclose(f);
    hx__tls_material_free(&n);
    return -1;
}

/* At each handshake (SSL_CTX_set_cert_cb): offer exactly the current material. 1 ok, 0 fail. */
static int cert_cb(SSL *ssl, void *arg)
{
    hx_http *h = arg;
    if (!h->tls.cert) return 1; /* nothing of ours: what lws loaded */
    SSL_certs_clear(ssl);
    return SSL_use_cert_and_key(ssl, h->tls.cert, h->tls.key, h->tls.chain, 1) == 1;
}

int hx__tls_attach(hx_http *h, SSL_CTX *ctx)
{
    h->ssl_ctx = ctx;
    SSL_CTX_set_cert_cb(ctx, cert_cb, h);
    return 0;
}

int hx_http_reload_tls(hx_server *s, char *err, size_t errlen)
{
    if (!s->tls || !s->lws) return 0;
    hx_http *h = lws_context_user(s->lws);
    hx_tls_material m;
    if (!h->ssl_ctx) {
        snprintf(err, errlen, "the listener has no TLS context");
    } else if (hx__tls_load(s->cfg.tls_cert, s->cfg.tls_key, &m, err, errlen) == 0) {
        hx__tls_material_free(&h->tls);
        h->tls = m;
        char subject[256] = "";
        X509_NAME_oneline(X509_get_subject_name(m.cert), subject, sizeof subject);
        hx_log(&s->log, HX_LOG_INFO, "tls.reloaded", "cert", s->cfg.tls_cert, "subject", subject,
               NULL);
        hx_metrics_add(&s->metrics, HX_M_TLS_RELOADS_TOTAL, "result", "ok", 1);
        return 0;
    }
    hx_log(&s->log, HX_LOG_ERROR, "tls.reload_failed", "error", err,
           "keeping", "the certificate already loaded", NULL);
    hx_metrics_add(&s->metrics, HX_M_TLS_RELOADS_TOTAL, "result", "failed", 1);
    return -1;
}
