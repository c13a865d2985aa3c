/*
 * STUN message codec (RFC 5389 / RFC 8489), shared by the ICE-lite agent
 * (src/ice) and, later, the embedded TURN server (RFC 8656).
 *
 * Everything here is pure: functions read `const uint8_t *buf, size_t len`
 * or write into a caller buffer; nothing allocates after hx_stun_key_init.
 *
 * Parsing: hx_stun_parse validates the 20-byte header (top bits zero, magic
 * cookie, length a multiple of 4 that matches the buffer exactly) and walks
 * the attributes once into hx_stun_msg, a table of (type, offset, length)
 * pointing into the caller's buffer; nothing is copied, so the buffer must
 * outlive the message. Attributes after MESSAGE-INTEGRITY other than
 * FINGERPRINT are skipped (RFC 5389 §15.4), FINGERPRINT must be last
 * (§15.5). Known attributes are length-checked while walking; unknown ones
 * stay in the table, and the comprehension-required ones among them
 * (type < 0x8000) are listed separately for a 420 answer (§7.3.1).
 * Typed getters decode a table entry on demand.
 *
 * Integrity: a hx_stun_key holds the HMAC-SHA1 inner and outer states,
 * hashed once from the key; each check copies the two states (plain
 * structs) and hashes the message, so a check costs no allocation.
 * hx_stun_key_init takes the short-term key (the ICE password),
 * hx_stun_key_init_long_term the MD5(username ":" realm ":" password) of
 * RFC 5389 §15.4 for TURN.
 *
 * Writing: hx_stun_writer builds a message in a caller buffer; errors are
 * sticky (the first one is returned by hx_stun_writer_finish), so a
 * sequence of puts needs one check at the end.
 */
#ifndef HX_STUN_STUN_H
#define HX_STUN_STUN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define HX_STUN_HEADER_LEN 20
#define HX_STUN_TID_LEN 12
#define HX_STUN_MAGIC 0x2112A442u
#define HX_STUN_FINGERPRINT_XOR 0x5354554eu
#define HX_STUN_MI_LEN 20 /* HMAC-SHA1 */
#define HX_STUN_MAX_ATTRS 32
#define HX_STUN_MAX_UNKNOWN 8
#define HX_STUN_MAX_USERNAME 513 /* bytes, RFC 5389 §15.3 */
#define HX_STUN_MAX_REASON 763   /* bytes, RFC 5389 §15.6 */

/* Classes (the C1 C0 bits, already shifted into the message type). */
#define HX_STUN_CLASS_REQUEST 0x0000
#define HX_STUN_CLASS_INDICATION 0x0010
#define HX_STUN_CLASS_SUCCESS 0x0100
#define HX_STUN_CLASS_ERROR 0x0110
#define HX_STUN_CLASS_MASK 0x0110

/* Methods (RFC 5389, RFC 8656). */
#define HX_STUN_BINDING 0x001
#define HX_STUN_ALLOCATE 0x003
#define HX_STUN_REFRESH 0x004
#define HX_STUN_SEND 0x006
#define HX_STUN_DATA 0x007
#define HX_STUN_CREATE_PERMISSION 0x008
#define HX_STUN_CHANNEL_BIND 0x009

/* Message types used by the ICE agent. */
#define HX_STUN_BINDING_REQUEST 0x0001
#define HX_STUN_BINDING_INDICATION 0x0011
#define HX_STUN_BINDING_SUCCESS 0x0101
#define HX_STUN_BINDING_ERROR 0x0111

/* Attribute types: RFC 5389, RFC 8445 (ICE), RFC 8656 (TURN). */
enum {
    HX_STUN_ATTR_MAPPED_ADDRESS = 0x0001,
    HX_STUN_ATTR_USERNAME = 0x0006,
    HX_STUN_ATTR_MESSAGE_INTEGRITY = 0x0008,
    HX_STUN_ATTR_ERROR_CODE = 0x0009,
    HX_STUN_ATTR_UNKNOWN_ATTRIBUTES = 0x000A,
    HX_STUN_ATTR_CHANNEL_NUMBER = 0x000C,
    HX_STUN_ATTR_LIFETIME = 0x000D,
    HX_STUN_ATTR_XOR_PEER_ADDRESS = 0x0012,
    HX_STUN_ATTR_DATA = 0x0013,
    HX_STUN_ATTR_REALM = 0x0014,
    HX_STUN_ATTR_NONCE = 0x0015,
    HX_STUN_ATTR_XOR_RELAYED_ADDRESS = 0x0016,
    HX_STUN_ATTR_REQUESTED_ADDRESS_FAMILY = 0x0017,
    HX_STUN_ATTR_EVEN_PORT = 0x0018,
    HX_STUN_ATTR_REQUESTED_TRANSPORT = 0x0019,
    HX_STUN_ATTR_DONT_FRAGMENT = 0x001A,
    HX_STUN_ATTR_XOR_MAPPED_ADDRESS = 0x0020,
    HX_STUN_ATTR_RESERVATION_TOKEN = 0x0022,
    HX_STUN_ATTR_PRIORITY = 0x0024,
    HX_STUN_ATTR_USE_CANDIDATE = 0x0025,
    HX_STUN_ATTR_SOFTWARE = 0x8022,
    HX_STUN_ATTR_ALTERNATE_SERVER = 0x8023,
    HX_STUN_ATTR_FINGERPRINT = 0x8028,
    HX_STUN_ATTR_ICE_CONTROLLED = 0x8029,
    HX_STUN_ATTR_ICE_CONTROLLING = 0x802A,
};

/* Error codes (RFC 5389 §15.6, RFC 8445 §7.3.1.1, RFC 8656 §18). */
enum {
    HX_STUN_ERR_BAD_REQUEST = 400,
    HX_STUN_ERR_UNAUTHORIZED = 401,
    HX_STUN_ERR_FORBIDDEN = 403,
    HX_STUN_ERR_UNKNOWN_ATTRIBUTE = 420,
    HX_STUN_ERR_ALLOCATION_MISMATCH = 437,
    HX_STUN_ERR_STALE_NONCE = 438,
    HX_STUN_ERR_ROLE_CONFLICT = 487,
    HX_STUN_ERR_SERVER_ERROR = 500,
};

/* Return values (0 = ok). */
enum {
    HX_STUN_OK = 0,
    HX_STUN_EMALFORMED = -1, /* header or attribute layout broken */
    HX_STUN_EABSENT = -2,    /* the attribute is not in the message */
    HX_STUN_EMISMATCH = -3,  /* MESSAGE-INTEGRITY or FINGERPRINT does not verify */
    HX_STUN_ENOSPACE = -4,   /* writer: the buffer is too small */
    HX_STUN_EINVAL = -5,     /* bad argument (address family, key, reason length) */
};

/** One attribute: its value is buf[off .. off+len). */
typedef struct hx_stun_attr {
    uint16_t type;
    uint16_t len;
    uint16_t off;
} hx_stun_attr;

/** A parsed message: offsets into the caller's buffer, which must stay alive. */
typedef struct hx_stun_msg {
    const uint8_t *buf;
    size_t len; /* 20 + message length */
    uint16_t type;
    const uint8_t *tid; /* 12 bytes at buf + 8 */
    uint16_t mi_off;    /* offset of the MESSAGE-INTEGRITY attribute header, 0 if absent */
    uint16_t fp_off;    /* offset of the FINGERPRINT attribute header, 0 if absent */
    uint8_t n_attrs;
    uint8_t n_unknown;     /* unknown comprehension-required attributes */
    bool too_many_unknown; /* more than HX_STUN_MAX_UNKNOWN of them (the list is cut) */
    hx_stun_attr attrs[HX_STUN_MAX_ATTRS];
    uint16_t unknown[HX_STUN_MAX_UNKNOWN];
} hx_stun_msg;

/** HMAC-SHA1 key state, made once from a key; opaque, copyable. */
typedef struct hx_stun_key {
    uint64_t state[2][16]; /* inner, outer SHA-1 states after the pads (see integrity.c) */
    bool set;
} hx_stun_key;

/** Builds a message into a caller buffer; see hx_stun_writer_init. */
typedef struct hx_stun_writer {
    uint8_t *buf;
    size_t cap;
    size_t len;
    int err;     /* first error, sticky */
    uint8_t pad; /* padding byte, 0 by default (RFC 5769 vectors use 0x20) */
} hx_stun_writer;

/** Cheap classifier for a demux (RFC 7983 first byte 0-3 and magic cookie). */
bool hx_stun_is(const uint8_t *buf, size_t len);
/** Method of a message type (class bits removed). */
uint16_t hx_stun_method(uint16_t type);
/** Class of a message type (one of HX_STUN_CLASS_*). */
uint16_t hx_stun_class(uint16_t type);

/** Validate and walk a whole message (len must be exactly 20 + its length field). */
int hx_stun_parse(hx_stun_msg *m, const uint8_t *buf, size_t len);
/** First attribute of a type, or NULL (attributes after MESSAGE-INTEGRITY are not listed). */
const hx_stun_attr *hx_stun_find(const hx_stun_msg *m, uint16_t type);
/** Value bytes of the first attribute of a type; HX_STUN_EABSENT if missing. */
int hx_stun_get_bytes(const hx_stun_msg *m, uint16_t type, const uint8_t **val, size_t *len);
/** A 32-bit attribute (PRIORITY, LIFETIME, FINGERPRINT). */
int hx_stun_get_u32(const hx_stun_msg *m, uint16_t type, uint32_t *v);
/** A 64-bit attribute (ICE-CONTROLLING, ICE-CONTROLLED). */
int hx_stun_get_u64(const hx_stun_msg *m, uint16_t type, uint64_t *v);
/** An XOR'd address (XOR-MAPPED/-PEER/-RELAYED-ADDRESS) as sockaddr_in/sockaddr_in6. */
int hx_stun_get_xor_addr(const hx_stun_msg *m, uint16_t type, struct sockaddr_storage *out);
/** ERROR-CODE: code 300-699 and the reason phrase (not NUL-terminated). */
int hx_stun_get_error(const hx_stun_msg *m, int *code, const char **reason, size_t *reason_len);

/** Precompute the HMAC state for a key (short-term: the password). 0 or HX_STUN_EINVAL. */
int hx_stun_key_init(hx_stun_key *k, const uint8_t *key, size_t len);
/** Long-term key MD5(username ":" realm ":" password), RFC 5389 §15.4 (SASLprep by caller). */
int hx_stun_key_init_long_term(hx_stun_key *k, const char *username, const char *realm,
                               const char *password);
/** Wipe a key. */
void hx_stun_key_clear(hx_stun_key *k);
/** HMAC-SHA1 of a list of byte ranges under a key (used by the writer and checks). */
void hx_stun_hmac(const hx_stun_key *k, const uint8_t *const *parts, const size_t *lens,
                  size_t n_parts, uint8_t out[HX_STUN_MI_LEN]);
/** Verify MESSAGE-INTEGRITY: 0, HX_STUN_EABSENT or HX_STUN_EMISMATCH (constant time). */
int hx_stun_check_integrity(const hx_stun_msg *m, const hx_stun_key *k);
/** Verify FINGERPRINT: 0, HX_STUN_EABSENT or HX_STUN_EMISMATCH. */
int hx_stun_check_fingerprint(const hx_stun_msg *m);
/** CRC-32 (ISO-HDLC, as in zlib) of a buffer; seed 0 for a fresh one. */
uint32_t hx_stun_crc32(uint32_t crc, const uint8_t *buf, size_t len);

/** Start a message of a type with a transaction id in buf[0..cap). */
void hx_stun_writer_init(hx_stun_writer *w, uint8_t *buf, size_t cap, uint16_t type,
                         const uint8_t tid[HX_STUN_TID_LEN]);
/** Append an attribute with a value (padded to 4 bytes). */
void hx_stun_put(hx_stun_writer *w, uint16_t type, const void *val, size_t len);
/** Append a 32-bit attribute. */
void hx_stun_put_u32(hx_stun_writer *w, uint16_t type, uint32_t v);
/** Append a 64-bit attribute. */
void hx_stun_put_u64(hx_stun_writer *w, uint16_t type, uint64_t v);
/** Append an XOR'd address from a sockaddr_in or sockaddr_in6. */
void hx_stun_put_xor_addr(hx_stun_writer *w, uint16_t type, const struct sockaddr *sa);
/** Append ERROR-CODE with a reason phrase. */
void hx_stun_put_error(hx_stun_writer *w, int code, const char *reason);
/** Append UNKNOWN-ATTRIBUTES listing types. */
void hx_stun_put_unknown(hx_stun_writer *w, const uint16_t *types, size_t n);
/** Append MESSAGE-INTEGRITY over everything so far. */
void hx_stun_put_integrity(hx_stun_writer *w, const hx_stun_key *k);
/** Append FINGERPRINT over everything so far (must be last). */
void hx_stun_put_fingerprint(hx_stun_writer *w);
/** Message length in bytes, or the first error (negative). */
long hx_stun_writer_finish(const hx_stun_writer *w);

#endif
