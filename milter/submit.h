/*
 * submit.h: hand a message to the local MTA through its sendmail(8)
 * command, as the milter does with delivery status notifications.
 */
#ifndef MTASTS_SUBMIT_H
#define MTASTS_SUBMIT_H

#include <stddef.h>

/*
 * Run "path -f <> -oi -- rcpt" with text[0..len) on its standard input:
 * the null envelope sender, as RFC 3464 §2 wants for a DSN, so that a
 * failing DSN never bounces back.  Waits at most timeout_ms for the
 * command to take the text and exit, then kills it.  Returns 0 when it
 * exited with status 0; otherwise -1 with the reason (and the first line
 * the command wrote to stderr, if any) in why[whysz].  Thread-safe: the
 * command is started with posix_spawn(3), and only the fds it needs
 * reach it.
 */
int	submit_message(const char *path, const char *rcpt, const char *text,
	    size_t len, long timeout_ms, char *why, size_t whysz);

#endif /* MTASTS_SUBMIT_H */
