-- rcpt.lua: RCPT-time replies for each kind of recipient, and the
-- X-MTA-STS header of a testing-mode domain at end of message.
dofile(libdir .. "/lib.lua")

local conn = connect_milter()
if not mt.test_option(conn, SMFIP_NOBODY) or
    not mt.test_option(conn, SMFIP_NOHELO) then
	error("the milter should skip HELO and the body")
end
mt.echo("ok - negotiated: no HELO, no body")
mail(conn, "<alice@example.org>", "QIDRCPT")
rcpt(conn, "<bob@good.test>", "smtp", SMFIR_CONTINUE,
    "enforce, MX matches: continue")
rcpt(conn, "<bob@defer.test>", "esmtp", SMFIR_REPLYCODE,
    "enforce, no MX matches: 451 reply")
rcpt(conn, "<bob@reject.test>", "smtp", SMFIR_REPLYCODE,
    "enforce, no MX matches, reject: 550 reply")
rcpt(conn, "<bob@defer.test>", "local", SMFIR_CONTINUE,
    "local mailer: not checked")
rcpt(conn, "<bob@defer.test>", "lmtp", SMFIR_CONTINUE,
    "lmtp mailer: not checked")
rcpt(conn, "<bob@[192.0.2.1]>", "smtp", SMFIR_CONTINUE,
    "address literal: continue")
rcpt(conn, "<postmaster>", "smtp", SMFIR_CONTINUE,
    "no domain: continue")
rcpt(conn, "<bob@nopolicy.test>", "relay", SMFIR_CONTINUE,
    "no policy: continue")
rcpt(conn, "<bob@skip.test>", "smtp", SMFIR_CONTINUE,
    "SkipDomains: continue")
rcpt(conn, "<bob@routed.test>", "smtp", SMFIR_CONTINUE,
    "RoutedDomains, no MX matches: continue")
rcpt(conn, "<bob@forced.test>", "smtp", SMFIR_REPLYCODE,
    "EnforceDomains, testing policy, no MX matches: 451 reply")
rcpt(conn, "<bob@forcednone.test>", "smtp", SMFIR_REPLYCODE,
    "EnforceDomains without a policy: 451 reply")
rcpt(conn, "<bob@testing.test>", "smtp", SMFIR_CONTINUE,
    "testing, no MX matches: continue")
rcpt(conn, "<carol@testing.test>", nil, SMFIR_CONTINUE,
    "no {rcpt_mailer} macro: checked all the same")
headers(conn, { { "From", "alice@example.org" },
    { "Subject", "test" } })
eom(conn, SMFIR_CONTINUE, "end of message")
if not mt.eom_check(conn, MT_HDRADD, "X-MTA-STS",
    "testing domain=testing.test policy_id=t1 result=would-fail") then
	error("no X-MTA-STS header for testing.test")
end
mt.echo("ok - X-MTA-STS header added once for testing.test")
if mt.eom_check(conn, MT_RCPTDELETE, "<bob@testing.test>") then
	error("a testing recipient was removed")
end
mt.echo("ok - testing recipient kept")
mt.disconnect(conn)
