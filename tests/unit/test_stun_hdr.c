/*
 * The STUN header: message type composition against the values the RFCs
 * print, every method and class round trip, and the header checks.
 */
#include <string.h>

#include "check.h"
#include "stun.h"
#include "stun_hdr.h"

/* RFC 8489 section 5 and 18.2, RFC 8656 section 17, RFC 6062 section 6.1. */
static const struct {
	uint16_t method;
	uint8_t cls;
	uint16_t type;
} types[] = {
    {STUN_METHOD_BINDING, STUN_CLASS_REQUEST, 0x0001},
    {STUN_METHOD_BINDING, STUN_CLASS_INDICATION, 0x0011},
    {STUN_METHOD_BINDING, STUN_CLASS_SUCCESS, 0x0101},
    {STUN_METHOD_BINDING, STUN_CLASS_ERROR, 0x0111},
    {STUN_METHOD_ALLOCATE, STUN_CLASS_REQUEST, 0x0003},
    {STUN_METHOD_ALLOCATE, STUN_CLASS_SUCCESS, 0x0103},
    {STUN_METHOD_ALLOCATE, STUN_CLASS_ERROR, 0x0113},
    {STUN_METHOD_REFRESH, STUN_CLASS_REQUEST, 0x0004},
    {STUN_METHOD_REFRESH, STUN_CLASS_SUCCESS, 0x0104},
    {STUN_METHOD_SEND, STUN_CLASS_INDICATION, 0x0016},
    {STUN_METHOD_DATA, STUN_CLASS_INDICATION, 0x0017},
    {STUN_METHOD_CREATE_PERMISSION, STUN_CLASS_REQUEST, 0x0008},
    {STUN_METHOD_CREATE_PERMISSION, STUN_CLASS_ERROR, 0x0118},
    {STUN_METHOD_CHANNEL_BIND, STUN_CLASS_REQUEST, 0x0009},
    {STUN_METHOD_CHANNEL_BIND, STUN_CLASS_SUCCESS, 0x0109},
    {STUN_METHOD_CONNECT, STUN_CLASS_REQUEST, 0x000a},
    {STUN_METHOD_CONNECTION_BIND, STUN_CLASS_REQUEST, 0x000b},
    {STUN_METHOD_CONNECTION_ATTEMPT, STUN_CLASS_INDICATION, 0x001c},
    /* Bits that land on either side of C0 and C1. */
    {0x010, STUN_CLASS_REQUEST, 0x0020},
    {0x080, STUN_CLASS_REQUEST, 0x0200},
    {0xfff, STUN_CLASS_ERROR, 0x3fff},
    {0xfff, STUN_CLASS_REQUEST, 0x3eef},
};

static void
test_types(void)
{
	size_t i;
	unsigned method, cls;

	for (i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		CHECK_MSG(
		    stun_type(types[i].method, types[i].cls) == types[i].type,
		    "type %zu: 0x%04x", i,
		    stun_type(types[i].method, types[i].cls));
		CHECK_MSG(stun_type_method(types[i].type) == types[i].method,
		    "method %zu", i);
		CHECK_MSG(stun_type_class(types[i].type) == types[i].cls,
		    "class %zu", i);
	}
	for (method = 0; method <= 0xfff; method++)
		for (cls = 0; cls <= 3; cls++) {
			uint16_t t = stun_type((uint16_t)method, (uint8_t)cls);

			if ((t & 0xc000) != 0 ||
			    stun_type_method(t) != method ||
			    stun_type_class(t) != cls) {
				CHECK_MSG(0, "round trip 0x%03x/%u -> 0x%04x",
				    method, cls, t);
				return;
			}
		}
	CHECK(1);
}

static const uint8_t good[] = {0x01, 0x13, 0x00, 0x04, 0x21, 0x12, 0xa4, 0x42,
    0xb7, 0xe7, 0xa7, 0x01, 0xbc, 0x34, 0xd6, 0x86, 0xfa, 0x87, 0xdf, 0xae,
    0x80, 0x22, 0x00, 0x00};

static const struct {
	const char *name;
	size_t byte; /* patched byte, or SIZE_MAX */
	uint8_t val;
	size_t len;
	int want;
} hdrs[] = {
    {"good", SIZE_MAX, 0, sizeof(good), 0},
    {"19 bytes", SIZE_MAX, 0, 19, STUN_ETRUNC},
    {"header only, length 4", SIZE_MAX, 0, 20, STUN_ETRUNC},
    {"empty", SIZE_MAX, 0, 0, STUN_ETRUNC},
    {"top bit", 0, 0x81, sizeof(good), STUN_EHDR},
    {"second bit", 0, 0x41, sizeof(good), STUN_EHDR},
    {"cookie", 7, 0x43, sizeof(good), STUN_ECOOKIE},
    {"length+1", 3, 0x05, sizeof(good), STUN_EHDR},
    {"length-1", 3, 0x03, sizeof(good), STUN_EHDR},
    {"length+4", 3, 0x08, sizeof(good), STUN_ETRUNC},
    {"length-4", 3, 0x00, sizeof(good), STUN_EHDR},
    {"length 2", 3, 0x02, sizeof(good), STUN_EHDR},
};

static void
test_decode(void)
{
	uint8_t buf[sizeof(good)];
	struct stun_hdr h;
	size_t i;
	int err;

	for (i = 0; i < sizeof(hdrs) / sizeof(hdrs[0]); i++) {
		memcpy(buf, good, sizeof(good));
		if (hdrs[i].byte != SIZE_MAX)
			buf[hdrs[i].byte] = hdrs[i].val;
		err = stun_hdr_decode(&h, buf, hdrs[i].len);
		CHECK_MSG(err == hdrs[i].want, "%s: %d, want %d", hdrs[i].name,
		    err, hdrs[i].want);
	}

	CHECK_EQ_INT(stun_hdr_decode(&h, good, sizeof(good)), 0);
	CHECK_EQ_INT(h.type, 0x0113);
	CHECK_EQ_INT(h.method, STUN_METHOD_ALLOCATE);
	CHECK_EQ_INT(h.cls, STUN_CLASS_ERROR);
	CHECK_EQ_INT(h.len, 4);
	CHECK(h.txid == good + 8);
}

int
main(void)
{
	test_types();
	test_decode();
	return CHECK_DONE();
}
