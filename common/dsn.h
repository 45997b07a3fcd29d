/*
 * dsn.h: the delivery status notification sent for recipients whose
 * domain's MTA-STS policy cannot be satisfied when FailureAction is
 * bounce: a multipart/report (RFC 6522) with a human part, a
 * message/delivery-status part (RFC 3464) and the original header block
 * (text/rfc822-headers).  Pure text building: no I/O, no clock, no
 * randomness, so that tests can compare the result byte for byte.
 */
#ifndef MTASTS_DSN_H
#define MTASTS_DSN_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "status.h"

#define MTASTS_DSN_MAX		(1024 * 1024)	/* bytes of DSN text */
#define MTASTS_DSN_HEADERS_MAX	(64 * 1024)	/* original headers kept */

/* One failed recipient; strings are borrowed. */
struct mtasts_dsn_rcpt {
	const char	*addr;		/* as in RCPT TO, without <> */
	const char	*status;	/* enhanced status, "5.7.5" */
	const char	*diagnostic;	/* "550 5.7.5 MTA-STS policy for ..." */
};

/* Everything the DSN says; strings are borrowed. */
struct mtasts_dsn {
	const char			*reporting_mta;	/* our host name */
	const char			*sender;	/* envelope sender, no <> */
	const char			*queue_id;	/* NULL: not known */
	const char			*message_id;	/* "<...@host>" */
	const char			*boundary;	/* MIME boundary */
	int64_t				 arrival;	/* Unix time of MAIL */
	int64_t				 now;		/* Unix time: Date: */
	/* The original header block, "Name: value" lines (LF or CRLF). */
	const char			*headers;
	size_t				 headers_len;
	const struct mtasts_dsn_rcpt	*rcpt;
	size_t				 nrcpt;
};

/*
 * Append the whole DSN message (header and body, LF line ends, as the
 * sendmail(8) command reads it) to out.  MTASTS_INVALID, with the reason
 * in diag, when a field holds CR, LF or other control bytes, when there is
 * no recipient, or when the boundary occurs in the original headers (pick
 * another and call again); MTASTS_INTERNAL when out refused the text.
 * Headers beyond MTASTS_DSN_HEADERS_MAX are cut at a line end.
 */
enum mtasts_status	 mtasts_dsn_build(const struct mtasts_dsn *,
			    struct mtasts_buf *out, struct mtasts_diag *);

/* RFC 5322 date-time of t in UTC: "Mon, 02 Jan 2006 15:04:05 +0000". */
void			 mtasts_dsn_date(int64_t t, char *buf, size_t size);

#endif /* MTASTS_DSN_H */
