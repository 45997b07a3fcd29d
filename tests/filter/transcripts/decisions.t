# rcpt-to decisions, answers and decision lines (STS-45, STS-51..55)
@handshake
> report|0.6|1796321927.249118|smtp-in|link-connect|00000000000000a1|localhost|pass|127.0.0.1:35312|127.0.0.1:25
> report|0.6|1796321927.250000|smtp-in|tx-begin|00000000000000a1|e38c87b6
# enforce, an MX matches, and the routing query finds the domain: proceed
> filter|0.6|1796321927.251026|smtp-in|rcpt-to|00000000000000a1|0000000000000001|user@good.test
< filter-result|00000000000000a1|0000000000000001|proceed
~ 00000000000000a1: rcpt domain=good.test mode=enforce policy_id=g1 mx=mx1.good.test verdict=accept reason=mx-match dane=- probe=-
# upper case as the client wrote it: smtpd's key is lower-cased by the query
> filter|0.6|1.1|smtp-in|rcpt-to|00000000000000a1|0000000000000002|User@GOOD.test
< filter-result|00000000000000a1|0000000000000002|proceed
# enforce, no MX matches, re-checked recently: FailureAction defer (STS-55)
> filter|0.6|1.2|smtp-in|rcpt-to|00000000000000a1|0000000000000003|u@defer.test
< filter-result|00000000000000a1|0000000000000003|reject|451 4.7.5 MTA-STS policy for defer.test cannot be satisfied: no MX host matches the policy
~ 00000000000000a1: rcpt domain=defer.test mode=enforce policy_id=d1 mx=- verdict=defer reason=no-mx-match
# DomainFailureAction reject: 550 after the re-check (STS-54)
> filter|0.6|1.3|smtp-in|rcpt-to|00000000000000a1|0000000000000004|u@reject.test
< filter-result|00000000000000a1|0000000000000004|reject|550 5.7.5 MTA-STS policy for reject.test cannot be satisfied: no MX host matches the policy
~ rcpt domain=reject.test mode=enforce policy_id=r1 mx=- verdict=reject reason=no-mx-match
# DomainFailureAction bounce is impossible at RCPT: deferred
> filter|0.6|1.4|smtp-in|rcpt-to|00000000000000a1|0000000000000005|u@bounce.test
< filter-result|00000000000000a1|0000000000000005|reject|451 4.7.5 MTA-STS policy for bounce.test cannot be satisfied: no MX host matches the policy
~ rcpt domain=bounce.test mode=enforce policy_id=b1 mx=- verdict=defer reason=no-mx-match:bounce-unsupported
~ warning: FailureAction bounce is not possible at RCPT in OpenSMTPD
# testing mode delivers whatever the MX (STS-52); mode none (STS-53); no policy
> filter|0.6|1.5|smtp-in|rcpt-to|00000000000000a1|0000000000000006|u@testing.test
< filter-result|00000000000000a1|0000000000000006|proceed
~ rcpt domain=testing.test mode=testing policy_id=t1 mx=- verdict=testing reason=would-fail:no-mx-match
> filter|0.6|1.6|smtp-in|rcpt-to|00000000000000a1|0000000000000007|u@none.test
< filter-result|00000000000000a1|0000000000000007|proceed
~ rcpt domain=none.test mode=none policy_id=n1 mx=- verdict=accept reason=mode-none
> filter|0.6|1.7|smtp-in|rcpt-to|00000000000000a1|0000000000000008|u@nopolicy.test
< filter-result|00000000000000a1|0000000000000008|proceed
~ rcpt domain=nopolicy.test mode=- policy_id=- mx=- verdict=accept reason=no-policy:no-txt
# SkipDomains: accepted untouched, and not routed to relay tls
> filter|0.6|1.8|smtp-in|rcpt-to|00000000000000a1|0000000000000009|u@skip.test
< filter-result|00000000000000a1|0000000000000009|proceed
~ rcpt domain=skip.test mode=- policy_id=- mx=- verdict=accept reason=skipped
# EnforceDomains: a testing policy enforced, routed through domain_controls
> filter|0.6|1.9|smtp-in|rcpt-to|00000000000000a1|000000000000000a|u@forced.test
< filter-result|00000000000000a1|000000000000000a|proceed
~ rcpt domain=forced.test mode=testing policy_id=f1 mx=mx1.forced.test verdict=accept reason=mx-match
> filter|0.6|2.0|smtp-in|rcpt-to|00000000000000a1|000000000000000b|u@a.fsuffix.test
< filter-result|00000000000000a1|000000000000000b|proceed
# EnforceDomains without a policy: deferred
> filter|0.6|2.1|smtp-in|rcpt-to|00000000000000a1|000000000000000c|u@forcednone.test
< filter-result|00000000000000a1|000000000000000c|reject|451 4.7.5 MTA-STS policy for forcednone.test is required but not available (no-txt)
# enforce and matching, but the policy expires before smtpd would route it
> filter|0.6|2.2|smtp-in|rcpt-to|00000000000000a1|000000000000000d|u@expiring.test
< filter-result|00000000000000a1|000000000000000d|reject|451 4.7.5 MTA-STS policy for expiring.test cannot be enforced yet: the domain is not routed to verified TLS
~ rcpt domain=expiring.test mode=enforce policy_id=e1 mx=mx1.expiring.test verdict=defer reason=not-routed:expiring
# a trailing dot: the verdict knows good.test, smtpd's table would not
> filter|0.6|2.3|smtp-in|rcpt-to|00000000000000a1|000000000000000e|u@good.test.
< filter-result|00000000000000a1|000000000000000e|reject|451 4.7.5 MTA-STS policy for good.test cannot be enforced yet: the domain is not routed to verified TLS
~ verdict=defer reason=not-routed:not-listed
# address literals have no policy (STS-43); no domain at all is local
> filter|0.6|2.4|smtp-in|rcpt-to|00000000000000a1|000000000000000f|u@[192.0.2.1]
< filter-result|00000000000000a1|000000000000000f|proceed
~ verdict=accept reason=address-literal
> filter|0.6|2.5|smtp-in|rcpt-to|00000000000000a1|0000000000000010|postmaster
< filter-result|00000000000000a1|0000000000000010|proceed
~ 00000000000000a1: rcpt postmaster: no domain; not checked
! wait 24
> report|0.6|2.6|smtp-in|tx-commit|00000000000000a1|e38c87b6|512
> report|0.6|2.7|smtp-in|link-disconnect|00000000000000a1
~ 00000000000000a1: session ended: 16 recipients answered, 0 still being judged
