-- bounce.lua: FailureAction bounce.  The recipient is accepted at RCPT,
-- removed at end of message and reported in a DSN; with only bounced
-- recipients the message is discarded; a null sender is refused at RCPT;
-- a DSN that cannot be sent makes the whole message fail temporarily.
dofile(libdir .. "/lib.lua")

local conn = connect_milter()
mail(conn, "<alice@example.org>", "QIDBOUNCE")
rcpt(conn, "<bob@good.test>", "smtp", SMFIR_CONTINUE, "good recipient")
rcpt(conn, "<dave@bounce.test>", "smtp", SMFIR_CONTINUE,
    "bounce recipient accepted at RCPT")
headers(conn, { { "From", "Alice <alice@example.org>" },
    { "To", "dave@bounce.test" }, { "Subject", "bounce me" },
    { "Message-ID", "<orig-1@example.org>" } })
eom(conn, SMFIR_CONTINUE, "end of message: accepted for the others")
if not mt.eom_check(conn, MT_RCPTDELETE, "<dave@bounce.test>") then
	error("dave@bounce.test was not removed")
end
mt.echo("ok - bounced recipient removed at end of message")
if mt.eom_check(conn, MT_RCPTDELETE, "<bob@good.test>") then
	error("bob@good.test was removed")
end
mt.echo("ok - good recipient kept")

-- the same connection, a second message: every recipient bounces
mail(conn, "<erin@example.org>", "QIDALL")
rcpt(conn, "<frank@bounce.test>", "smtp", SMFIR_CONTINUE,
    "only recipient bounces")
headers(conn, { { "Subject", "all bounce" } })
eom(conn, SMFIR_DISCARD, "every recipient bounced: message discarded")

-- a null sender gets no DSN (RFC 3464): refused at RCPT instead
mail(conn, "<>", "QIDNULL")
rcpt(conn, "<gina@bounce.test>", "smtp", SMFIR_REPLYCODE,
    "null sender: bounce becomes a 550 at RCPT")
mt.abort(conn)

-- the DSN cannot be handed over: the message fails temporarily
mail(conn, "<fail@example.org>", "QIDFAIL")
rcpt(conn, "<bob@good.test>", "smtp", SMFIR_CONTINUE, "good recipient")
rcpt(conn, "<hank@bounce.test>", "smtp", SMFIR_CONTINUE,
    "bounce recipient")
headers(conn, { { "Subject", "dsn fails" } })
eom(conn, SMFIR_REPLYCODE, "DSN not sent: 451 for the message")
mt.disconnect(conn)
