/*
 * Base64 (RFC 4648 §4) and base64url (RFC 4648 §5).
 *
 * Both directions are pure functions over caller buffers: nothing is
 * allocated, nothing is kept between calls, so they are safe on any thread
 * and on hostile input. The two alphabets differ only in the characters for
 * 62 and 63; one 256-entry reverse table per alphabet maps an input byte to
 * its 6-bit value or to BAD.
 *
 * Decoding is strict, because tokens are compared and signed as text and a
 * lenient decoder lets two different strings mean the same bytes:
 *   - no whitespace, no characters outside the alphabet;
 *   - url mode takes no padding at all (JWS, RFC 7515 §2, strips it);
 *     standard mode takes either no padding or exactly the padding that
 *     makes the length a multiple of four, and only at the end;
 *   - a final group of one character is impossible and rejected;
 *   - the unused low bits of the last character must be zero
 *     (RFC 4648 §3.5 permits rejecting non-canonical encodings).
 * The output length is computed up front, so a short buffer fails before a
 * byte is written.
 */
#include "common/b64.h"

#include <limits.h>

#define BAD 0xff

static const char enc_std[64] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
static const char enc_url[64] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* Reverse tables, built at compile time. Designated initializers leave every
 * other entry 0, so the tables store value + 1 and 0 means "not in the
 * alphabet". */
#define X(c, v) [c] = (v) + 1
static const uint8_t dec_std[256] = {
    X('A', 0),  X('B', 1),  X('C', 2),  X('D', 3),  X('E', 4),  X('F', 5),  X('G', 6),  X('H', 7),
    X('I', 8),  X('J', 9),  X('K', 10), X('L', 11), X('M', 12), X('N', 13), X('O', 14), X('P', 15),
    X('Q', 16), X('R', 17), X('S', 18), X('T', 19), X('U', 20), X('V', 21), X('W', 22), X('X', 23),
    X('Y', 24), X('Z', 25), X('a', 26), X('b', 27), X('c', 28), X('d', 29), X('e', 30), X('f', 31),
    X('g', 32), X('h', 33), X('i', 34), X('j', 35), X('k', 36), X('l', 37), X('m', 38), X('n', 39),
    X('o', 40), X('p', 41), X('q', 42), X('r', 43), X('s', 44), X('t', 45), X('u', 46), X('v', 47),
    X('w', 48), X('x', 49), X('y', 50), X('z', 51), X('0', 52), X('1', 53), X('2', 54), X('3', 55),
    X('4', 56), X('5', 57), X('6', 58), X('7', 59), X('8', 60), X('9', 61), X('+', 62), X('/', 63),
};
static const uint8_t dec_url[256] = {
    X('A', 0),  X('B', 1),  X('C', 2),  X('D', 3),  X('E', 4),  X('F', 5),  X('G', 6),  X('H', 7),
    X('I', 8),  X('J', 9),  X('K', 10), X('L', 11), X('M', 12), X('N', 13), X('O', 14), X('P', 15),
    X('Q', 16), X('R', 17), X('S', 18), X('T', 19), X('U', 20), X('V', 21), X('W', 22), X('X', 23),
    X('Y', 24), X('Z', 25), X('a', 26), X('b', 27), X('c', 28), X('d', 29), X('e', 30), X('f', 31),
    X('g', 32), X('h', 33), X('i', 34), X('j', 35), X('k', 36), X('l', 37), X('m', 38), X('n', 39),
    X('o', 40), X('p', 41), X('q', 42), X('r', 43), X('s', 44), X('t', 45), X('u', 46), X('v', 47),
    X('w', 48), X('x', 49), X('y', 50), X('z', 51), X('0', 52), X('1', 53), X('2', 54), X('3', 55),
    X('4', 56), X('5', 57), X('6', 58), X('7', 59), X('8', 60), X('9', 61), X('-', 62), X('_', 63),
};
#undef X

static uint8_t dec_value(const uint8_t *tab, unsigned char c)
{
    return tab[c] ? (uint8_t)(tab[c] - 1) : BAD;
}

size_t hx_b64_encoded_len(size_t n, int url)
{
    if (n / 3 > (SIZE_MAX - 4) / 4)
        return SIZE_MAX; /* cannot be represented; every encode will fail */
    size_t full = (n / 3) * 4, rem = n % 3;
    if (rem == 0) return full;
    return full + (url ? rem + 1 : 4);
}

long hx_b64_encode(const uint8_t *in, size_t n, char *out, size_t outlen, int url)
{
    const char *a = url ? enc_url : enc_std;
    size_t need = hx_b64_encoded_len(n, url);
    if (need == SIZE_MAX || need > LONG_MAX || !out || outlen <= need) return -1;

    size_t i = 0, o = 0;
    for (; i + 3 <= n; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
        out[o++] = a[v >> 18];
        out[o++] = a[(v >> 12) & 63];
        out[o++] = a[(v >> 6) & 63];
        out[o++] = a[v & 63];
    }
    if (n - i == 1) {
        uint32_t v = (uint32_t)in[i] << 16;
        out[o++] = a[v >> 18];
        out[o++] = a[(v >> 12) & 63];
        if (!url) {
            out[o++] = '=';
            out[o++] = '=';
        }
    } else if (n - i == 2) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;
        out[o++] = a[v >> 18];
        out[o++] = a[(v >> 12) & 63];
        out[o++] = a[(v >> 6) & 63];
        if (!url) out[o++] = '=';
    }
    out[o] = '\0';
    return (long)o;
}

long hx_b64_decode(const char *in, size_t n, uint8_t *out, size_t outlen, int url)
{
    const uint8_t *tab = url ? dec_url : dec_std;
    if (n > LONG_MAX || (n && !in)) return -1;

    /* Strip the padding standard mode allows (RFC 4648 §3.2): only when the
     * padded length is a multiple of four, at most two '='. */
    if (!url && n > 0 && n % 4 == 0 && in[n - 1] == '=') {
        n--;
        if (in[n - 1] == '=') n--;
    }
    size_t rem = n % 4;
    if (rem == 1) return -1; /* 6 bits cannot make a byte */
    size_t need = (n / 4) * 3 + (rem ? rem - 1 : 0);
    if (need > outlen || (need && !out)) return -1;

    size_t i = 0, o = 0;
    for (; i + 4 <= n; i += 4) {
        uint8_t a = dec_value(tab, (unsigned char)in[i]);
        uint8_t b = dec_value(tab, (unsigned char)in[i + 1]);
        uint8_t c = dec_value(tab, (unsigned char)in[i + 2]);
        uint8_t d = dec_value(tab, (unsigned char)in[i + 3]);
        if (a == BAD || b == BAD || c == BAD || d == BAD) return -1;
        uint32_t v = (uint32_t)a << 18 | (uint32_t)b << 12 | (uint32_t)c << 6 | d;
        out[o++] = (uint8_t)(v >> 16);
        out[o++] = (uint8_t)(v >> 8);
        out[o++] = (uint8_t)v;
    }
    if (rem) {
        uint8_t a = dec_value(tab, (unsigned char)in[i]);
        uint8_t b = dec_value(tab, (unsigned char)in[i + 1]);
        uint8_t c = rem == 3 ? dec_value(tab, (unsigned char)in[i + 2]) : 0;
        if (a == BAD || b == BAD || c == BAD) return -1;
        uint32_t v = (uint32_t)a << 18 | (uint32_t)b << 12 | (uint32_t)c << 6;
        /* RFC 4648 §3.5: the bits past the last whole byte must be zero. */
        if (rem == 2 ? (v & 0xffff) : (v & 0xff)) return -1;
        out[o++] = (uint8_t)(v >> 16);
        if (rem == 3) out[o++] = (uint8_t)(v >> 8);
    }
    return (long)o;
}
