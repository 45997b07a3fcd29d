-- stopping.lua: while the daemon stops (SIGTERM received, a message
-- still in progress elsewhere), a new message is refused at MAIL with a
-- temporary error, so the client keeps it.  Globals (-D): sock, libdir.
dofile(libdir .. "/lib.lua")

local conn = connect_milter()
if mt.mailfrom(conn, "<erin@example.org>") ~= nil then
	error("mailfrom failed")
end
expect(conn, SMFIR_REPLYCODE, "MAIL while stopping: 451")
mt.disconnect(conn)
