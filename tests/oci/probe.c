// SPDX-License-Identifier: GPL-2.0
/*
 * What a container tries, for tests/oci.sh: built static into its busybox
 * root. Each attempt prints "NAME ok" or "NAME ERRNO-NAME".
 *
 *   probe bind ADDR                 a TCP socket bound to ADDR
 *   probe connect SRC DST PORT      TCP from SRC to DST:PORT
 *   probe send SRC DST PORT         one UDP datagram from SRC to DST:PORT
 *   probe serve ADDR PORT           a TCP server answering "hello"
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

static struct sockaddr_in addr(const char *a, const char *port)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };

	if (inet_pton(AF_INET, a, &sin.sin_addr) != 1) {
		fprintf(stderr, "probe: bad address %s\n", a);
		exit(2);
	}
	sin.sin_port = htons(port ? atoi(port) : 0);
	return sin;
}

static int say(const char *what, int ret)
{
	printf("%s %s\n", what, ret < 0 ? strerrorname_np(errno) : "ok");
	fflush(stdout);
	return ret;
}

static int bound(int type, const char *src)
{
	struct sockaddr_in sin = addr(src, NULL);
	int fd = socket(AF_INET, type, 0);

	if (fd < 0 || bind(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

int main(int argc, char **argv)
{
	struct timeval tv = { .tv_sec = 3 };
	struct sockaddr_in dst;
	int fd, c;

	if (argc == 3 && !strcmp(argv[1], "bind"))
		return say("bind", bound(SOCK_STREAM, argv[2])) < 0;
	if (argc == 5 && !strcmp(argv[1], "connect")) {
		dst = addr(argv[3], argv[4]);
		fd = bound(SOCK_STREAM, argv[2]);
		if (fd >= 0) {
			setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
			if (connect(fd, (struct sockaddr *)&dst, sizeof(dst)) < 0)
				fd = -1;
		}
		return say("connect", fd) < 0;
	}
	if (argc == 5 && !strcmp(argv[1], "send")) {
		dst = addr(argv[3], argv[4]);
		fd = bound(SOCK_DGRAM, argv[2]);
		if (fd >= 0 && sendto(fd, "x", 1, 0, (struct sockaddr *)&dst,
				      sizeof(dst)) < 0)
			fd = -1;
		return say("send", fd) < 0;
	}
	if (argc == 4 && !strcmp(argv[1], "serve")) {
		dst = addr(argv[2], argv[3]);
		fd = socket(AF_INET, SOCK_STREAM, 0);
		c = 1;
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &c, sizeof(c));
		if (say("serve", fd < 0 ||
			bind(fd, (struct sockaddr *)&dst, sizeof(dst)) < 0 ||
			listen(fd, 16) < 0 ? -1 : 0) < 0)
			return 1;
		for (;;) {
			c = accept(fd, NULL, NULL);
			if (c < 0)
				continue;
			if (write(c, "hello\n", 6) < 0)
				perror("probe: write");
			close(c);
		}
	}
	fprintf(stderr, "usage: probe bind|connect|send|serve ...\n");
	return 2;
}
