-- drain.lua: a session that is still open when the daemon gets SIGTERM.
-- After the first recipient it creates the file named by the global
-- "ready" (test_milter.sh then sends SIGTERM) and waits 2 s; the rest of
-- the session must still be answered.  Globals (-D): sock, libdir, ready.
dofile(libdir .. "/lib.lua")

local conn = connect_milter()
mail(conn, "<alice@example.org>", "QIDDRAIN")
rcpt(conn, "<bob@good.test>", "smtp", SMFIR_CONTINUE,
    "before SIGTERM: good recipient")
local f = io.open(ready, "w")
if f == nil then
	error("cannot create " .. ready)
end
f:close()
mt.sleep(2)
rcpt(conn, "<carol@good.test>", "smtp", SMFIR_CONTINUE,
    "after SIGTERM: the session is still answered")
rcpt(conn, "<dave@defer.test>", "smtp", SMFIR_REPLYCODE,
    "after SIGTERM: still judged, 451")
eom(conn, SMFIR_CONTINUE, "after SIGTERM: end of message")
mt.disconnect(conn)
