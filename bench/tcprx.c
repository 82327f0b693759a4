// SPDX-License-Identifier: GPL-2.0
/*
 * End-to-end TCP receive over many established flows (scripts/bench):
 *
 *   tcprx server PORT FILE       listen, read every connection, and when
 *                                all have closed write "bytes secs" to FILE
 *   tcprx client ADDR PORT CONNS SECONDS
 *                                open CONNS connections, then for SECONDS
 *                                write 64-byte messages to them in turn
 *                                (TCP_NODELAY: one segment each)
 *
 *   tcprx count ADDR PORT CONNS ROUNDS
 *                                the same connections, one round of
 *                                messages to warm up, then ROUNDS rounds
 *                                inside the cache model's window 0
 *
 * The server's byte rate is the figure: every segment is looked up by the
 * receiving stack, by the kernel's early demux or by pcbgroup's groups.
 * For "count" the caller pins client and server to one CPU, where veth
 * runs the receive in the sender's softirq: the window then holds the
 * send, the receive, the server's reads and the ACKs of every segment.
 * "xchg %dx,%dx" restarts the model's numbering, "xchg %bx,%bx" and
 * "xchg %cx,%cx" open and close window 0 (no-ops without the model).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int server(int port, const char *file)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };
	int ls = socket(AF_INET, SOCK_STREAM, 0), ep = epoll_create1(0), one = 1;
	long long bytes = 0;
	double first = 0, last = 0;
	int open = 0, accepted = 0;
	struct epoll_event ev = { .events = EPOLLIN }, evs[256];
	static char buf[65536];
	FILE *f;

	setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(ls, (struct sockaddr *)&a, sizeof(a)) || listen(ls, 4096)) {
		perror("tcprx: listen");
		return 1;
	}
	ev.data.fd = ls;
	epoll_ctl(ep, EPOLL_CTL_ADD, ls, &ev);
	f = fopen(file, "w");	/* ready: the client may start */
	fclose(f);
	for (;;) {
		int n = epoll_wait(ep, evs, 256, 60000), i;

		if (n <= 0)
			break;
		for (i = 0; i < n; i++) {
			int fd = evs[i].data.fd;
			ssize_t r;

			if (fd == ls) {
				int c = accept4(ls, NULL, NULL, SOCK_NONBLOCK);

				if (c < 0)
					continue;
				ev.data.fd = c;
				epoll_ctl(ep, EPOLL_CTL_ADD, c, &ev);
				open++;
				accepted++;
				continue;
			}
			r = read(fd, buf, sizeof(buf));
			if (r > 0) {
				if (!bytes)
					first = now();
				bytes += r;
				last = now();
			} else if (r == 0 || errno != EAGAIN) {
				close(fd);
				open--;
			}
		}
		if (accepted && !open)
			break;
	}
	f = fopen(file, "w");
	fprintf(f, "%lld %.6f\n", bytes, last - first);
	fclose(f);
	return 0;
}

static int *connect_all(const char *addr, int port, int conns)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };
	int *fd = calloc(conns, sizeof(*fd)), i, one = 1;

	inet_pton(AF_INET, addr, &a.sin_addr);
	for (i = 0; i < conns; i++) {
		fd[i] = socket(AF_INET, SOCK_STREAM, 0);
		setsockopt(fd[i], IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		if (connect(fd[i], (struct sockaddr *)&a, sizeof(a))) {
			perror("tcprx: connect");
			return NULL;
		}
		fcntl(fd[i], F_SETFL, O_NONBLOCK);
	}
	return fd;
}

/* One message to each connection in turn: the bytes written. */
static long long round_robin(const int *fd, int conns)
{
	static const char msg[64] = "tcprx";
	long long sent = 0;
	int i;

	for (i = 0; i < conns; i++)
		if (write(fd[i], msg, sizeof(msg)) > 0)
			sent += sizeof(msg);
	return sent;
}

static void close_all(int *fd, int conns)
{
	int i;

	for (i = 0; i < conns; i++)
		close(fd[i]);
	free(fd);
}

static int client(const char *addr, int port, int conns, double secs)
{
	int *fd = connect_all(addr, port, conns);
	long long sent = 0;
	double end;

	if (!fd)
		return 1;
	end = now() + secs;
	while (now() < end)
		sent += round_robin(fd, conns);
	close_all(fd, conns);
	printf("%lld\n", sent);
	return 0;
}

static int count(const char *addr, int port, int conns, int rounds)
{
	int *fd = connect_all(addr, port, conns), r;
	long long sent = 0;

	if (!fd)
		return 1;
	round_robin(fd, conns);		/* routes, caches, translations */
	usleep(200000);
	asm volatile("xchg %%dx, %%dx" ::: "memory");
	asm volatile("xchg %%bx, %%bx" ::: "memory");
	for (r = 0; r < rounds; r++)
		sent += round_robin(fd, conns);
	asm volatile("xchg %%cx, %%cx" ::: "memory");
	close_all(fd, conns);
	printf("segments=%lld\n", sent / 64);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 4 && !strcmp(argv[1], "server"))
		return server(atoi(argv[2]), argv[3]);
	if (argc == 6 && !strcmp(argv[1], "client"))
		return client(argv[2], atoi(argv[3]), atoi(argv[4]),
			      atof(argv[5]));
	if (argc == 6 && !strcmp(argv[1], "count"))
		return count(argv[2], atoi(argv[3]), atoi(argv[4]),
			     atoi(argv[5]));
	fprintf(stderr, "usage: tcprx server PORT FILE | client ADDR PORT CONNS SECONDS | count ADDR PORT CONNS ROUNDS\n");
	return 2;
}
