// SPDX-License-Identifier: GPL-2.0
/*
 * Calls the kernel functions pcbgroup probes, as fast as one process can,
 * from several processes, for a number of seconds: the load for
 * tests/reload.sh, which loads and unloads a module under it.
 *
 *   hammer SECONDS [WORKERS]
 *
 * Each worker makes, binds, connects, disconnects and closes UDP, raw
 * GRE and TCP sockets of both families on loopback; at the end, or on
 * SIGTERM, it prints its count ("worker N: M sockets").
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* Lock-free, so a signal handler may store to it (C11 7.14.1.1). */
static atomic_int stop;

static void on_term(int sig)
{
	stop = 1;
}

static void one(int fam, int type, int proto, int listen_too)
{
	struct sockaddr_storage ss = { 0 };
	struct sockaddr_in *a4 = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&ss;
	struct sockaddr un = { .sa_family = AF_UNSPEC };
	socklen_t len;
	int s = socket(fam, type, proto);

	if (s < 0)
		return;
	if (fam == AF_INET) {
		a4->sin_family = AF_INET;
		a4->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		len = sizeof(*a4);
	} else {
		a6->sin6_family = AF_INET6;
		a6->sin6_addr = in6addr_loopback;
		len = sizeof(*a6);
	}
	if (bind(s, (struct sockaddr *)&ss, len) == 0 && listen_too) {
		listen(s, 1);
	} else {
		if (fam == AF_INET)
			a4->sin_port = htons(9);
		else
			a6->sin6_port = htons(9);
		connect(s, (struct sockaddr *)&ss, len);
		connect(s, &un, sizeof(un));
	}
	close(s);
}

static void work(int id, time_t end)
{
	unsigned long n = 0;

	while (!stop && time(NULL) < end) {
		int fam = (n & 1) ? AF_INET6 : AF_INET;

		switch ((id + n) % 3) {
		case 0:
			one(fam, SOCK_DGRAM, 0, 0);
			break;
		case 1:
			one(fam, SOCK_RAW, IPPROTO_GRE, 0);
			break;
		default:
			one(fam, SOCK_STREAM, 0, 1);
			break;
		}
		n++;
	}
	printf("worker %d: %lu sockets\n", id, n);
	fflush(stdout);
	exit(0);
}

int main(int argc, char **argv)
{
	int secs = argc > 1 ? atoi(argv[1]) : 10;
	int workers = argc > 2 ? atoi(argv[2]) : 4;
	time_t end = time(NULL) + secs;
	struct sigaction sa = { .sa_handler = on_term };
	int i, n, st, bad = 0;

	if (secs <= 0 || workers <= 0 || workers > 64) {
		fprintf(stderr, "usage: hammer SECONDS [WORKERS]\n");
		return 2;
	}
	sigaction(SIGTERM, &sa, NULL);	/* inherited: each worker counts */
	setvbuf(stdout, NULL, _IOLBF, 0);
	for (i = 0; i < workers; i++)
		if (fork() == 0)
			work(i, end);
	/* Every worker reaped before the parent exits, SIGTERM or not. */
	for (n = 0; n < workers;) {
		if (wait(&st) < 0) {
			if (errno == EINTR)
				continue;
			bad = 1;
			break;
		}
		n++;
		if (!WIFEXITED(st) || WEXITSTATUS(st))
			bad = 1;
	}
	return bad;
}
