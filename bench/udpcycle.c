// SPDX-License-Identifier: GPL-2.0
/*
 * A UDP socket's life, as a resolver's query makes it (scripts/pc-profile,
 * PC_MODE=udp):
 *
 *   udpcycle sink PORT READY           bind PORT, create READY, read forever
 *   udpcycle client ADDR PORT N        N times: socket, connect(ADDR:PORT)
 *                                      (which binds a port), send 16 bytes,
 *                                      close; after 50 of warm-up
 *
 * The client restarts the cache model's window numbering ("xchg %dx,%dx")
 * and opens window 0 ("xchg %bx,%bx") after the warm-up, and closes it
 * ("xchg %cx,%cx") after the last cycle: no-ops without the model.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define WARMUP	50

static int sink(int port, const char *ready)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };
	int s = socket(AF_INET, SOCK_DGRAM, 0);
	char buf[64];
	FILE *f;

	if (bind(s, (struct sockaddr *)&a, sizeof(a))) {
		perror("udpcycle: bind");
		return 1;
	}
	f = fopen(ready, "w");
	if (f)
		fclose(f);
	for (;;)
		recv(s, buf, sizeof(buf), 0);
}

static int client(const char *addr, int port, int n)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };
	static const char msg[16] = "udpcycle";
	int i;

	inet_pton(AF_INET, addr, &a.sin_addr);
	for (i = 0; i < n + WARMUP; i++) {
		int s;

		if (i == WARMUP) {
			asm volatile("xchg %%dx, %%dx" ::: "memory");
			asm volatile("xchg %%bx, %%bx" ::: "memory");
		}
		s = socket(AF_INET, SOCK_DGRAM, 0);
		if (connect(s, (struct sockaddr *)&a, sizeof(a)) ||
		    send(s, msg, sizeof(msg), 0) != sizeof(msg)) {
			perror("udpcycle");
			return 1;
		}
		close(s);
	}
	asm volatile("xchg %%cx, %%cx" ::: "memory");
	printf("cycles=%d\n", n);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 4 && !strcmp(argv[1], "sink"))
		return sink(atoi(argv[2]), argv[3]);
	if (argc == 5 && !strcmp(argv[1], "client"))
		return client(argv[2], atoi(argv[3]), atoi(argv[4]));
	fprintf(stderr, "usage: udpcycle sink PORT READY | client ADDR PORT N\n");
	return 2;
}
