/*
 * submit.c: run the local sendmail(8) command to send a message.
 *
 * The milter calls this from a libmilter worker thread, in the middle of
 * an SMTP transaction, so it must be thread-safe and bounded in time.
 * posix_spawn(3) starts the command without a fork of the whole daemon's
 * state; the message goes in through a socket pair rather than a pipe, so
 * that a command that dies early gives EPIPE from send(MSG_NOSIGNAL)
 * instead of a SIGPIPE for the daemon.  Its stderr is read while it runs
 * (a command blocked on a full stderr would otherwise never finish), and
 * the start of it lands in the error text for the log.
 */
#include <config.h>

#include <sys/types.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "submit.h"

#define ERR_KEEP	200	/* bytes of the command's stderr kept */

struct child {
	pid_t	 pid;
	int	 in;		/* our end of its stdin */
	int	 err;		/* our end of its stdout and stderr */
	char	 errbuf[ERR_KEEP + 1];
	size_t	 errlen;
};

static int64_t
mono_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int
left_ms(int64_t deadline)
{
	int64_t	left = deadline - mono_ms();

	if (left <= 0)
		return 0;
	return left > 1000 ? 1000 : (int)left;
}

/*
 * Read what the command wrote; keep the start.  1 when something was
 * read, 0 when nothing is there yet, -1 once it is at EOF.
 */
static int
drain_err(struct child *c)
{
	char	buf[512];
	ssize_t	r;
	size_t	n;

	r = recv(c->err, buf, sizeof(buf), MSG_DONTWAIT);
	if (r == 0 || (r == -1 && errno != EAGAIN && errno != EINTR))
		return -1;
	if (r > 0 && c->errlen < ERR_KEEP) {
		n = (size_t)r < ERR_KEEP - c->errlen ? (size_t)r :
		    ERR_KEEP - c->errlen;
		memcpy(c->errbuf + c->errlen, buf, n);
		c->errlen += n;
		c->errbuf[c->errlen] = '\0';
	}
	return r > 0 ? 1 : 0;
}

static int
spawn(struct child *c, const char *path, const char *rcpt, char *why,
    size_t whysz)
{
	posix_spawn_file_actions_t	 fa;
	char				*argv[7], *envp[2];
	int				 in[2], err[2], rc;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, in) == -1) {
		(void)snprintf(why, whysz, "socketpair: %s", strerror(errno));
		return -1;
	}
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, err) == -1) {
		(void)snprintf(why, whysz, "socketpair: %s", strerror(errno));
		(void)close(in[0]);
		(void)close(in[1]);
		return -1;
	}
	argv[0] = (char *)path;
	argv[1] = (char *)"-f";
	argv[2] = (char *)"<>";
	argv[3] = (char *)"-oi";
	argv[4] = (char *)"--";		/* a sender may start with '-' */
	argv[5] = (char *)rcpt;
	argv[6] = NULL;
	envp[0] = (char *)"PATH=/usr/sbin:/usr/bin:/sbin:/bin";
	envp[1] = NULL;
	rc = posix_spawn_file_actions_init(&fa);
	if (rc == 0)
		rc = posix_spawn_file_actions_adddup2(&fa, in[1], 0);
	if (rc == 0)
		rc = posix_spawn_file_actions_adddup2(&fa, err[1], 1);
	if (rc == 0)
		rc = posix_spawn_file_actions_adddup2(&fa, err[1], 2);
#if defined(__GLIBC__) && (__GLIBC__ > 2 || __GLIBC_MINOR__ >= 34)
	/* Sockets of libmilter and the store are none of its business. */
	if (rc == 0)
		rc = posix_spawn_file_actions_addclosefrom_np(&fa, 3);
#endif
	if (rc == 0)
		rc = posix_spawn(&c->pid, path, &fa, NULL, argv, envp);
	(void)posix_spawn_file_actions_destroy(&fa);
	(void)close(in[1]);
	(void)close(err[1]);
	c->in = in[0];
	c->err = err[0];
	if (rc != 0) {
		(void)snprintf(why, whysz, "cannot run %s: %s", path,
		    strerror(rc));
		(void)close(c->in);
		(void)close(c->err);
		return -1;
	}
	return 0;
}

/* Feed the text; 0, or -1 with why (the command is still to be reaped). */
static int
feed(struct child *c, const char *text, size_t len, int64_t deadline,
    char *why, size_t whysz)
{
	struct pollfd	pfd[2];
	size_t		off = 0;
	ssize_t		w;
	int		err_open = 1;

	while (off < len) {
		if (mono_ms() >= deadline) {
			(void)snprintf(why, whysz, "timed out writing");
			return -1;
		}
		pfd[0].fd = c->in;
		pfd[0].events = POLLOUT;
		pfd[1].fd = err_open ? c->err : -1;
		pfd[1].events = POLLIN;
		pfd[0].revents = pfd[1].revents = 0;
		if (poll(pfd, 2, left_ms(deadline)) == -1 && errno != EINTR) {
			(void)snprintf(why, whysz, "poll: %s", strerror(errno));
			return -1;
		}
		if (pfd[1].revents != 0 && drain_err(c) == -1)
			err_open = 0;
		if (pfd[0].revents == 0)
			continue;
		w = send(c->in, text + off, len - off,
		    MSG_NOSIGNAL | MSG_DONTWAIT);
		if (w == -1 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (w == -1) {
			(void)snprintf(why, whysz, "writing: %s",
			    strerror(errno));
			return -1;
		}
		off += (size_t)w;
	}
	return 0;
}

/* Wait for the exit; kill the command at the deadline. */
static int
reap(struct child *c, int64_t deadline, int *status)
{
	struct pollfd	pfd;
	pid_t		r;
	int		err_open = 1;

	for (;;) {
		r = waitpid(c->pid, status, WNOHANG);
		if (r == c->pid)
			return 0;
		if (r == -1 && errno != EINTR)
			return -1;
		if (mono_ms() >= deadline) {
			(void)kill(c->pid, SIGKILL);
			while (waitpid(c->pid, status, 0) == -1 &&
			    errno == EINTR)
				;
			return -2;
		}
		pfd.fd = err_open ? c->err : -1;
		pfd.events = POLLIN;
		pfd.revents = 0;
		/* Short sleeps: the exit itself gives no fd event. */
		(void)poll(&pfd, 1, left_ms(deadline) < 20 ?
		    left_ms(deadline) : 20);
		if (pfd.revents != 0 && drain_err(c) == -1)
			err_open = 0;
	}
}

/* The first line of the command's output, for the log. */
static const char *
first_line(struct child *c)
{
	size_t	i;

	for (i = 0; i < c->errlen; i++)
		if (c->errbuf[i] == '\n' || c->errbuf[i] == '\r') {
			c->errbuf[i] = '\0';
			break;
		}
	return c->errbuf;
}

int
submit_message(const char *path, const char *rcpt, const char *text,
    size_t len, long timeout_ms, char *why, size_t whysz)
{
	struct child	c;
	int64_t		deadline = mono_ms() + timeout_ms;
	int		status = 0, rc, rc2;

	memset(&c, 0, sizeof(c));
	if (spawn(&c, path, rcpt, why, whysz) == -1)
		return -1;
	rc = feed(&c, text, len, deadline, why, whysz);
	(void)close(c.in);	/* EOF: the message is complete */
	rc2 = reap(&c, deadline, &status);
	/* It has exited: what it wrote last is still in the socket. */
	while (drain_err(&c) == 1)
		;
	switch (rc2) {
	case -1:
		(void)snprintf(why, whysz, "waitpid: %s", strerror(errno));
		rc = -1;
		break;
	case -2:
		(void)snprintf(why, whysz, "%s did not finish in %ld ms; "
		    "killed", path, timeout_ms);
		rc = -1;
		break;
	default:
		/*
		 * A command that failed early also breaks our write; its
		 * own word says more than EPIPE does.
		 */
		if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
			break;
		rc = -1;
		if (WIFEXITED(status))
			(void)snprintf(why, whysz, "%s exited with status %d%s%s",
			    path, WEXITSTATUS(status), c.errlen ? ": " : "",
			    first_line(&c));
		else
			(void)snprintf(why, whysz, "%s died of signal %d", path,
			    WIFSIGNALED(status) ? WTERMSIG(status) : 0);
		break;
	}
	(void)close(c.err);
	return rc;
}
