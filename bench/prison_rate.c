// SPDX-License-Identifier: GPL-2.0
/*
 * The cost of the prison checks, as connect+bind+close per second:
 *
 *   prison_rate server PORT              accept and close, forever
 *   prison_rate client LOCAL PEER PORT N socket, bind(LOCAL:0),
 *                                        connect(PEER:PORT), wait for
 *                                        the server's close, close; N times
 *
 * The client prints "rate=R" (cycles per second). The server closes
 * first, so the client's ports do not pile up in TIME_WAIT.
 *
 * For the cache model (bench/cachesim, section "cyclecount"), the client
 * restarts its window numbering ("xchg %dx,%dx") and opens window 0
 * ("xchg %bx,%bx") before its first cycle, and closes it ("xchg %cx,%cx")
 * after its last: no-ops without the model.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static int server(int port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };
	int one = 1, s = socket(AF_INET, SOCK_STREAM, 0);

	setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(s, (struct sockaddr *)&a, sizeof(a)) || listen(s, 1024)) {
		perror("server");
		return 1;
	}
	for (;;) {
		int c = accept(s, NULL, NULL);

		if (c >= 0)
			close(c);
	}
}

static double now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec / 1e9;
}

static int client(const char *local, const char *peer, int port, int n)
{
	struct sockaddr_in l = { .sin_family = AF_INET };
	struct sockaddr_in p = { .sin_family = AF_INET, .sin_port = htons(port) };
	double t0;
	char b;
	int i;

	inet_pton(AF_INET, local, &l.sin_addr);
	inet_pton(AF_INET, peer, &p.sin_addr);
	asm volatile("xchg %%dx, %%dx" ::: "memory");
	asm volatile("xchg %%bx, %%bx" ::: "memory");
	t0 = now();
	for (i = 0; i < n; i++) {
		int s = socket(AF_INET, SOCK_STREAM, 0);

		if (s < 0 || bind(s, (struct sockaddr *)&l, sizeof(l)) ||
		    connect(s, (struct sockaddr *)&p, sizeof(p))) {
			perror("client");
			return 1;
		}
		if (read(s, &b, 1) != 0) {
			fprintf(stderr, "%s: no close\n", __func__);
			return 1;
		}
		close(s);
	}
	t0 = now() - t0;
	asm volatile("xchg %%cx, %%cx" ::: "memory");
	printf("rate=%.1f\n", n / t0);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 3 && argv[1][0] == 's')
		return server(atoi(argv[2]));
	if (argc == 6 && argv[1][0] == 'c')
		return client(argv[2], argv[3], atoi(argv[4]), atoi(argv[5]));
	fprintf(stderr, "usage: prison_rate server PORT | client LOCAL PEER PORT N\n");
	return 2;
}
