/*
 * libFuzzer target for auth/ticket (and the base64url decoder under it).
 *
 * Each input is used two ways:
 *   1. as ticket text for hx_ticket_open under a fixed key. A fuzzer cannot
 *      forge the MAC, so this path mostly exercises length checks, base64url
 *      decoding and the MAC comparison; whatever does open must re-seal to
 *      the identical text (decoding is strict, so one ticket has one text);
 *   2. as the raw body of a ticket (everything before the MAC): the harness
 *      MACs it with the fixed key and encodes it, as the server would, so
 *      mutations reach the field layout checks behind the MAC. Again, what
 *      opens must re-seal to exactly the text that was opened.
 * Beyond what ASan/UBSan catch, it aborts when an opened ticket breaks the
 * contract: an invalid user, device or room id, a string longer than
 * HX_MAX_ID_LEN, a result other than OK / INVALID.
 *
 * The seed corpus (fuzz/corpus/ticket) holds tickets sealed under the key
 * below (short, typical, every field at its maximum), the raw bodies of the
 * same tickets for path 2, and garbage.
 */
#include "auth/ticket.h"

#include "common/b64.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdlib.h>
#include <string.h>

#define MAC_LEN 32
#define RAW_CAP 1024
#define TEXT_CAP 2048

static const uint8_t key[HX_TICKET_KEY_LEN] = "hearth-fuzz-ticket-key-000000000";

static void check_opened(const hx_ticket *t, const char *text, size_t len)
{
    if (!hx_id_valid(t->user) || !hx_id_valid(t->device) || !hx_id_valid(t->room) ||
        strnlen(t->sid, sizeof t->sid) > HX_MAX_ID_LEN || strnlen(t->jti, sizeof t->jti) > HX_MAX_ID_LEN)
        abort();
    char again[TEXT_CAP];
    long n = hx_ticket_seal(key, t, again, sizeof again);
    if (n < 0 || (size_t)n != len || memcmp(again, text, len) != 0)
        abort();
    hx_ticket u;
    if (hx_ticket_open(key, again, (size_t)n, &u) != HX_TICKET_OK || memcmp(u.id, t->id, sizeof u.id) != 0 ||
        u.expires_ms != t->expires_ms || u.token_iat != t->token_iat || u.grants != t->grants ||
        u.protocol_version != t->protocol_version || strcmp(u.user, t->user) || strcmp(u.device, t->device) ||
        strcmp(u.sid, t->sid) || strcmp(u.room, t->room) || strcmp(u.jti, t->jti))
        abort();
}

static void open_text(const char *text, size_t len)
{
    hx_ticket t;
    int rc = hx_ticket_open(key, text, len, &t);
    if (rc == HX_TICKET_OK)
        check_opened(&t, text, len);
    else if (rc != HX_TICKET_INVALID)
        abort();
}

/* Path 2: MAC the input as a body and open the result. */
static void open_body(const uint8_t *data, size_t size)
{
    uint8_t raw[RAW_CAP];
    char text[TEXT_CAP];
    unsigned int maclen = 0;
    if (size + MAC_LEN > sizeof raw)
        return;
    memcpy(raw, data, size);
    if (!HMAC(EVP_sha256(), key, sizeof key, data, size, raw + size, &maclen) || maclen != MAC_LEN)
        abort();
    long n = hx_b64_encode(raw, size + MAC_LEN, text, sizeof text, 1);
    if (n < 0)
        abort();
    open_text(text, (size_t)n);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    open_text((const char *)data, size);
    open_body(data, size);
    return 0;
}
