/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The virtio_net_hdr rules (5.1.6.2, 5.1.6.4), checked on a private copy of the header. A guest
 * frame that breaks them is dropped before it reaches the tap; a backend frame that breaks them
 * (a tap giving what the guest did not negotiate, a peer socket sending nonsense) is dropped
 * before it reaches the guest, so the driver only ever sees what it asked for.
 */
#include "net.h"

/* What segmentation a driver with `features` may send (from_guest) or receive. */
static bool gso_allowed(uint8_t type, uint64_t f, bool from_guest)
{
	switch (type) {
	case VIRTIO_NET_HDR_GSO_TCPV4:
		return f & NET_BIT(from_guest ? VIRTIO_NET_F_HOST_TSO4 : VIRTIO_NET_F_GUEST_TSO4);
	case VIRTIO_NET_HDR_GSO_TCPV6:
		return f & NET_BIT(from_guest ? VIRTIO_NET_F_HOST_TSO6 : VIRTIO_NET_F_GUEST_TSO6);
	case VIRTIO_NET_HDR_GSO_UDP_L4:
		if (from_guest)
			return f & NET_BIT(VIRTIO_NET_F_HOST_USO);
		return f & (NET_BIT(VIRTIO_NET_F_GUEST_USO4) | NET_BIT(VIRTIO_NET_F_GUEST_USO6));
	default:
		/* UFO (GSO_UDP) is never offered; anything else is not a type. */
		return false;
	}
}

const char *net_hdr_check(const struct virtio_net_hdr_v1 *h, uint64_t len, uint64_t features,
			  bool from_guest, uint32_t frame_max)
{
	const uint64_t csum_bit = NET_BIT(from_guest ? VIRTIO_NET_F_CSUM : VIRTIO_NET_F_GUEST_CSUM);
	const uint64_t ecn_bit =
	    NET_BIT(from_guest ? VIRTIO_NET_F_HOST_ECN : VIRTIO_NET_F_GUEST_ECN);
	uint8_t type = h->gso_type & (uint8_t)~VIRTIO_NET_HDR_GSO_ECN;
	uint8_t known_flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;

	if (len < NET_ETH_MIN)
		return "frame shorter than an Ethernet header";
	/* DATA_VALID only means something towards the guest (5.1.6.4). */
	if (!from_guest)
		known_flags |= VIRTIO_NET_HDR_F_DATA_VALID;
	if (h->flags & (uint8_t)~known_flags)
		return "unknown header flags";
	if (h->flags && !(features & csum_bit))
		return "checksum flags without checksum offload";
	if (h->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) {
		uint32_t end = (uint32_t)h->csum_start + h->csum_offset + 2u;

		if (end > len)
			return "checksum field outside the frame";
	}
	if (type == VIRTIO_NET_HDR_GSO_NONE) {
		if (h->gso_type & VIRTIO_NET_HDR_GSO_ECN)
			return "ECN bit without segmentation";
		if (len > frame_max)
			return "frame larger than the MTU allows";
		return NULL;
	}
	if (!gso_allowed(type, features, from_guest))
		return "segmentation type not negotiated";
	if ((h->gso_type & VIRTIO_NET_HDR_GSO_ECN) && !(features & ecn_bit))
		return "ECN segmentation not negotiated";
	if (!(h->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM))
		return "segmentation without a partial checksum";
	if (h->gso_size == 0)
		return "segmentation with gso_size 0";
	if (h->hdr_len > len)
		return "header length beyond the frame";
	if (len > NET_GSO_FRAME_MAX)
		return "segmented frame larger than 64 KiB";
	return NULL;
}
