-- reload.lua: one message to bob@defer.test, whose reply depends on the
-- configuration in force.  Globals (-D): sock, libdir, want ("continue":
-- accepted, "tempfail": a 4xx reply).
dofile(libdir .. "/lib.lua")

local replies = { continue = SMFIR_CONTINUE, tempfail = SMFIR_REPLYCODE }
if replies[want] == nil then
	error("want must be continue or tempfail, not " .. tostring(want))
end
local conn = connect_milter()
mail(conn, "<alice@example.org>", "QIDRELOAD")
rcpt(conn, "<bob@defer.test>", "smtp", replies[want],
    "bob@defer.test: " .. want)
mt.disconnect(conn)
