-- ping.lua: the milter answers: one message to an address literal, which
-- is accepted without any lookup.  Globals (-D): sock, libdir.
dofile(libdir .. "/lib.lua")

local conn = connect_milter()
mail(conn, "<alice@example.org>", "QIDPING")
rcpt(conn, "<bob@[192.0.2.1]>", "smtp", SMFIR_CONTINUE,
    "address literal accepted")
mt.disconnect(conn)
