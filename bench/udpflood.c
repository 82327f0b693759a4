// SPDX-License-Identifier: GPL-2.0
/*
 * udpflood DEV DST_MAC FLOWS COUNT: sends COUNT 64-byte UDP frames from
 * DEV to 192.0.2.1:9000 spread at random over FLOWS flows (the peers and
 * ports of tests/lib/flows.py, as tests/lib/pktgen.sh does) and prints the
 * frames per second sent. For the UDP_GRO row of the RX benchmark: pktgen
 * holds a reference on each skb it sends, and veth hands a shared skb to
 * netif_receive_skb() instead of GRO; a packet socket's frames are not
 * shared, so with the sender's TSO off and the receiver's GRO on they take
 * veth's NAPI path through napi_gro_receive() and udp4_gro_receive(). The
 * receiver's work runs in the sender's softirq, so the rate sent is the
 * rate received; when it falls behind (its softirq deferred to
 * ksoftirqd), veth's ring fills and the sender waits for it, the frame
 * it could not queue lost and not counted (veth counts it: the caller
 * reports those drops).
 *
 * The cache model (bench/cachesim/) counts the instructions of the send
 * loop, the receive path included when the caller pins it to one CPU
 * (section "rxcount"): "xchg %dx,%dx" restarts its numbering, "xchg
 * %bx,%bx" and "xchg %cx,%cx" open and close window 0; without the model
 * they are no-ops.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <netinet/ip.h>
#include <netinet/udp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define FRAME		64
#define BATCH		32
#define PER_ADDR	50000	/* flows per peer address: tests/lib/flows.py */

static uint16_t ip_csum(const void *p, int len)
{
	const uint16_t *w = p;
	uint32_t sum = 0;

	for (; len > 1; len -= 2)
		sum += *w++;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return ~sum;
}

static void frame(uint8_t *f, const uint8_t *dmac, const uint8_t *smac,
		  uint32_t flow)
{
	struct ether_header *eh = (struct ether_header *)f;
	struct iphdr *ip = (struct iphdr *)(eh + 1);
	struct udphdr *uh = (struct udphdr *)(ip + 1);

	memset(f, 0, FRAME);
	memcpy(eh->ether_dhost, dmac, ETH_ALEN);
	memcpy(eh->ether_shost, smac, ETH_ALEN);
	eh->ether_type = htons(ETHERTYPE_IP);
	ip->version = 4;
	ip->ihl = 5;
	ip->tot_len = htons(FRAME - sizeof(*eh));
	ip->ttl = 64;
	ip->protocol = IPPROTO_UDP;
	ip->saddr = htonl(0xc0000202 + flow / PER_ADDR);	/* 192.0.2.2.. */
	ip->daddr = htonl(0xc0000201);				/* 192.0.2.1 */
	ip->check = ip_csum(ip, sizeof(*ip));
	uh->source = htons(10000 + flow % PER_ADDR);
	uh->dest = htons(9000);
	uh->len = htons(FRAME - sizeof(*eh) - sizeof(*ip));
}

int main(int argc, char **argv)
{
	static uint8_t frames[BATCH][FRAME];
	struct mmsghdr msgs[BATCH];
	struct iovec iov[BATCH];
	struct sockaddr_ll sll = { .sll_family = AF_PACKET };
	uint8_t dmac[ETH_ALEN], smac[ETH_ALEN];
	struct timespec t0, t1, pause = { .tv_nsec = 50000 };
	struct ifreq ifr = { 0 };
	uint32_t x = 2463534242u, flows;
	long count, sent = 0;
	double secs;
	int fd, i;

	if (argc != 5 || sscanf(argv[2], "%hhx:%hhx:%hhx:%hhx:%hhx:%hhx",
				&dmac[0], &dmac[1], &dmac[2], &dmac[3],
				&dmac[4], &dmac[5]) != 6) {
		fprintf(stderr, "usage: udpflood DEV DST_MAC FLOWS COUNT\n");
		return 2;
	}
	flows = strtoul(argv[3], NULL, 0);
	count = strtol(argv[4], NULL, 0);
	fd = socket(AF_PACKET, SOCK_RAW, 0);
	if (fd < 0 || flows == 0) {
		perror("udpflood: socket");
		return 1;
	}
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", argv[1]);
	if (ioctl(fd, SIOCGIFHWADDR, &ifr) < 0) {
		perror("udpflood: SIOCGIFHWADDR");
		return 1;
	}
	memcpy(smac, ifr.ifr_hwaddr.sa_data, ETH_ALEN);
	sll.sll_ifindex = if_nametoindex(argv[1]);
	sll.sll_protocol = htons(ETH_P_IP);
	if (bind(fd, (struct sockaddr *)&sll, sizeof(sll)) < 0) {
		perror("udpflood: bind");
		return 1;
	}
	memset(msgs, 0, sizeof(msgs));
	for (i = 0; i < BATCH; i++) {
		iov[i].iov_base = frames[i];
		iov[i].iov_len = FRAME;
		msgs[i].msg_hdr.msg_iov = &iov[i];
		msgs[i].msg_hdr.msg_iovlen = 1;
	}
	asm volatile("xchg %%dx, %%dx" ::: "memory");
	asm volatile("xchg %%bx, %%bx" ::: "memory");
	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (sent < count) {
		int n = count - sent < BATCH ? count - sent : BATCH;

		for (i = 0; i < n; i++) {
			x ^= x << 13;	/* xorshift32: flows at random */
			x ^= x >> 17;
			x ^= x << 5;
			frame(frames[i], dmac, smac, x % flows);
		}
		n = sendmmsg(fd, msgs, n, 0);
		if (n < 0 && errno == ENOBUFS) {
			/*
			 * veth's ring is full: the receiver, whose softirq
			 * work went to ksoftirqd, is behind. Wait for it; the
			 * frame is lost (veth counts it), not counted sent.
			 */
			nanosleep(&pause, NULL);
			continue;
		}
		if (n < 0) {
			perror("udpflood: sendmmsg");
			return 1;
		}
		sent += n;
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	asm volatile("xchg %%cx, %%cx" ::: "memory");
	secs = (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
	printf("%.0f\n", sent / secs);
	return 0;
}
