// SPDX-License-Identifier: GPL-2.0
/*
 * Ping-pong over loopback, the traffic of a host that is not raw IP
 * (scripts/bench, section "armed"):
 *
 *   loopflood udp|tcp MESSAGES
 *
 * MESSAGES 64-byte messages from one socket to another over 127.0.0.1,
 * each read before the next is sent, on CPU 0: the sender's send runs
 * the receive path (loopback's softirq) on the same CPU, so each message
 * is one local delivery, through raw_local_deliver() among the rest.
 * Prints "loopflood proto=P messages=N ns_per_message=T".
 *
 * The cache model (bench/cachesim/) counts the guest's instructions and
 * cache misses of the timed loop: "xchg %dx,%dx" restarts its numbering
 * (each run's window is window 0), "xchg %bx,%bx" and "xchg %cx,%cx"
 * open and close the window; without the model they are no-ops.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Two connected sockets over loopback: @tx sends, @rx receives. */
static int pair(int type, int *tx, int *rx)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t len = sizeof(a);
	int s = socket(AF_INET, type, 0), c = socket(AF_INET, type, 0), one = 1;

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (s < 0 || c < 0 || bind(s, (struct sockaddr *)&a, sizeof(a)) ||
	    getsockname(s, (struct sockaddr *)&a, &len))
		return -1;
	if (type == SOCK_DGRAM) {
		*rx = s;
		*tx = c;
		return connect(c, (struct sockaddr *)&a, sizeof(a));
	}
	if (listen(s, 1) || connect(c, (struct sockaddr *)&a, sizeof(a)))
		return -1;
	*rx = accept(s, NULL, NULL);
	*tx = c;
	close(s);
	setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return *rx < 0 ? -1 : 0;
}

int main(int argc, char **argv)
{
	int type, tx, rx;
	long n, i;
	char buf[64] = "loopflood";
	cpu_set_t cpus;
	double t0, t1;

	if (argc != 3 || (strcmp(argv[1], "udp") && strcmp(argv[1], "tcp"))) {
		fprintf(stderr, "usage: loopflood udp|tcp MESSAGES\n");
		return 2;
	}
	type = strcmp(argv[1], "udp") ? SOCK_STREAM : SOCK_DGRAM;
	n = atol(argv[2]);
	CPU_ZERO(&cpus);
	CPU_SET(0, &cpus);
	sched_setaffinity(0, sizeof(cpus), &cpus);
	if (pair(type, &tx, &rx)) {
		perror("loopflood");
		return 1;
	}
	/* Warm: the first messages fill caches and the route. */
	for (i = 0; i < 1000; i++)
		if (send(tx, buf, sizeof(buf), 0) != sizeof(buf) ||
		    recv(rx, buf, sizeof(buf), MSG_WAITALL) != sizeof(buf))
			goto fail;
	asm volatile("xchg %%dx, %%dx" ::: "memory");
	t0 = now();
	asm volatile("xchg %%bx, %%bx" ::: "memory");
	for (i = 0; i < n; i++)
		if (send(tx, buf, sizeof(buf), 0) != sizeof(buf) ||
		    recv(rx, buf, sizeof(buf), MSG_WAITALL) != sizeof(buf))
			goto fail;
	asm volatile("xchg %%cx, %%cx" ::: "memory");
	t1 = now();
	printf("loopflood proto=%s messages=%ld ns_per_message=%.0f\n",
	       argv[1], n, (t1 - t0) * 1e9 / n);
	return 0;
fail:
	perror("loopflood");
	return 1;
}
