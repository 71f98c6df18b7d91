/*
 * The control protocol between turnctl and turnd, over a Unix stream
 * socket: one request, one response, then the daemon closes.  Both start
 * with the same 16-byte header, big-endian:
 *
 *	version  u32  CTL_VERSION; checked first, a mismatch is refused
 *	type     u32  request: CTL_*; response: 0 or a CTL_E_* status
 *	flags    u32  CTL_F_JSON: answer in JSON, else a readable table
 *	len      u32  payload bytes that follow
 *
 * A request's payload is "key=value" lines (user=NAME, target=USER|ID,
 * ttl=SECONDS, id=NAME), at most CTL_REQ_MAX bytes; a response's payload
 * is the text to print (an error message when the status is not 0).  The
 * read-only socket takes show requests only (CTL_STATS, CTL_SESSIONS,
 * CTL_USERS).
 */
#ifndef TURND_CTL_H
#define TURND_CTL_H

#include <stdint.h>

#define CTL_VERSION 1
#define CTL_HDR_LEN 16
#define CTL_REQ_MAX 4096
#define CTL_RESP_MAX (64u << 20)

#define CTL_F_JSON 0x01

#define CTL_LIST(X)                                                            \
	X(STATS, "stats", 1)                                                   \
	X(SESSIONS, "sessions", 1)                                             \
	X(USERS, "users", 1)                                                   \
	X(KICK, "kick", 0)                                                     \
	X(RELOAD, "reload", 0)                                                 \
	X(CREDENTIALS, "credentials", 0)

enum ctl_type {
	CTL_NONE = 0,
#define CTL_X_ENUM(name, word, show) CTL_##name,
	CTL_LIST(CTL_X_ENUM)
#undef CTL_X_ENUM
	CTL_COUNT
};

/* Response statuses. */
#define CTL_E_OK 0
#define CTL_E_VERSION 1	  /* protocol version mismatch */
#define CTL_E_BAD 2	  /* malformed or unknown request */
#define CTL_E_DENIED 3	  /* not a show request on the read-only socket */
#define CTL_E_FAILED 4	  /* the request failed; the payload says why */
#define CTL_E_NOTFOUND 5  /* kick: nothing matched */

struct ctl_hdr {
	uint32_t version;
	uint32_t type;
	uint32_t flags;
	uint32_t len;
};

static inline void
ctl_hdr_put(uint8_t out[CTL_HDR_LEN], const struct ctl_hdr *h)
{
	const uint32_t v[4] = { h->version, h->type, h->flags, h->len };

	for (int i = 0; i < 4; i++) {
		out[4 * i] = (uint8_t)(v[i] >> 24);
		out[4 * i + 1] = (uint8_t)(v[i] >> 16);
		out[4 * i + 2] = (uint8_t)(v[i] >> 8);
		out[4 * i + 3] = (uint8_t)v[i];
	}
}

static inline void
ctl_hdr_get(struct ctl_hdr *h, const uint8_t in[CTL_HDR_LEN])
{
	uint32_t v[4];

	for (int i = 0; i < 4; i++)
		v[i] = (uint32_t)in[4 * i] << 24 | (uint32_t)in[4 * i + 1] << 16 |
		    (uint32_t)in[4 * i + 2] << 8 | in[4 * i + 3];
	h->version = v[0];
	h->type = v[1];
	h->flags = v[2];
	h->len = v[3];
}

/* Whether a request type may come over the read-only socket. */
static inline int
ctl_is_show(uint32_t type)
{
	return type == CTL_STATS || type == CTL_SESSIONS || type == CTL_USERS;
}

#endif
