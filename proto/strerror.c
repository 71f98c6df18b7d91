/*
 * Names for the codec's error numbers (enum stun_err in stun.h), for the
 * caller's logs and counters: proto/ itself never prints.
 */
#include "stun.h"

const char *
stun_strerror(int err)
{
	switch (err) {
	case STUN_OK:
		return "success";
	case STUN_ETRUNC:
		return "message truncated";
	case STUN_EHDR:
		return "bad STUN header";
	case STUN_ECOOKIE:
		return "bad magic cookie";
	case STUN_EBADLEN:
		return "attribute length wrong for its type";
	case STUN_EPADDING:
		return "attribute padding missing";
	case STUN_EBADVAL:
		return "attribute value malformed";
	case STUN_EFAMILY:
		return "address family not IPv4 or IPv6";
	case STUN_ETOOMANY:
		return "too many attributes or values";
	case STUN_EORDER:
		return "attribute after FINGERPRINT";
	case STUN_EINTEGRITY:
		return "message integrity check failed";
	case STUN_EFINGERPRINT:
		return "fingerprint mismatch";
	case STUN_ENOSPC:
		return "buffer too small";
	case STUN_ECHANNEL:
		return "channel number out of range";
	case STUN_EFRAME:
		return "neither STUN nor ChannelData";
	case STUN_ETOOBIG:
		return "frame too large";
	case STUN_EINVAL:
		return "invalid argument";
	default:
		return "unknown error";
	}
}
