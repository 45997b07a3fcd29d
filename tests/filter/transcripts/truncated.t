# input that ends inside a line (smtpd gone mid-write) is logged, then exit 0
@handshake
> report|0.6|1.0|smtp-in|link-connect|00000000000000d1|localhost|pass|127.0.0.1:1|127.0.0.1:25
! wait 8
>> filter|0.6|1.0|smtp-in|rcpt-to|00000000000000d1|0000000000
~ warning: protocol: input ended inside a line
