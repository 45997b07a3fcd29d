# malformed, hostile and unknown lines are logged and survived
@handshake
> report|0.6|1.0|smtp-in|link-connect|00000000000000c1|localhost|pass|127.0.0.1:1|127.0.0.1:25
> hello world
~ warning: protocol: unknown message type: "hello world"
>
~ warning: protocol: empty line
> |||
> filter
~ warning: protocol: no version
> config
~ warning: protocol: config line without a key
> report|0.6|1.0|smtp-in|link-connect|not-hex
~ warning: protocol: malformed session id
> filter|0.6|1.0|smtp-in|rcpt-to|00000000000000c1|12345678901234567|u@good.test
~ warning: protocol: malformed token
> filter|0.6|1.0|smtp-in|rcpt-to|00000000000000c1
~ warning: protocol: no token
> filter|0.6|1.0|smtp-in|rcpt-to|00000000000000c1|zz|u@good.test
# broken around a readable session and token: answered with a temporary failure
> filter|0.6|yesterday|smtp-in|rcpt-to|00000000000000c1|0000000000000001|u@good.test
< filter-result|00000000000000c1|0000000000000001|reject|451 4.3.0 MTA-STS check not possible (malformed request); try again later
~ warning: protocol: malformed timestamp
> filter|0.6|1.0|smtp-out|rcpt-to|00000000000000c1|0000000000000002|u@good.test
< filter-result|00000000000000c1|0000000000000002|reject|451 4.3.0 MTA-STS check not possible (malformed request); try again later
~ warning: protocol: subsystem is not smtp-in
# a request without an address
> filter|0.6|1.0|smtp-in|rcpt-to|00000000000000c1|0000000000000003
< filter-result|00000000000000c1|0000000000000003|reject|451 4.3.0 MTA-STS check not possible (no address); try again later
> filter|0.6|1.0|smtp-in|rcpt-to|00000000000000c1|0000000000000004|
< filter-result|00000000000000c1|0000000000000004|reject|451 4.3.0 MTA-STS check not possible (no address); try again later
# a phase we never registered for is let through
> filter|0.6|1.0|smtp-in|helo|00000000000000c1|0000000000000005|evil.example
< filter-result|00000000000000c1|0000000000000005|proceed
~ filter request for phase "helo", which we did not register; proceeding
# NUL bytes and terminal escapes never reach the log raw
> filter|0.6|1.0|smtp-in|rcpt-to|00000000000000c1|0000000000000006|u@\x00evil.test
~ warning: protocol: NUL byte in line: "filter|0.6|1.0|smtp-in|rcpt-to|00000000000000c1|0000000000000006|u@^@evil.test"
< filter-result|00000000000000c1|0000000000000006|reject|451 4.3.0 MTA-STS check not possible (malformed request); try again later
> \x1b[2J\x1b]0;owned\x07
~ warning: protocol: unknown message type: "\x1b[2J\x1b]0;owned\x07"
# an over-long request: the prefix is answered, the rest dropped
>> filter|0.6|1.0|smtp-in|rcpt-to|00000000000000c1|0000000000000007|
>> aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa
@repeat 40
>> aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa
@end
> @good.test
< filter-result|00000000000000c1|0000000000000007|reject|451 4.3.0 MTA-STS check not possible (request too long); try again later
~ warning: protocol: line longer than the limit, cut
# an unknown protocol version is answered all the same
> filter|9.9|1.0|smtp-in|rcpt-to|00000000000000c1|0000000000000008|u@good.test
< filter-result|00000000000000c1|0000000000000008|proceed
~ protocol version 9.9 is not one we know
# CRLF line ends
> filter|0.6|1.0|smtp-in|rcpt-to|00000000000000c1|0000000000000009|u@good.test\r
< filter-result|00000000000000c1|0000000000000009|proceed
# a second config|ready registers nothing twice
> config|ready
~ warning: protocol: config|ready again; ignored
# reports for sessions and events we do not know
> report|0.6|1.0|smtp-in|tx-commit|00000000000000c9|00000001|10
> report|0.6|1.0|smtp-in|link-auth|00000000000000c1|pass|user
> filter-result|00000000000000c1|0000000000000001|proceed
~ warning: protocol: unknown message type: "filter-result|
# and after all that, mail still flows
> filter|0.6|1.0|smtp-in|rcpt-to|00000000000000c1|000000000000000a|u@defer.test
< filter-result|00000000000000c1|000000000000000a|reject|451 4.7.5 MTA-STS policy for defer.test cannot be satisfied: no MX host matches the policy
