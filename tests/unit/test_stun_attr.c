/*
 * The attribute table (a row for every attribute in STUN_ATTR_LIST, each
 * consistent with its kind) and the address codec against RFC 5769's
 * XOR-MAPPED-ADDRESS values.
 */
#include <string.h>

#include "check.h"
#include "stun.h"
#include "stun_attr.h"
#include "stun_msg.h"

static const struct {
	uint16_t type;
	const char *name;
} names[] = {
#define X(name, code) {code, #name},
    STUN_ATTR_LIST(X)
#undef X
};

static void
test_table(void)
{
	const struct stun_attr_def *d;
	char want[64];
	size_t i, j;

	CHECK_EQ_INT(sizeof(names) / sizeof(names[0]), STUN_AI_COUNT);
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		d = stun_attr_lookup(names[i].type);
		if (!CHECK_MSG(d != NULL, "no row for %s", names[i].name))
			continue;
		CHECK_MSG(stun_attr_idx(names[i].type) == (int)i, "idx %s",
		    names[i].name);
		CHECK_MSG(
		    d->type == names[i].type, "type of %s", names[i].name);
		/* The RFC name is the macro name with dashes. */
		for (j = 0; names[i].name[j] != '\0' && j < sizeof(want) - 1;
		     j++)
			want[j] =
			    names[i].name[j] == '_' ? '-' : names[i].name[j];
		want[j] = '\0';
		CHECK_EQ_STR(d->name, want);
		CHECK_EQ_STR(stun_attr_name(names[i].type), want);
		CHECK_MSG(d->min_len <= d->max_len, "bounds of %s", d->name);
		CHECK_MSG(d->max_n >= 1, "max_n of %s", d->name);
		/* Everything that lands somewhere lands inside the struct. */
		CHECK_MSG(d->off < sizeof(struct stun_msg) &&
		        d->aux < sizeof(struct stun_msg) &&
		        d->aux2 < sizeof(struct stun_msg),
		    "offsets of %s", d->name);
		CHECK_EQ_INT(
		    stun_attr_required(names[i].type), names[i].type < 0x8000);
	}

	/* The limits the codec promises. */
	d = stun_attr_lookup(STUN_ATTR_USERNAME);
	CHECK_EQ_INT(d->max_len, 508);
	d = stun_attr_lookup(STUN_ATTR_REALM);
	CHECK_EQ_INT(d->max_len, 763);
	CHECK_EQ_INT(d->max_chars, 127);
	d = stun_attr_lookup(STUN_ATTR_XOR_PEER_ADDRESS);
	CHECK_EQ_INT(d->max_n, STUN_MAX_PEERS);
	CHECK_EQ_INT(d->off, offsetof(struct stun_msg, peer));
	d = stun_attr_lookup(STUN_ATTR_XOR_RELAYED_ADDRESS);
	CHECK_EQ_INT(d->max_n, STUN_MAX_RELAYED);
	d = stun_attr_lookup(STUN_ATTR_MESSAGE_INTEGRITY_SHA256);
	CHECK_EQ_INT(d->min_len, 16);
	CHECK_EQ_INT(d->max_len, 32);

	CHECK(stun_attr_lookup(0x0000) == NULL);
	CHECK(stun_attr_lookup(0x0002) == NULL);
	CHECK(stun_attr_lookup(0x7fff) == NULL);
	CHECK(stun_attr_lookup(0xc057) == NULL);
	CHECK_EQ_INT(stun_attr_idx(0x0004), -1);
	CHECK_EQ_STR(stun_attr_name(0xffff), "unknown");
	CHECK_EQ_INT(stun_attr_required(0x7fff), 1);
	CHECK_EQ_INT(stun_attr_required(0x8000), 0);
}

/* RFC 5769 sections 2.2 and 2.3. */
static const uint8_t txid[12] = {
    0xb7, 0xe7, 0xa7, 0x01, 0xbc, 0x34, 0xd6, 0x86, 0xfa, 0x87, 0xdf, 0xae};

static void
test_xor_vectors(void)
{
	static const uint8_t v4[] = {
	    0x00, 0x01, 0xa1, 0x47, 0xe1, 0x12, 0xa6, 0x43};
	static const uint8_t v6[] = {0x00, 0x02, 0xa1, 0x47, 0x01, 0x13, 0xa9,
	    0xfa, 0xa5, 0xd3, 0xf1, 0x79, 0xbc, 0x25, 0xf4, 0xb5, 0xbe, 0xd2,
	    0xb9, 0xd9};
	static const uint8_t ip4[4] = {192, 0, 2, 1};
	static const uint8_t ip6[16] = {0x20, 0x01, 0x0d, 0xb8, 0x12, 0x34,
	    0x56, 0x78, 0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77};
	struct stun_addr a;
	uint8_t out[20];

	CHECK_EQ_INT(stun_addr_decode(&a, v4, sizeof(v4), txid), 0);
	CHECK_EQ_INT(a.family, STUN_AF_IPV4);
	CHECK_EQ_INT(a.port, 32853);
	CHECK_MEMEQ(a.ip, 4, ip4, 4);
	CHECK_EQ_INT(stun_addr_encode(out, &a, txid), 8);
	CHECK_MEMEQ(out, 8, v4, sizeof(v4));

	CHECK_EQ_INT(stun_addr_decode(&a, v6, sizeof(v6), txid), 0);
	CHECK_EQ_INT(a.family, STUN_AF_IPV6);
	CHECK_EQ_INT(a.port, 32853);
	CHECK_MEMEQ(a.ip, 16, ip6, 16);
	CHECK_EQ_INT(stun_addr_encode(out, &a, txid), 20);
	CHECK_MEMEQ(out, 20, v6, sizeof(v6));
}

static void
test_plain(void)
{
	static const uint8_t v4[] = {0x00, 0x01, 0x0d, 0x96, 203, 0, 113, 7};
	struct stun_addr a, b;
	uint8_t out[20];
	size_t i;

	CHECK_EQ_INT(stun_addr_decode(&a, v4, sizeof(v4), NULL), 0);
	CHECK_EQ_INT(a.port, 3478);
	CHECK_EQ_INT(a.ip[0], 203);
	CHECK_EQ_INT(a.ip[3], 7);
	CHECK_EQ_INT(a.ip[4], 0);
	CHECK_EQ_INT(stun_addr_encode(out, &a, NULL), 8);
	CHECK_MEMEQ(out, 8, v4, sizeof(v4));

	memset(&a, 0, sizeof(a));
	a.family = STUN_AF_IPV6;
	a.port = 65535;
	for (i = 0; i < 16; i++)
		a.ip[i] = (uint8_t)(0xf0 + i);
	CHECK_EQ_INT(stun_addr_encode(out, &a, txid), 20);
	CHECK_EQ_INT(stun_addr_decode(&b, out, 20, txid), 0);
	CHECK_MEMEQ(&b, sizeof(b), &a, sizeof(a));
	CHECK_EQ_INT(stun_addr_encode(out, &a, NULL), 20);
	CHECK_EQ_INT(out[2], 0xff);
	CHECK_EQ_INT(out[4], 0xf0);
	CHECK_EQ_INT(stun_addr_decode(&b, out, 20, NULL), 0);
	CHECK_MEMEQ(&b, sizeof(b), &a, sizeof(a));

	a.family = 3;
	CHECK_EQ_INT(stun_addr_encode(out, &a, NULL), STUN_EFAMILY);
	a.family = 0;
	CHECK_EQ_INT(stun_addr_encode(out, &a, txid), STUN_EFAMILY);
}

static const struct {
	const char *name;
	const char *hex;
	int want;
} bad[] = {
    {"empty", "", STUN_EBADLEN},
    {"three bytes", "00 01 00", STUN_EBADLEN},
    {"IPv4 short", "00 01 00 50 01 02 03", STUN_EBADLEN},
    {"IPv4 long", "00 01 00 50 01 02 03 04 05", STUN_EBADLEN},
    {"IPv4 as 20",
        "00 01 00 50 01 02 03 04 00 00 00 00 00 00 00 00 00 00 "
        "00 00",
        STUN_EBADLEN},
    {"IPv6 short",
        "00 02 00 50 00 00 00 00 00 00 00 00 00 00 00 00 00 00 "
        "00",
        STUN_EBADLEN},
    {"IPv6 as 8", "00 02 00 50 01 02 03 04", STUN_EBADLEN},
    {"family 0", "00 00 00 50 01 02 03 04", STUN_EFAMILY},
    {"family 3", "00 03 00 50 01 02 03 04", STUN_EFAMILY},
    {"family 4",
        "00 04 00 50 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 "
        "00",
        STUN_EFAMILY},
    {"reserved byte set", "ff 01 00 50 01 02 03 04", 0},
};

static void
test_bad(void)
{
	struct stun_addr a;
	uint8_t val[32];
	size_t i, n;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		n = check_unhex(bad[i].hex, val, sizeof(val));
		CHECK_MSG(stun_addr_decode(&a, val, n, NULL) == bad[i].want,
		    "plain %s", bad[i].name);
		CHECK_MSG(stun_addr_decode(&a, val, n, txid) == bad[i].want,
		    "xor %s", bad[i].name);
	}
}

int
main(void)
{
	test_table();
	test_xor_vectors();
	test_plain();
	test_bad();
	return CHECK_DONE();
}
