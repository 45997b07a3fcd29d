/*
 * probe.c: the non-blocking MX STARTTLS probe of probe.h.
 *
 * Each probe is a small state machine over one socket:
 *
 *   CONNECT -> GREETING -> EHLO -> STARTTLS -> HANDSHAKE -> decided
 *
 * Once the outcome is known the probe is "decided": its result waits for
 * delivery from mtasts_prober_process, and the connection, if it is still
 * in step with the server, says QUIT (in plain text or under TLS) in the
 * QUIT state until the reply, end of file or a short grace period.
 *
 * curl_multi_poll reports only POLLIN, POLLOUT and POLLPRI for extra fds:
 * POLLERR and POLLHUP are dropped.  A connection that fails or is reset
 * still turns readable (its receive side is shut), so POLLIN is asked for
 * whenever a reset must be noticed: while connecting and while reading.
 */
#include <config.h>

#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/types.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "domain.h"
#include "probe.h"
#include "smtpreply.h"

#define IN_MAX		16384	/* octets of one reply */
#define OUT_MAX		300	/* "EHLO " + name + CRLF fits */

enum state {
	S_QUEUED,
	S_CONNECT,
	S_GREETING,
	S_EHLO,
	S_STARTTLS,
	S_HANDSHAKE,
	S_QUIT,
	S_CLOSED
};

struct probe {
	TAILQ_ENTRY(probe)	 entry;
	struct mtasts_prober	*pr;
	unsigned int		 id;
	enum state		 state;
	int			 fd;
	short			 want;		/* CURL_WAIT_* */
	short			 revents;
	int			 decided;	/* res is final */
	int			 reported;	/* callback ran or cancelled */
	int64_t			 start_ms;
	int64_t			 deadline_ms;
	struct sockaddr_storage	 sa;
	socklen_t		 salen;
	SSL			*ssl;
	char			 out[OUT_MAX];
	size_t			 outlen, outoff;
	char			 in[IN_MAX];
	size_t			 inlen;
	struct mtasts_smtp_reply reply;
	mtasts_probe_cb		*cb;
	void			*arg;
	struct mtasts_probe_result res;
};

TAILQ_HEAD(probe_list, probe);

struct mtasts_prober {
	SSL_CTX			*ctx;
	BIO_METHOD		*biom;
	char			 helo[256];
	long			 timeout_ms;
	int			 port;
	size_t			 max_running;
	unsigned int		 next_id;
	struct probe_list	 queued;
	struct probe_list	 active;	/* open, or result due */
};

static void	step(struct probe *);

/* ------------------------------------------------------------ helpers */

static int64_t
now_ms(void)
{
	struct timespec	ts;

	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Copy printable ASCII only: server text ends up in logs and reports. */
static void
clean_copy(char *dst, size_t dstsz, const char *src, size_t n)
{
	size_t	i;

	if (dstsz == 0)
		return;
	if (n > dstsz - 1)
		n = dstsz - 1;
	for (i = 0; i < n; i++)
		dst[i] = (src[i] >= 0x20 && src[i] < 0x7f) ? src[i] : '?';
	dst[n] = '\0';
}

static const char *const class_names[] = {
	"ok",
	"starttls-not-supported",
	"certificate-host-mismatch",
	"certificate-expired",
	"certificate-not-trusted",
	"validation-failure",
	"connect",
	"timeout",
	"protocol",
	"internal"
};

const char *
mtasts_probe_class_str(enum mtasts_probe_class c)
{
	if ((size_t)c >= sizeof(class_names) / sizeof(class_names[0]))
		return "internal";
	return class_names[c];
}

/* ------------------------------------------------------------ socket BIO */

/*
 * OpenSSL's socket BIO writes with write(2), which raises SIGPIPE when the
 * server has gone; the engine lives in daemons that may not ignore that
 * signal, so TLS records go through send(2) with MSG_NOSIGNAL here.
 */
static int
bio_sock_write(BIO *b, const char *buf, int len)
{
	int	fd = (int)(intptr_t)BIO_get_data(b);
	ssize_t	n;

	BIO_clear_retry_flags(b);
	n = send(fd, buf, (size_t)len, MSG_NOSIGNAL);
	if (n < 0) {
		if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
			BIO_set_retry_write(b);
		return -1;
	}
	return (int)n;
}

static int
bio_sock_read(BIO *b, char *buf, int len)
{
	int	fd = (int)(intptr_t)BIO_get_data(b);
	ssize_t	n;

	BIO_clear_retry_flags(b);
	n = recv(fd, buf, (size_t)len, 0);
	if (n < 0) {
		if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
			BIO_set_retry_read(b);
		return -1;
	}
	return (int)n;
}

static long
bio_sock_ctrl(BIO *b, int cmd, long num, void *ptr)
{
	(void)b;
	(void)num;
	(void)ptr;
	return cmd == BIO_CTRL_FLUSH ? 1 : 0;
}

static int
bio_sock_create(BIO *b)
{
	BIO_set_init(b, 1);
	return 1;
}

static BIO_METHOD *
bio_sock_method(void)
{
	BIO_METHOD	*m;
	int		 idx;

	if ((idx = BIO_get_new_index()) == -1)
		return NULL;
	if ((m = BIO_meth_new(idx | BIO_TYPE_SOURCE_SINK,
	    "mtasts probe socket")) == NULL)
		return NULL;
	if (!BIO_meth_set_write(m, bio_sock_write) ||
	    !BIO_meth_set_read(m, bio_sock_read) ||
	    !BIO_meth_set_ctrl(m, bio_sock_ctrl) ||
	    !BIO_meth_set_create(m, bio_sock_create)) {
		BIO_meth_free(m);
		return NULL;
	}
	return m;
}

/* ------------------------------------------------------------ outcomes */

static void
close_conn(struct probe *p)
{
	if (p->ssl != NULL) {
		SSL_free(p->ssl);
		p->ssl = NULL;
	}
	if (p->fd != -1) {
		(void)close(p->fd);
		p->fd = -1;
	}
	p->want = 0;
	p->state = S_CLOSED;
}

/* Queue "QUIT" and wait a little for its reply; the result is final. */
static void
say_quit(struct probe *p)
{
	memcpy(p->out, "QUIT\r\n", 6);
	p->outlen = 6;
	p->outoff = 0;
	p->inlen = 0;
	memset(&p->reply, 0, sizeof(p->reply));
	p->state = S_QUIT;
	p->deadline_ms = now_ms() + MTASTS_PROBE_QUIT_GRACE;
	/* Every caller is inside step(), which carries on in S_QUIT. */
}

/*
 * The outcome is known.  polite: the dialogue is in step (a complete reply
 * was read, or TLS is up), so QUIT is said before closing; otherwise the
 * connection is dropped at once.
 */
static void __attribute__((format(printf, 4, 5)))
decide(struct probe *p, enum mtasts_probe_class cls, int polite,
    const char *fmt, ...)
{
	va_list	ap;

	if (p->decided)
		return;
	p->decided = 1;
	p->res.cls = cls;
	p->res.elapsed_ms = (long)(now_ms() - p->start_ms);
	va_start(ap, fmt);
	(void)vsnprintf(p->res.detail, sizeof(p->res.detail), fmt, ap);
	va_end(ap);
	if (polite && p->fd != -1)
		say_quit(p);
	else
		close_conn(p);
}

/* ------------------------------------------------------------ I/O */

/* Send what is queued.  1 when all is out, 0 to wait, -1 on error. */
static int
flush_out(struct probe *p)
{
	ssize_t	n;
	int	r;

	while (p->outoff < p->outlen) {
		if (p->ssl != NULL) {
			ERR_clear_error();
			r = SSL_write(p->ssl, p->out + p->outoff,
			    (int)(p->outlen - p->outoff));
			if (r <= 0) {
				r = SSL_get_error(p->ssl, r);
				if (r != SSL_ERROR_WANT_WRITE &&
				    r != SSL_ERROR_WANT_READ)
					return -1;
				p->want = r == SSL_ERROR_WANT_READ ?
				    CURL_WAIT_POLLIN : CURL_WAIT_POLLOUT;
				return 0;
			}
			n = r;
		} else {
			n = send(p->fd, p->out + p->outoff,
			    p->outlen - p->outoff, MSG_NOSIGNAL);
			if (n < 0 && (errno == EAGAIN ||
			    errno == EWOULDBLOCK || errno == EINTR)) {
				p->want = CURL_WAIT_POLLOUT;
				return 0;
			}
			if (n < 0)
				return -1;
		}
		p->outoff += (size_t)n;
	}
	return 1;
}

/*
 * Read what has arrived.  1 when bytes were added, 0 to wait, -1 on end of
 * file or error (errno-like text in why).
 */
static int
fill_in(struct probe *p, char *why, size_t whysz)
{
	size_t	room = sizeof(p->in) - p->inlen;
	ssize_t	n;
	int	r, e;

	if (p->ssl != NULL) {
		ERR_clear_error();
		r = SSL_read(p->ssl, p->in + p->inlen, (int)room);
		if (r > 0) {
			p->inlen += (size_t)r;
			return 1;
		}
		e = SSL_get_error(p->ssl, r);
		if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
			p->want = e == SSL_ERROR_WANT_READ ?
			    CURL_WAIT_POLLIN : CURL_WAIT_POLLOUT;
			return 0;
		}
		(void)snprintf(why, whysz, "%s", e == SSL_ERROR_ZERO_RETURN ||
		    (e == SSL_ERROR_SYSCALL && errno == 0) ?
		    "connection closed by the server" : "TLS read failed");
		return -1;
	}
	n = recv(p->fd, p->in + p->inlen, room, 0);
	if (n > 0) {
		p->inlen += (size_t)n;
		return 1;
	}
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK ||
	    errno == EINTR)) {
		p->want = CURL_WAIT_POLLIN;
		return 0;
	}
	(void)snprintf(why, whysz, "%s", n == 0 ?
	    "connection closed by the server" : strerror(errno));
	return -1;
}

/* What the probe was waiting for, for timeout and error details. */
static const char *
stage(const struct probe *p)
{
	switch (p->state) {
	case S_CONNECT:
		return "connect";
	case S_GREETING:
		return "greeting";
	case S_EHLO:
		return "EHLO reply";
	case S_STARTTLS:
		return "STARTTLS reply";
	case S_HANDSHAKE:
		return "TLS handshake";
	default:
		return "QUIT";
	}
}

/*
 * Flush output, then read until one complete reply is in p->reply.  1 when
 * it is, 0 to wait, -1 when the probe was decided (error).
 */
static int
read_reply(struct probe *p)
{
	enum mtasts_smtp_parse	ps;
	char			why[128];
	int			r;

	if ((r = flush_out(p)) <= 0) {
		if (r < 0)
			decide(p, MTASTS_PROBE_PROTOCOL, 0, "sending before "
			    "the %s: %s", stage(p), strerror(errno));
		return r;
	}
	for (;;) {
		ps = mtasts_smtp_reply_parse(p->in, p->inlen, &p->reply);
		if (ps == MTASTS_SMTP_DONE)
			break;
		if (ps == MTASTS_SMTP_BAD) {
			decide(p, MTASTS_PROBE_PROTOCOL, 0, "malformed %s: %s",
			    stage(p), p->reply.error);
			return -1;
		}
		if (p->inlen == sizeof(p->in)) {
			decide(p, MTASTS_PROBE_PROTOCOL, 0, "%s longer than "
			    "%zu bytes", stage(p), sizeof(p->in));
			return -1;
		}
		if ((r = fill_in(p, why, sizeof(why))) <= 0) {
			if (r < 0)
				decide(p, MTASTS_PROBE_PROTOCOL, 0,
				    "waiting for the %s: %s", stage(p), why);
			return r;
		}
	}
	p->res.smtp_code = p->reply.code;
	/*
	 * Nothing may follow a reply before our next command: no pipelining
	 * is offered to servers here, and bytes queued behind the STARTTLS
	 * reply would otherwise be read as if they came under TLS (the
	 * command injection of CVE-2011-0411, seen from the client).
	 */
	if (p->reply.len != p->inlen) {
		decide(p, MTASTS_PROBE_PROTOCOL, 0, "unexpected data after "
		    "the %s", stage(p));
		return -1;
	}
	return 1;
}

/* Queue an SMTP command and move to the state awaiting its reply. */
static void
send_cmd(struct probe *p, const char *cmd, enum state next)
{
	int	n;

	n = snprintf(p->out, sizeof(p->out), "%s\r\n", cmd);
	p->outlen = (size_t)n;
	p->outoff = 0;
	p->inlen = 0;
	memset(&p->reply, 0, sizeof(p->reply));
	p->state = next;
}

/* ------------------------------------------------------------ TLS */

static void
format_name(char *dst, size_t dstsz, const X509_NAME *name)
{
	BIO	*b;
	char	 tmp[512];
	int	 n;

	dst[0] = '\0';
	if (name == NULL || (b = BIO_new(BIO_s_mem())) == NULL)
		return;
	if (X509_NAME_print_ex(b, name, 0, XN_FLAG_RFC2253) >= 0 &&
	    (n = BIO_read(b, tmp, sizeof(tmp))) > 0)
		clean_copy(dst, dstsz, tmp, (size_t)n);
	BIO_free(b);
}

/* The DNS names of the subjectAltName, comma-separated, cut to fit. */
static void
format_sans(char *dst, size_t dstsz, X509 *cert)
{
	GENERAL_NAMES		*gens;
	const GENERAL_NAME	*g;
	size_t			 len = 0, n;
	int			 i;

	dst[0] = '\0';
	gens = X509_get_ext_d2i(cert, NID_subject_alt_name, NULL, NULL);
	if (gens == NULL)
		return;
	for (i = 0; i < sk_GENERAL_NAME_num(gens); i++) {
		g = sk_GENERAL_NAME_value(gens, i);
		if (g->type != GEN_DNS)
			continue;
		n = (size_t)ASN1_STRING_length(g->d.dNSName);
		if (len + n + 2 > dstsz)
			break;
		if (len > 0)
			dst[len++] = ',';
		clean_copy(dst + len, dstsz - len,
		    (const char *)ASN1_STRING_get0_data(g->d.dNSName), n);
		len += n;
	}
	GENERAL_NAMES_free(gens);
}

static void
cert_details(struct mtasts_probe_result *res, X509 *cert)
{
	struct tm	tm;

	format_sans(res->cert_names, sizeof(res->cert_names), cert);
	format_name(res->cert_subject, sizeof(res->cert_subject),
	    X509_get_subject_name(cert));
	format_name(res->cert_issuer, sizeof(res->cert_issuer),
	    X509_get_issuer_name(cert));
	memset(&tm, 0, sizeof(tm));
	if (ASN1_TIME_to_tm(X509_get0_notAfter(cert), &tm) == 1)
		(void)strftime(res->cert_not_after,
		    sizeof(res->cert_not_after), "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/*
 * RFC 8460 §4.3.2 result type for a chain verification error.  Expired
 * and not-yet-valid count alike (the certificate is outside its validity
 * period); an issuer we cannot find or do not trust is "not trusted";
 * everything else (bad signature, wrong purpose, path length, ...) is the
 * catch-all validation-failure.
 */
static enum mtasts_probe_class
verify_class(long err)
{
	switch (err) {
	case X509_V_ERR_CERT_HAS_EXPIRED:
	case X509_V_ERR_CERT_NOT_YET_VALID:
		return MTASTS_PROBE_EXPIRED;
	case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
	case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
	case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
	case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
	case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
	case X509_V_ERR_CERT_UNTRUSTED:
		return MTASTS_PROBE_NOT_TRUSTED;
	case X509_V_ERR_HOSTNAME_MISMATCH:
		return MTASTS_PROBE_HOST_MISMATCH;
	default:
		return MTASTS_PROBE_VALIDATION_FAILURE;
	}
}

/* 1 when the error queue says the versions could not be agreed on. */
static int
version_refused(unsigned long e)
{
	int	r;

	if (ERR_GET_LIB(e) != ERR_LIB_SSL)
		return 0;
	r = ERR_GET_REASON(e);
	return r == SSL_R_UNSUPPORTED_PROTOCOL ||
	    r == SSL_R_TLSV1_ALERT_PROTOCOL_VERSION ||
	    r == SSL_R_WRONG_SSL_VERSION ||
	    r == SSL_R_NO_PROTOCOLS_AVAILABLE ||
	    r == SSL_R_VERSION_TOO_LOW;
}

/*
 * The handshake failed.  STARTTLS was offered and accepted, so none of the
 * certificate types fits and RFC 8460 has no type for a failed
 * negotiation: validation-failure, its "general failure" (§4.3.2), with the
 * reason in the detail.  That includes a server that only speaks TLS 1.0 or
 * 1.1 (STS-40): RFC 8461 §7.2 makes TLS 1.2 a requirement of the secure
 * channel, so such a server fails validation rather than lacking STARTTLS.
 */
static void
handshake_failed(struct probe *p, int err)
{
	unsigned long	e = ERR_peek_last_error();
	char		buf[160];

	if (e != 0 && version_refused(e))
		decide(p, MTASTS_PROBE_VALIDATION_FAILURE, 0, "TLS version "
		    "below 1.2: the server offers no protocol version we "
		    "accept (%s)", ERR_reason_error_string(e) ?
		    ERR_reason_error_string(e) : "version");
	else if (e != 0) {
		ERR_error_string_n(e, buf, sizeof(buf));
		decide(p, MTASTS_PROBE_VALIDATION_FAILURE, 0, "TLS handshake "
		    "failed: %s", buf);
	} else if (err == SSL_ERROR_SYSCALL || err == SSL_ERROR_ZERO_RETURN)
		decide(p, MTASTS_PROBE_VALIDATION_FAILURE, 0, "TLS handshake "
		    "failed: connection closed by the server%s%s",
		    errno != 0 ? ": " : "", errno != 0 ? strerror(errno) : "");
	else
		decide(p, MTASTS_PROBE_VALIDATION_FAILURE, 0, "TLS handshake "
		    "failed (SSL error %d)", err);
}

/* TLS is up: check version, chain and name (STS-40, STS-48, STS-49). */
static void
tls_check(struct probe *p)
{
	X509	*cert;
	long	 v;

	clean_copy(p->res.tls_version, sizeof(p->res.tls_version),
	    SSL_get_version(p->ssl), strlen(SSL_get_version(p->ssl)));
	clean_copy(p->res.tls_cipher, sizeof(p->res.tls_cipher),
	    SSL_get_cipher_name(p->ssl), strlen(SSL_get_cipher_name(p->ssl)));
	if (SSL_version(p->ssl) < TLS1_2_VERSION) {
		/* The context forbids it; kept in case a build does not. */
		decide(p, MTASTS_PROBE_VALIDATION_FAILURE, 1, "TLS version "
		    "below 1.2: %s", p->res.tls_version);
		return;
	}
#if OPENSSL_VERSION_NUMBER >= 0x30000000L
	cert = SSL_get1_peer_certificate(p->ssl);
#else
	cert = SSL_get_peer_certificate(p->ssl);
#endif
	if (cert == NULL) {
		decide(p, MTASTS_PROBE_VALIDATION_FAILURE, 1, "the server "
		    "sent no certificate");
		return;
	}
	cert_details(&p->res, cert);
	if ((v = SSL_get_verify_result(p->ssl)) != X509_V_OK) {
		p->res.verify_error = v;
		decide(p, verify_class(v), 1, "certificate verification "
		    "failed: %s (X509_V_ERR %ld)",
		    X509_verify_cert_error_string(v), v);
	} else if (X509_check_host(cert, p->res.host, 0,
	    X509_CHECK_FLAG_NEVER_CHECK_SUBJECT |
	    X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS, NULL) != 1) {
		p->res.verify_error = X509_V_ERR_HOSTNAME_MISMATCH;
		decide(p, MTASTS_PROBE_HOST_MISMATCH, 1, "no subjectAltName "
		    "DNS name of the certificate matches %s (names: %s; a "
		    "subject CN is not accepted, RFC 8461 section 4.2)",
		    p->res.host, p->res.cert_names[0] != '\0' ?
		    p->res.cert_names : "none");
	} else
		decide(p, MTASTS_PROBE_OK, 1, "%s", "");
	X509_free(cert);
}

static void
tls_begin(struct probe *p)
{
	BIO	*b;

	if ((p->ssl = SSL_new(p->pr->ctx)) == NULL ||
	    (b = BIO_new(p->pr->biom)) == NULL) {
		decide(p, MTASTS_PROBE_INTERNAL, 0, "cannot set up TLS: out "
		    "of memory");
		return;
	}
	BIO_set_data(b, (void *)(intptr_t)p->fd);
	SSL_set_bio(p->ssl, b, b);
	SSL_set_connect_state(p->ssl);
	/* STS-39: SNI is the MX host name. */
	if (SSL_set_tlsext_host_name(p->ssl, p->res.host) != 1) {
		decide(p, MTASTS_PROBE_INTERNAL, 0, "cannot set SNI %s",
		    p->res.host);
		return;
	}
	p->state = S_HANDSHAKE;
}

static void
step_handshake(struct probe *p)
{
	int	r, e;

	ERR_clear_error();
	errno = 0;
	if ((r = SSL_connect(p->ssl)) == 1) {
		tls_check(p);
		return;
	}
	e = SSL_get_error(p->ssl, r);
	if (e == SSL_ERROR_WANT_READ)
		p->want = CURL_WAIT_POLLIN;
	else if (e == SSL_ERROR_WANT_WRITE)
		p->want = CURL_WAIT_POLLOUT;
	else
		handshake_failed(p, e);
}

/* ------------------------------------------------------------ SMTP */

static void
on_greeting(struct probe *p)
{
	char	cmd[OUT_MAX];

	if (p->reply.code != 220) {
		decide(p, MTASTS_PROBE_PROTOCOL, 1, "greeting %d %s",
		    p->reply.code, p->reply.text);
		return;
	}
	(void)snprintf(cmd, sizeof(cmd), "EHLO %s", p->pr->helo);
	send_cmd(p, cmd, S_EHLO);
}

static void
on_ehlo(struct probe *p)
{
	int	code = p->reply.code;

	/* A server that refuses EHLO for good only speaks plain SMTP. */
	if (code >= 500)
		decide(p, MTASTS_PROBE_STARTTLS_NOT_SUPPORTED, 1, "EHLO "
		    "refused: %d %s", code, p->reply.text);
	else if (code != 250)
		decide(p, MTASTS_PROBE_PROTOCOL, 1, "EHLO answered %d %s",
		    code, p->reply.text);
	else if (!p->reply.starttls)
		decide(p, MTASTS_PROBE_STARTTLS_NOT_SUPPORTED, 1, "STARTTLS "
		    "not offered in the EHLO reply");
	else
		send_cmd(p, "STARTTLS", S_STARTTLS);
}

static void
on_starttls(struct probe *p)
{
	/*
	 * 454 (TLS not available for now) and 5xx alike leave the MX
	 * without TLS for this delivery: RFC 8460's starttls-not-supported.
	 */
	if (p->reply.code != 220)
		decide(p, MTASTS_PROBE_STARTTLS_NOT_SUPPORTED, 1, "STARTTLS "
		    "answered %d %s", p->reply.code, p->reply.text);
	else
		tls_begin(p);
}

static void
step_connect(struct probe *p)
{
	int		err = 0;
	socklen_t	len = sizeof(err);

	if (getsockopt(p->fd, SOL_SOCKET, SO_ERROR, &err, &len) == -1)
		err = errno;
	if (err != 0) {
		decide(p, MTASTS_PROBE_CONNECT, 0, "connect: %s",
		    strerror(err));
		return;
	}
	p->state = S_GREETING;
	p->inlen = 0;
	memset(&p->reply, 0, sizeof(p->reply));
}

/*
 * Advance as far as the socket allows.  Each pass of the loop handles one
 * state; it ends when the probe must wait (want set) or is closed.
 */
static void
step(struct probe *p)
{
	enum state	before;
	char		why[128];
	short		ev = p->revents;
	int		r;

	p->revents = 0;
	do {
		before = p->state;
		switch (p->state) {
		case S_CONNECT:
			if (ev == 0)
				return;
			step_connect(p);
			break;
		case S_GREETING:
		case S_EHLO:
		case S_STARTTLS:
			if ((r = read_reply(p)) <= 0)
				return;
			if (p->state == S_GREETING)
				on_greeting(p);
			else if (p->state == S_EHLO)
				on_ehlo(p);
			else
				on_starttls(p);
			break;
		case S_HANDSHAKE:
			step_handshake(p);
			break;
		case S_QUIT:
			if ((r = flush_out(p)) == 0)
				return;
			while (r > 0 && mtasts_smtp_reply_parse(p->in, p->inlen,
			    &p->reply) == MTASTS_SMTP_MORE &&
			    p->inlen < sizeof(p->in))
				r = fill_in(p, why, sizeof(why));
			if (r == 0)
				return;
			close_conn(p);	/* reply, end of file or error */
			break;
		default:
			return;
		}
		ev = 0;
	} while (p->state != before);
}

/* ------------------------------------------------------------ prober */

struct mtasts_prober *
mtasts_prober_new(const struct mtasts_probe_conf *conf,
    struct mtasts_diag *diag)
{
	struct mtasts_probe_conf	 def;
	struct mtasts_prober		*pr;
	const char			*name;
	char				 host[256];
	size_t				 i;
	int				 ok;

	if (conf == NULL) {
		memset(&def, 0, sizeof(def));
		conf = &def;
	}
	name = conf->helo_name;
	if (name == NULL || *name == '\0') {
		/* A host name unfit for EHLO falls back to "localhost". */
		if (gethostname(host, sizeof(host)) == -1)
			host[0] = '\0';
		host[sizeof(host) - 1] = '\0';
		name = mtasts_dns_name_valid(host, strlen(host), NULL) ?
		    host : "localhost";
	}
	/* It goes on the wire after EHLO: no spaces, no line breaks. */
	for (i = 0; name[i] != '\0'; i++)
		if (name[i] <= 0x20 || name[i] >= 0x7f || i >= 253) {
			mtasts_diag_add(diag, 0, 0, "probe: unusable EHLO "
			    "name \"%.60s\"", name);
			return NULL;
		}
	if ((pr = calloc(1, sizeof(*pr))) == NULL) {
		mtasts_diag_add(diag, 0, 0, "probe: out of memory");
		return NULL;
	}
	TAILQ_INIT(&pr->queued);
	TAILQ_INIT(&pr->active);
	(void)snprintf(pr->helo, sizeof(pr->helo), "%s", name);
	pr->timeout_ms = conf->timeout_ms > 0 ? conf->timeout_ms :
	    MTASTS_PROBE_TIMEOUT_DEFAULT;
	pr->port = conf->port > 0 ? conf->port : MTASTS_PROBE_PORT_DEFAULT;
	pr->max_running = conf->max_running > 0 ? conf->max_running :
	    MTASTS_PROBE_RUNNING_DEFAULT;

	if ((pr->biom = bio_sock_method()) == NULL ||
	    (pr->ctx = SSL_CTX_new(TLS_client_method())) == NULL) {
		mtasts_diag_add(diag, 0, 0, "probe: cannot create the TLS "
		    "context");
		goto fail;
	}
	/* STS-40: TLS 1.2 at least; no renegotiation, no compression. */
	if (SSL_CTX_set_min_proto_version(pr->ctx, TLS1_2_VERSION) != 1) {
		mtasts_diag_add(diag, 0, 0, "probe: cannot require TLS 1.2");
		goto fail;
	}
	(void)SSL_CTX_set_options(pr->ctx, SSL_OP_NO_COMPRESSION |
	    SSL_OP_NO_RENEGOTIATION);
	/*
	 * Verification runs in every handshake, but a failure does not abort
	 * it (SSL_VERIFY_NONE): the result is read afterwards, so that the
	 * certificate an untrusted or expired server offers can be shown,
	 * and QUIT said under TLS.  Nothing but QUIT is ever sent over it.
	 */
	SSL_CTX_set_verify(pr->ctx, SSL_VERIFY_NONE, NULL);
	if (conf->ca_file != NULL || conf->ca_path != NULL)
		ok = SSL_CTX_load_verify_locations(pr->ctx, conf->ca_file,
		    conf->ca_path);
	else
		ok = SSL_CTX_set_default_verify_paths(pr->ctx);
	if (ok != 1) {
		mtasts_diag_add(diag, 0, 0, "probe: cannot load the CA "
		    "certificates from %s", conf->ca_file != NULL ?
		    conf->ca_file : conf->ca_path != NULL ? conf->ca_path :
		    "the system store");
		goto fail;
	}
	return pr;
fail:
	ERR_clear_error();
	mtasts_prober_free(pr);
	return NULL;
}

static void
probe_free(struct probe *p)
{
	close_conn(p);
	free(p);
}

void
mtasts_prober_free(struct mtasts_prober *pr)
{
	struct probe	*p;

	if (pr == NULL)
		return;
	while ((p = TAILQ_FIRST(&pr->queued)) != NULL) {
		TAILQ_REMOVE(&pr->queued, p, entry);
		probe_free(p);
	}
	while ((p = TAILQ_FIRST(&pr->active)) != NULL) {
		TAILQ_REMOVE(&pr->active, p, entry);
		probe_free(p);
	}
	SSL_CTX_free(pr->ctx);
	if (pr->biom != NULL)
		BIO_meth_free(pr->biom);
	free(pr);
}

/* Parse addr and port into p->sa; 0, or -1 when addr is no address. */
static int
set_addr(struct probe *p, const char *addr, int port)
{
	struct sockaddr_in	*s4 = (struct sockaddr_in *)&p->sa;
	struct sockaddr_in6	*s6 = (struct sockaddr_in6 *)&p->sa;

	memset(&p->sa, 0, sizeof(p->sa));
	if (inet_pton(AF_INET, addr, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t)port);
		p->salen = sizeof(*s4);
		return 0;
	}
	if (inet_pton(AF_INET6, addr, &s6->sin6_addr) == 1) {
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)port);
		p->salen = sizeof(*s6);
		return 0;
	}
	return -1;
}

enum mtasts_status
mtasts_probe_start(struct mtasts_prober *pr, const char *host,
    const char *addr, mtasts_probe_cb *cb, void *arg, unsigned int *pid)
{
	struct probe	*p;
	size_t		 hlen, i;

	if (pid != NULL)
		*pid = 0;
	if (host == NULL || addr == NULL || cb == NULL)
		return MTASTS_INVALID;
	hlen = strlen(host);
	if (hlen > 0 && host[hlen - 1] == '.')
		hlen--;
	if (hlen >= sizeof(p->res.host) || !mtasts_dns_name_valid(host, hlen,
	    NULL) || strlen(addr) >= sizeof(p->res.addr))
		return MTASTS_INVALID;
	if ((p = calloc(1, sizeof(*p))) == NULL)
		return MTASTS_INTERNAL;
	p->fd = -1;
	if (set_addr(p, addr, pr->port) == -1) {
		free(p);
		return MTASTS_INVALID;
	}
	p->pr = pr;
	p->cb = cb;
	p->arg = arg;
	p->state = S_QUEUED;
	/* Lower case: it is the SNI, the name checked and a log key. */
	for (i = 0; i < hlen; i++)
		p->res.host[i] = (char)(host[i] >= 'A' && host[i] <= 'Z' ?
		    host[i] - 'A' + 'a' : host[i]);
	p->res.host[hlen] = '\0';
	(void)snprintf(p->res.addr, sizeof(p->res.addr), "%s", addr);
	p->res.port = pr->port;
	if (++pr->next_id == 0)
		pr->next_id = 1;
	p->id = pr->next_id;
	TAILQ_INSERT_TAIL(&pr->queued, p, entry);
	if (pid != NULL)
		*pid = p->id;
	return MTASTS_OK;
}

/* Open the connection of a queued probe (now in the active list). */
static void
probe_connect(struct probe *p)
{
	p->start_ms = now_ms();
	p->deadline_ms = p->start_ms + p->pr->timeout_ms;
	p->state = S_CONNECT;
	p->fd = socket(p->sa.ss_family, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0);
	if (p->fd == -1) {
		decide(p, MTASTS_PROBE_INTERNAL, 0, "socket: %s",
		    strerror(errno));
		return;
	}
	if (connect(p->fd, (struct sockaddr *)&p->sa, p->salen) == 0) {
		p->revents = CURL_WAIT_POLLOUT;
		step(p);
	} else if (errno == EINPROGRESS)
		p->want = CURL_WAIT_POLLIN | CURL_WAIT_POLLOUT;
	else
		decide(p, MTASTS_PROBE_CONNECT, 0, "connect: %s",
		    strerror(errno));
}

void
mtasts_probe_cancel(struct mtasts_prober *pr, unsigned int pid)
{
	struct probe	*p;

	if (pid == 0)
		return;
	TAILQ_FOREACH(p, &pr->queued, entry)
		if (p->id == pid) {
			TAILQ_REMOVE(&pr->queued, p, entry);
			probe_free(p);
			return;
		}
	TAILQ_FOREACH(p, &pr->active, entry)
		if (p->id == pid && !p->reported) {
			TAILQ_REMOVE(&pr->active, p, entry);
			probe_free(p);
			return;
		}
}

unsigned int
mtasts_prober_waitfds(struct mtasts_prober *pr, struct curl_waitfd *wfd,
    unsigned int max)
{
	struct probe	*p;
	unsigned int	 n = 0;

	TAILQ_FOREACH(p, &pr->active, entry) {
		if (n == max)
			break;
		if (p->fd == -1 || p->want == 0)
			continue;
		wfd[n].fd = p->fd;
		wfd[n].events = p->want;
		wfd[n].revents = 0;
		n++;
	}
	return n;
}

size_t
mtasts_prober_nfds(struct mtasts_prober *pr)
{
	struct probe	*p;
	size_t		 n = 0;

	TAILQ_FOREACH(p, &pr->active, entry)
		if (p->fd != -1)
			n++;
	return n;
}

size_t
mtasts_prober_running(struct mtasts_prober *pr)
{
	struct probe	*p;
	size_t		 n = 0;

	TAILQ_FOREACH(p, &pr->queued, entry)
		n++;
	TAILQ_FOREACH(p, &pr->active, entry)
		if (!p->reported)
			n++;
	return n;
}

long
mtasts_prober_timeout_ms(struct mtasts_prober *pr)
{
	struct probe	*p;
	int64_t		 now = now_ms(), t = -1;

	if (!TAILQ_EMPTY(&pr->queued) &&
	    mtasts_prober_nfds(pr) < pr->max_running)
		return 0;
	TAILQ_FOREACH(p, &pr->active, entry) {
		if (p->decided && !p->reported)
			return 0;
		if (p->fd == -1)
			continue;
		if (p->deadline_ms <= now)
			return 0;
		if (t == -1 || p->deadline_ms - now < t)
			t = p->deadline_ms - now;
	}
	return (long)t;
}

/* Run the callback of one decided probe, if any; 1 when one ran. */
static int
deliver_one(struct mtasts_prober *pr)
{
	struct mtasts_probe_result	 res;
	struct probe			*p;
	mtasts_probe_cb			*cb;
	void				*arg;

	TAILQ_FOREACH(p, &pr->active, entry)
		if (p->decided && !p->reported)
			break;
	if (p == NULL)
		return 0;
	p->reported = 1;
	res = p->res;
	cb = p->cb;
	arg = p->arg;
	if (p->fd == -1) {
		TAILQ_REMOVE(&pr->active, p, entry);
		probe_free(p);
	}
	/* p may be gone; the callback may start or cancel probes. */
	cb(arg, &res);
	return 1;
}

void
mtasts_prober_process(struct mtasts_prober *pr, const struct curl_waitfd *wfd,
    unsigned int n)
{
	struct probe	*p, *next;
	unsigned int	 i;
	int64_t		 now;

	for (i = 0; i < n; i++) {
		if (wfd[i].revents == 0)
			continue;
		TAILQ_FOREACH(p, &pr->active, entry)
			if (p->fd == wfd[i].fd) {
				p->revents = wfd[i].revents;
				break;
			}
	}
	now = now_ms();
	for (p = TAILQ_FIRST(&pr->active); p != NULL; p = next) {
		next = TAILQ_NEXT(p, entry);
		if (p->fd != -1 && p->revents != 0)
			step(p);
		if (p->fd != -1 && now >= p->deadline_ms) {
			if (!p->decided)
				decide(p, MTASTS_PROBE_TIMEOUT, 0, "no %s "
				    "within %ld ms", stage(p),
				    p->pr->timeout_ms);
			else
				close_conn(p);
		}
		if (p->fd == -1 && p->reported) {
			TAILQ_REMOVE(&pr->active, p, entry);
			probe_free(p);
		}
	}
	while ((p = TAILQ_FIRST(&pr->queued)) != NULL &&
	    mtasts_prober_nfds(pr) < pr->max_running) {
		TAILQ_REMOVE(&pr->queued, p, entry);
		TAILQ_INSERT_TAIL(&pr->active, p, entry);
		probe_connect(p);
	}
	while (deliver_one(pr))
		;
}
