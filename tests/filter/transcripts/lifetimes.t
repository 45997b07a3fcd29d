# session and message lifetimes: state from link-connect to link-disconnect
@handshake
> report|0.6|1.0|smtp-in|link-connect|00000000000000b1|localhost|pass|127.0.0.1:1|127.0.0.1:25
> report|0.6|1.0|smtp-in|link-connect|00000000000000b2|localhost|pass|127.0.0.1:2|127.0.0.1:25
~ 00000000000000b1: session started
> report|0.6|1.1|smtp-in|tx-begin|00000000000000b1|0000000a
> filter|0.6|1.2|smtp-in|rcpt-to|00000000000000b1|0000000000000001|u@good.test
< filter-result|00000000000000b1|0000000000000001|proceed
! wait 9
> report|0.6|1.3|smtp-in|tx-commit|00000000000000b1|0000000a|300
~ 00000000000000b1: message 0000000a ended (tx-commit)
> report|0.6|1.4|smtp-in|tx-begin|00000000000000b1|0000000b
> filter|0.6|1.5|smtp-in|rcpt-to|00000000000000b1|0000000000000002|u@nopolicy.test
< filter-result|00000000000000b1|0000000000000002|proceed
! wait 10
> report|0.6|1.6|smtp-in|tx-rollback|00000000000000b1|0000000b
~ 00000000000000b1: message 0000000b ended (tx-rollback)
> report|0.6|1.7|smtp-in|tx-begin|00000000000000b1|0000000c
> report|0.6|1.8|smtp-in|tx-reset|00000000000000b1|0000000c
~ 00000000000000b1: message 0000000c ended (tx-reset)
# two sessions at once keep their own state
> report|0.6|1.9|smtp-in|tx-begin|00000000000000b2|0000000d
> filter|0.6|2.0|smtp-in|rcpt-to|00000000000000b2|0000000000000001|u@good.test
< filter-result|00000000000000b2|0000000000000001|proceed
! wait 11
> report|0.6|2.1|smtp-in|link-disconnect|00000000000000b1
~ 00000000000000b1: session ended: 2 recipients answered, 0 still being judged
> report|0.6|2.2|smtp-in|link-disconnect|00000000000000b2
~ 00000000000000b2: session ended: 1 recipients answered, 0 still being judged
# a disconnect we never saw a connect for
> report|0.6|2.3|smtp-in|link-disconnect|00000000000000b3
~ 00000000000000b3: disconnect of a session we do not know
# a request from a session we never saw connect: still answered
> filter|0.6|2.4|smtp-in|rcpt-to|00000000000000b4|0000000000000009|u@good.test
< filter-result|00000000000000b4|0000000000000009|proceed
! wait 12
> report|0.6|2.5|smtp-in|link-disconnect|00000000000000b4
~ stopping: sessions=0 requests=0 jobs=0
