/*
 * dsn.c: the text of a delivery status notification (RFC 3464) for
 * recipients refused by an MTA-STS policy, as a multipart/report
 * (RFC 6522).
 *
 * Everything that varies (dates, ids, the boundary) comes from the caller,
 * so the same input always gives the same bytes.  Addresses with 8-bit
 * bytes (SMTPUTF8) make the report use the "utf-8" address type and the
 * message/global-* media types of RFC 6533; plain ASCII mail keeps the
 * classic types that every mail reader understands.
 */
#include <config.h>

#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "buf.h"
#include "dsn.h"
#include "status.h"

/* No control bytes (CR and LF above all): a field must stay one line. */
static int
field_ok(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return 0;
	return 1;
}

static int
has_8bit(const char *s, size_t len)
{
	size_t	i;

	for (i = 0; i < len; i++)
		if ((unsigned char)s[i] >= 0x80)
			return 1;
	return 0;
}

static int
find(const char *hay, size_t len, const char *needle)
{
	size_t	n = strlen(needle), i;

	for (i = 0; n > 0 && i + n <= len; i++)
		if (memcmp(hay + i, needle, n) == 0)
			return 1;
	return 0;
}

void
mtasts_dsn_date(int64_t t, char *buf, size_t size)
{
	static const char *const days[] = {
		"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"
	};
	static const char *const months[] = {
		"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep",
		"Oct", "Nov", "Dec"
	};
	struct tm	tm;
	time_t		tt = (time_t)t;

	/* Our own names: strftime's %a and %b follow the locale. */
	if (gmtime_r(&tt, &tm) == NULL) {
		(void)snprintf(buf, size, "Thu, 01 Jan 1970 00:00:00 +0000");
		return;
	}
	(void)snprintf(buf, size, "%s, %02d %s %04d %02d:%02d:%02d +0000",
	    days[tm.tm_wday % 7], tm.tm_mday, months[tm.tm_mon % 12],
	    tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

static enum mtasts_status
check_input(const struct mtasts_dsn *d, struct mtasts_diag *diag)
{
	const char	*what = NULL;
	size_t		 i;

	if (d->nrcpt == 0 || d->rcpt == NULL)
		what = "no recipient";
	else if (d->reporting_mta == NULL || !field_ok(d->reporting_mta))
		what = "reporting MTA";
	else if (d->sender == NULL || d->sender[0] == '\0' ||
	    !field_ok(d->sender))
		what = "sender";
	else if (d->message_id == NULL || !field_ok(d->message_id))
		what = "message id";
	else if (d->queue_id != NULL && !field_ok(d->queue_id))
		what = "queue id";
	else if (d->boundary == NULL || d->boundary[0] == '\0' ||
	    strlen(d->boundary) > 70 || !field_ok(d->boundary))
		what = "boundary";	/* RFC 2046 §5.1.1: 1 to 70 chars */
	for (i = 0; what == NULL && i < d->nrcpt; i++)
		if (d->rcpt[i].addr == NULL || !field_ok(d->rcpt[i].addr) ||
		    d->rcpt[i].status == NULL ||
		    !field_ok(d->rcpt[i].status) ||
		    d->rcpt[i].diagnostic == NULL ||
		    !field_ok(d->rcpt[i].diagnostic))
			what = "recipient";
	if (what != NULL) {
		mtasts_diag_add(diag, 0, 0, "DSN: bad %s", what);
		return MTASTS_INVALID;
	}
	if (d->headers != NULL && find(d->headers, d->headers_len,
	    d->boundary)) {
		mtasts_diag_add(diag, 0, 0, "DSN: the boundary occurs in the "
		    "original headers");
		return MTASTS_INVALID;
	}
	return MTASTS_OK;
}

/* The original header block: LF line ends, cut at a line end if long. */
static void
add_headers(struct mtasts_buf *out, const char *h, size_t len)
{
	size_t	i, start, end;

	if (len > MTASTS_DSN_HEADERS_MAX) {
		for (len = MTASTS_DSN_HEADERS_MAX; len > 0 && h[len - 1] != '\n';
		    len--)
			;
	}
	for (start = 0; start < len; start = i + 1) {
		for (i = start; i < len && h[i] != '\n'; i++)
			;
		end = i;
		if (end > start && h[end - 1] == '\r')
			end--;
		/* A bare CR or a NUL would break the part; drop them. */
		for (; start < end; start++)
			if (h[start] != '\r' && h[start] != '\0')
				(void)mtasts_buf_add(out, h + start, 1);
		(void)mtasts_buf_add(out, "\n", 1);
	}
}

static void
add_human(struct mtasts_buf *out, const struct mtasts_dsn *d)
{
	size_t	i;

	(void)mtasts_buf_printf(out,
	    "This is the mail system at host %s.\n\n"
	    "Your message could not be delivered to the recipients below.\n"
	    "Their domains publish an MTA-STS policy (RFC 8461) that demands\n"
	    "delivery over authenticated TLS to the mail servers it names,\n"
	    "and none of the domain's mail servers is among them.  The\n"
	    "message was not sent to these recipients; others, if any, are\n"
	    "not affected.\n\n", d->reporting_mta);
	for (i = 0; i < d->nrcpt; i++)
		(void)mtasts_buf_printf(out, "<%s>: %s\n", d->rcpt[i].addr,
		    d->rcpt[i].diagnostic);
	(void)mtasts_buf_printf(out, "\nThe administrator of the recipient "
	    "domain can fix this by\nlisting its mail servers in the policy.\n");
}

static void
add_status(struct mtasts_buf *out, const struct mtasts_dsn *d, int utf8,
    const char *arrival, const char *date)
{
	size_t	i;

	(void)mtasts_buf_printf(out, "Reporting-MTA: dns; %s\n",
	    d->reporting_mta);
	if (d->queue_id != NULL && d->queue_id[0] != '\0')
		(void)mtasts_buf_printf(out, "X-Queue-ID: %s\n", d->queue_id);
	(void)mtasts_buf_printf(out, "Arrival-Date: %s\n", arrival);
	for (i = 0; i < d->nrcpt; i++)
		(void)mtasts_buf_printf(out, "\n"
		    "Final-Recipient: %s; %s\n"
		    "Action: failed\n"
		    "Status: %s\n"
		    "Diagnostic-Code: smtp; %s\n"
		    "Last-Attempt-Date: %s\n",
		    utf8 ? "utf-8" : "rfc822", d->rcpt[i].addr,
		    d->rcpt[i].status, d->rcpt[i].diagnostic, date);
}

enum mtasts_status
mtasts_dsn_build(const struct mtasts_dsn *d, struct mtasts_buf *out,
    struct mtasts_diag *diag)
{
	char		 date[64], arrival[64];
	const char	*b = d->boundary;
	enum mtasts_status st;
	int		 utf8 = 0, hdr8;
	size_t		 i;

	if ((st = check_input(d, diag)) != MTASTS_OK)
		return st;
	utf8 = has_8bit(d->sender, strlen(d->sender));
	for (i = 0; i < d->nrcpt; i++)
		utf8 |= has_8bit(d->rcpt[i].addr, strlen(d->rcpt[i].addr));
	hdr8 = d->headers != NULL && has_8bit(d->headers, d->headers_len);
	mtasts_dsn_date(d->now, date, sizeof(date));
	mtasts_dsn_date(d->arrival, arrival, sizeof(arrival));

	(void)mtasts_buf_printf(out,
	    "From: Mail Delivery System <MAILER-DAEMON@%s>\n"
	    "To: <%s>\n"
	    "Subject: Undelivered Mail Returned to Sender (MTA-STS)\n"
	    "Date: %s\n"
	    "Message-ID: %s\n"
	    "Auto-Submitted: auto-replied\n"
	    "MIME-Version: 1.0\n"
	    "Content-Type: multipart/report; report-type=delivery-status;\n"
	    "\tboundary=\"%s\"\n"
	    "\n"
	    "This is a MIME-encapsulated message.\n"
	    "\n--%s\n"
	    "Content-Description: Notification\n"
	    "Content-Type: text/plain; charset=%s\n\n",
	    d->reporting_mta, d->sender, date, d->message_id, b, b,
	    utf8 ? "utf-8" : "us-ascii");
	add_human(out, d);
	(void)mtasts_buf_printf(out, "\n--%s\n"
	    "Content-Description: Delivery report\n"
	    "Content-Type: message/%sdelivery-status\n\n", b,
	    utf8 ? "global-" : "");
	add_status(out, d, utf8, arrival, date);
	if (d->headers != NULL && d->headers_len > 0) {
		(void)mtasts_buf_printf(out, "\n--%s\n"
		    "Content-Description: Undelivered Message Headers\n"
		    "Content-Type: %s\n\n", b, hdr8 ?
		    "message/global-headers" : "text/rfc822-headers");
		add_headers(out, d->headers, d->headers_len);
	}
	(void)mtasts_buf_printf(out, "\n--%s--\n", b);
	if (out->toobig || out->nomem) {
		mtasts_diag_add(diag, 0, 0, "DSN: %s", out->nomem ?
		    "out of memory" : "too large");
		return MTASTS_INTERNAL;
	}
	return MTASTS_OK;
}
