/*
 * test_dsn.c: the text of the MTA-STS delivery status notification
 * (common/dsn.c): the multipart/report structure of RFC 6522, the fields
 * of RFC 3464, the original headers, and refusal of input that would
 * break the message.
 */
#include <config.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "check.h"
#include "dsn.h"
#include "status.h"

#define T_NOW		1800000000	/* Fri, 15 Jan 2027 08:00:00 UTC */
#define T_ARRIVAL	1799999000
#define DS_HEAD		"Content-Description: Delivery report\n" \
			"Content-Type: message/delivery-status\n\n"

static const char orig_headers[] =
    "Received: from client.example.org by mx.example.net\r\n"
    "\twith ESMTP id 4XyZ\r\n"
    "From: Alice <alice@example.org>\r\n"
    "To: bob@enforce.example, carol@other.example\r\n"
    "Subject: hello\r\n"
    "Message-ID: <abc@example.org>\r\n";

static const struct mtasts_dsn_rcpt two_rcpts[] = {
	{ "bob@enforce.example", "5.7.5", "550 5.7.5 MTA-STS policy for "
	    "enforce.example cannot be satisfied: no MX host matches the "
	    "policy" },
	{ "dave@enforce.example", "5.7.5", "550 5.7.5 MTA-STS policy for "
	    "enforce.example cannot be satisfied: no MX host matches the "
	    "policy" },
};

static void
base(struct mtasts_dsn *d)
{
	memset(d, 0, sizeof(*d));
	d->reporting_mta = "mx.example.net";
	d->sender = "alice@example.org";
	d->queue_id = "4XyZ";
	d->message_id = "<r1.dsn.s1@mx.example.net>";
	d->boundary = "=_mta-sts-0123456789abcdef";
	d->arrival = T_ARRIVAL;
	d->now = T_NOW;
	d->headers = orig_headers;
	d->headers_len = sizeof(orig_headers) - 1;
	d->rcpt = two_rcpts;
	d->nrcpt = 2;
}

static size_t
count(const char *hay, const char *needle)
{
	size_t		 n = 0;
	const char	*p;

	for (p = hay; (p = strstr(p, needle)) != NULL; p += strlen(needle))
		n++;
	return n;
}

/* The text of the part that follows the n-th boundary line (0-based). */
static const char *
part(const char *msg, const char *boundary, int n)
{
	char		 line[128];
	const char	*p = msg;

	(void)snprintf(line, sizeof(line), "\n--%s\n", boundary);
	for (; n >= 0 && p != NULL; n--)
		if ((p = strstr(p, line)) != NULL)
			p += strlen(line);
	return p;
}

static int
starts(const char *s, const char *prefix)
{
	return s != NULL && strncmp(s, prefix, strlen(prefix)) == 0;
}

static enum mtasts_status
build(const struct mtasts_dsn *d, struct mtasts_buf *out)
{
	struct mtasts_diag	diag;

	mtasts_buf_free(out);
	mtasts_diag_init(&diag);
	return mtasts_dsn_build(d, out, &diag);
}

static void
test_structure(void)
{
	struct mtasts_dsn	 d;
	struct mtasts_buf	 out;
	const char		*m, *p;
	char			 status[2048], *q;
	size_t			 i, col;

	base(&d);
	mtasts_buf_init(&out, MTASTS_DSN_MAX);
	CHECK(build(&d, &out) == MTASTS_OK, "two recipients: built");
	m = out.data != NULL ? out.data : "";
	CHECK(starts(m, "From: Mail Delivery System "
	    "<MAILER-DAEMON@mx.example.net>\n"),
	    "From: the mailer daemon of the reporting MTA");
	CHECK(strstr(m, "\nTo: <alice@example.org>\n") != NULL,
	    "To: the envelope sender");
	CHECK(strstr(m, "\nDate: Fri, 15 Jan 2027 08:00:00 +0000\n") != NULL,
	    "Date: RFC 5322 form, UTC");
	CHECK(strstr(m, "\nMessage-ID: <r1.dsn.s1@mx.example.net>\n") != NULL,
	    "Message-ID as given");
	CHECK(strstr(m, "\nAuto-Submitted: auto-replied\n") != NULL,
	    "Auto-Submitted: auto-replied (RFC 3834)");
	CHECK(strstr(m, "\nMIME-Version: 1.0\n") != NULL, "MIME-Version");
	CHECK(strstr(m, "\nContent-Type: multipart/report; "
	    "report-type=delivery-status;\n\tboundary="
	    "\"=_mta-sts-0123456789abcdef\"\n\n") != NULL,
	    "RFC 6522: multipart/report, report-type=delivery-status");
	CHECK(count(m, "\n--=_mta-sts-0123456789abcdef\n") == 3,
	    "three parts");
	i = strlen(m);
	CHECK(i > 32 && strcmp(m + i - 32, "\n--=_mta-sts-0123456789abcdef--\n")
	    == 0, "closing boundary ends the message");
	CHECK(strchr(m, '\r') == NULL, "LF line ends only (sendmail input)");
	for (i = 0, col = 0; m[i] != '\0'; i++) {
		col = m[i] == '\n' ? 0 : col + 1;
		if (col > 998)
			break;
	}
	CHECK(m[i] == '\0', "no line longer than 998 bytes (RFC 5322)");

	p = part(m, d.boundary, 0);
	CHECK(starts(p, "Content-Description: Notification\n"
	    "Content-Type: text/plain; charset=us-ascii\n\n"),
	    "part 1: text/plain notice");
	CHECK(p != NULL && strstr(p, "<bob@enforce.example>: 550 5.7.5 "
	    "MTA-STS policy for enforce.example cannot be satisfied") != NULL,
	    "part 1 names the recipient and the reason");

	p = part(m, d.boundary, 1);
	CHECK(starts(p, DS_HEAD), "part 2: message/delivery-status (RFC 3464)");
	(void)snprintf(status, sizeof(status), "%s", starts(p, DS_HEAD) ?
	    p + strlen(DS_HEAD) : "");
	if ((q = strstr(status, "\n--")) != NULL)
		*q = '\0';
	CHECK_STREQ(status,
	    "Reporting-MTA: dns; mx.example.net\n"
	    "X-Queue-ID: 4XyZ\n"
	    "Arrival-Date: Fri, 15 Jan 2027 07:43:20 +0000\n"
	    "\n"
	    "Final-Recipient: rfc822; bob@enforce.example\n"
	    "Action: failed\n"
	    "Status: 5.7.5\n"
	    "Diagnostic-Code: smtp; 550 5.7.5 MTA-STS policy for "
	    "enforce.example cannot be satisfied: no MX host matches the "
	    "policy\n"
	    "Last-Attempt-Date: Fri, 15 Jan 2027 08:00:00 +0000\n"
	    "\n"
	    "Final-Recipient: rfc822; dave@enforce.example\n"
	    "Action: failed\n"
	    "Status: 5.7.5\n"
	    "Diagnostic-Code: smtp; 550 5.7.5 MTA-STS policy for "
	    "enforce.example cannot be satisfied: no MX host matches the "
	    "policy\n"
	    "Last-Attempt-Date: Fri, 15 Jan 2027 08:00:00 +0000\n",
	    "part 2: per-message fields, then one block per recipient");

	p = part(m, d.boundary, 2);
	CHECK(starts(p, "Content-Description: Undelivered "
	    "Message Headers\nContent-Type: text/rfc822-headers\n\n"
	    "Received: from client.example.org by mx.example.net\n"
	    "\twith ESMTP id 4XyZ\nFrom: Alice <alice@example.org>\n"),
	    "part 3: text/rfc822-headers, folding kept, CRLF "
	    "made LF");
	CHECK(p != NULL && strstr(p, "Message-ID: <abc@example.org>\n\n--") !=
	    NULL, "part 3 holds every header");

	/* Without headers the third part is left out. */
	d.headers = NULL;
	d.headers_len = 0;
	d.nrcpt = 1;
	CHECK(build(&d, &out) == MTASTS_OK && count(out.data,
	    "\n--=_mta-sts-0123456789abcdef\n") == 2 &&
	    count(out.data, "Final-Recipient:") == 1,
	    "no headers: two parts; one recipient: one block");
	d.queue_id = NULL;
	CHECK(build(&d, &out) == MTASTS_OK &&
	    strstr(out.data, "X-Queue-ID") == NULL, "no queue id: no field");
	mtasts_buf_free(&out);
}

static void
test_refusals(void)
{
	struct mtasts_dsn	 d;
	struct mtasts_dsn_rcpt	 bad = { "x@y.example\r\nBcc: z@w", "5.7.5",
				    "550 5.7.5 x" };
	struct mtasts_buf	 out;

	mtasts_buf_init(&out, MTASTS_DSN_MAX);
	base(&d);
	d.sender = "alice@example.org\nBcc: eve@evil.example";
	CHECK(build(&d, &out) == MTASTS_INVALID, "LF in the sender: refused");
	base(&d);
	d.sender = "";
	CHECK(build(&d, &out) == MTASTS_INVALID, "null sender: refused");
	base(&d);
	d.rcpt = &bad;
	d.nrcpt = 1;
	CHECK(build(&d, &out) == MTASTS_INVALID,
	    "CR LF in a recipient: refused");
	base(&d);
	d.nrcpt = 0;
	CHECK(build(&d, &out) == MTASTS_INVALID, "no recipient: refused");
	base(&d);
	d.boundary = "4XyZ";
	CHECK(build(&d, &out) == MTASTS_INVALID,
	    "boundary found in the original headers: refused");
	base(&d);
	d.boundary = "";
	CHECK(build(&d, &out) == MTASTS_INVALID, "empty boundary: refused");
	base(&d);
	d.reporting_mta = "mx\texample";
	CHECK(build(&d, &out) == MTASTS_INVALID,
	    "control byte in the host name: refused");
	mtasts_buf_free(&out);

	/* A buffer too small for the DSN reports it instead of cutting. */
	mtasts_buf_init(&out, 100);
	base(&d);
	CHECK(build(&d, &out) == MTASTS_INTERNAL, "output cap: internal");
	mtasts_buf_free(&out);
}

static void
test_8bit_and_size(void)
{
	static const struct mtasts_dsn_rcpt u8 = { "j\xc3\xb6rg@enforce.example",
	    "5.7.5", "550 5.7.5 MTA-STS policy for enforce.example cannot "
	    "be satisfied: no MX host matches the policy" };
	struct mtasts_dsn	 d;
	struct mtasts_buf	 out;
	char			*big;
	size_t			 i, n;
	const char		*p;

	mtasts_buf_init(&out, MTASTS_DSN_MAX);
	base(&d);
	d.rcpt = &u8;
	d.nrcpt = 1;
	CHECK(build(&d, &out) == MTASTS_OK &&
	    strstr(out.data, "Final-Recipient: utf-8; j\xc3\xb6rg@") != NULL &&
	    strstr(out.data, "Content-Type: message/global-delivery-status\n")
	    != NULL && strstr(out.data, "charset=utf-8") != NULL,
	    "RFC 6533: UTF-8 recipient, utf-8 type and global report");
	base(&d);
	d.headers = "Subject: gr\xc3\xbc\xc3\x9f" "e\n";
	d.headers_len = strlen(d.headers);
	CHECK(build(&d, &out) == MTASTS_OK &&
	    strstr(out.data, "Content-Type: message/global-headers\n") != NULL &&
	    strstr(out.data, "Final-Recipient: rfc822;") != NULL,
	    "8-bit original headers: message/global-headers");

	/* Headers past the cap are cut at a line end. */
	n = MTASTS_DSN_HEADERS_MAX + 5000;
	if ((big = malloc(n + 1)) == NULL)
		exit(99);
	for (i = 0; i < n; i++)
		big[i] = i % 50 == 49 ? '\n' : 'a' + (char)(i % 26);
	big[n] = '\0';
	base(&d);
	d.headers = big;
	d.headers_len = n;
	CHECK(build(&d, &out) == MTASTS_OK, "oversized headers: built");
	p = part(out.data, d.boundary, 2);
	CHECK(p != NULL && strlen(p) < MTASTS_DSN_HEADERS_MAX + 200 &&
	    strstr(p, "\n\n--") != NULL, "oversized headers cut to the cap "
	    "at a line end");
	free(big);
	mtasts_buf_free(&out);
}

static void
test_date(void)
{
	char	buf[64];

	mtasts_dsn_date(0, buf, sizeof(buf));
	CHECK_STREQ(buf, "Thu, 01 Jan 1970 00:00:00 +0000", "date: epoch");
	mtasts_dsn_date(951782400, buf, sizeof(buf));
	CHECK_STREQ(buf, "Tue, 29 Feb 2000 00:00:00 +0000", "date: leap day");
}

int
main(void)
{
	test_structure();
	test_refusals();
	test_8bit_and_size();
	test_date();
	return check_done();
}
