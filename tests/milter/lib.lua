-- lib.lua: helpers shared by the miltertest scripts of test_milter.sh.
-- Globals from the command line (-D): sock (the milter socket).

function connect_milter()
	local conn = mt.connect("unix:" .. sock, 40, 0.25)
	if conn == nil then
		error("cannot connect to the milter at " .. sock)
	end
	if mt.conninfo(conn, "client.example.org", "192.0.2.10") ~= nil then
		error("conninfo failed")
	end
	expect(conn, SMFIR_CONTINUE, "connect")
	return conn
end

function expect(conn, want, what)
	local got = mt.getreply(conn)
	if got ~= want then
		error(what .. ": reply " .. tostring(got) .. ", want " ..
		    tostring(want))
	end
	mt.echo("ok - " .. what)
end

function mail(conn, from, qid)
	if qid ~= nil then
		mt.macro(conn, SMFIC_MAIL, "i", qid)
	end
	if mt.mailfrom(conn, from) ~= nil then
		error("mailfrom failed")
	end
	expect(conn, SMFIR_CONTINUE, "MAIL FROM " .. from)
end

-- RCPT with the {rcpt_mailer} macro an MTA would send (nil: none).
function rcpt(conn, addr, mailer, want, what)
	if mailer ~= nil then
		mt.macro(conn, SMFIC_RCPT, "{rcpt_mailer}", mailer)
	else
		-- replaces the RCPT macros of the previous call
		mt.macro(conn, SMFIC_RCPT, "{rcpt_addr}", addr)
	end
	if mt.rcptto(conn, addr) ~= nil then
		error("rcptto " .. addr .. " failed")
	end
	expect(conn, want, what)
end

-- Only the stages the milter asked for: it skips EOH and the body.
function headers(conn, list)
	if mt.test_option(conn, SMFIP_NOHDRS) then
		return
	end
	for _, h in ipairs(list) do
		if mt.header(conn, h[1], h[2]) ~= nil then
			error("header " .. h[1] .. " failed")
		end
		expect(conn, SMFIR_CONTINUE, "header " .. h[1])
	end
end

function eom(conn, want, what)
	if mt.eom(conn) ~= nil then
		error("eom failed")
	end
	expect(conn, want, what)
end
