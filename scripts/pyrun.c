// SPDX-License-Identifier: GPL-2.0
/*
 * python3 for the system tests in the guest (scripts/guest-tests puts it
 * first in PATH): hands "python3 [-u] SCRIPT|-c CODE [ARG...]" to the fork
 * server scripts/pyserver.py, a Python with the standard library and
 * tests/lib/common.py loaded. Under TCG a Python start costs 0.4-0.9 s
 * and the test programs start a few hundred times; a fork costs 15 ms.
 *
 * The server's child takes this process's descriptors 0-2, working
 * directory, network and mount namespaces, environment, ignored and
 * blocked signals, and is waited for here: signals sent to this process
 * go on to it, and this process ends as it ends. The server refuses
 * every other context (user, groups, capabilities, cgroup, other
 * namespaces, limits, CPU set, nice, scheduling: a prisoner, say) and this
 * front-end any other option; either way /usr/bin/python3 runs as before.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#define PYTHON "/usr/bin/python3"
#define NFDS 6

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* Set before the handlers that read it are installed. */
static pid_t child;

static void python(char **argv)
{
	argv[0] = PYTHON;
	execv(PYTHON, argv);
	perror(PYTHON);
	_exit(127);
}

static void forward(int sig)
{
	if (child > 0)
		kill(child, sig);
}

/* put: appends a string and its NUL to the request. */
static int put(char **buf, size_t *len, size_t *cap, const char *s)
{
	size_t n = strlen(s) + 1;

	while (*len + n > *cap) {
		char *b = realloc(*buf, *cap * 2);

		if (!b)
			return -1;
		*buf = b;
		*cap *= 2;
	}
	memcpy(*buf + *len, s, n);
	*len += n;
	return 0;
}

/* request: argv, environment and signal masks, as NUL-ended strings. */
static char *request(int argc, char **argv, size_t *len)
{
	size_t cap = 4096;
	char *buf = malloc(cap), num[64];
	unsigned long long ign = 0, blk = 0;
	struct sigaction sa;
	sigset_t set;
	int i, sig, envc = 0;

	if (!buf)
		return NULL;
	*len = 0;
	sigprocmask(SIG_BLOCK, NULL, &set);
	for (sig = 1; sig < 64; sig++) {
		if (sigaction(sig, NULL, &sa) == 0 && sa.sa_handler == SIG_IGN)
			ign |= 1ULL << sig;
		if (sigismember(&set, sig) == 1)
			blk |= 1ULL << sig;
	}
	while (environ[envc])
		envc++;
	snprintf(num, sizeof(num), "%d %d %llx %llx", argc, envc, ign, blk);
	if (put(&buf, len, &cap, num))
		return NULL;
	for (i = 0; i < argc; i++)
		if (put(&buf, len, &cap, argv[i]))
			return NULL;
	for (i = 0; i < envc; i++)
		if (put(&buf, len, &cap, environ[i]))
			return NULL;
	return buf;
}

/* hand: sends the request and descriptors; 0 when the server took it. */
static int hand(int s, int argc, char **argv)
{
	static const char *const ns[] = { "/proc/self/ns/net", "/proc/self/ns/mnt" };
	int fds[NFDS], i, n = 0, ret = -1;
	char cbuf[CMSG_SPACE(sizeof(fds))];
	struct msghdr msg = { 0 };
	struct cmsghdr *cm;
	struct iovec iov;
	uint32_t size;
	size_t len;
	char *req;

	req = request(argc, argv, &len);
	if (!req)
		return -1;
	for (i = 0; i < 3; i++)
		if (fcntl(i, F_GETFD) < 0)
			goto out;
	fds[n++] = 0;
	fds[n++] = 1;
	fds[n++] = 2;
	fds[n] = open(".", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fds[n++] < 0)
		goto out;
	for (i = 0; i < 2; i++) {
		fds[n] = open(ns[i], O_RDONLY | O_CLOEXEC);
		if (fds[n++] < 0)
			goto out;
	}
	size = len;
	iov.iov_base = &size;
	iov.iov_len = sizeof(size);
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	msg.msg_control = cbuf;
	msg.msg_controllen = sizeof(cbuf);
	cm = CMSG_FIRSTHDR(&msg);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(fds));
	memcpy(CMSG_DATA(cm), fds, sizeof(fds));
	if (sendmsg(s, &msg, 0) != sizeof(size) ||
	    write(s, req, len) != (ssize_t)len)
		goto out;
	ret = 0;
out:
	while (n > 3)
		close(fds[--n]);
	free(req);
	return ret;
}

/* get: reads one 32-bit answer; -1 at the end of the connection. */
static int get(int s, int32_t *v)
{
	size_t got = 0;
	ssize_t r;

	while (got < sizeof(*v)) {
		r = read(s, (char *)v + got, sizeof(*v) - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		got += r;
	}
	return 0;
}

int main(int argc, char **argv)
{
	static const int sigs[] = { SIGHUP, SIGINT, SIGQUIT, SIGTERM,
				    SIGUSR1, SIGUSR2, SIGALRM };
	const char *path = getenv("PCBG_PYSERVER");
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct sigaction sa = { .sa_handler = forward, .sa_flags = SA_RESTART };
	int i = 1, s;
	int32_t v;

	if (i < argc && !strcmp(argv[i], "-u"))
		i++;
	if (i >= argc || (argv[i][0] == '-' && strcmp(argv[i], "-c")) ||
	    (!strcmp(argv[i], "-c") && i + 1 >= argc))
		python(argv);
	/* Not a socket more for anyone else (a prisoner's are counted). */
	if (!path || strlen(path) >= sizeof(sun.sun_path) || geteuid())
		python(argv);
	strcpy(sun.sun_path, path);
	s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s < 0 || connect(s, (struct sockaddr *)&sun, sizeof(sun)) ||
	    hand(s, argc, argv) || get(s, &v) || v <= 0) {
		if (s >= 0)
			close(s);
		python(argv);
	}
	/* From here the program runs: only the ignored signals stay so. */
	child = v;
	for (i = 0; i < (int)ARRAY_SIZE(sigs); i++) {
		struct sigaction old;

		if (sigaction(sigs[i], NULL, &old) == 0 && old.sa_handler != SIG_IGN)
			sigaction(sigs[i], &sa, NULL);
	}
	if (get(s, &v)) {
		fprintf(stderr, "python3: the fork server went away\n");
		return 1;
	}
	if (WIFEXITED(v))
		return WEXITSTATUS(v);
	if (WIFSIGNALED(v)) {
		sigset_t set;

		signal(WTERMSIG(v), SIG_DFL);
		sigemptyset(&set);
		sigaddset(&set, WTERMSIG(v));
		sigprocmask(SIG_UNBLOCK, &set, NULL);
		raise(WTERMSIG(v));
		return 128 + WTERMSIG(v);
	}
	return 1;
}
