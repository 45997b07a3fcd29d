# the register handshake: smtpd's config lines, our registration, nothing else
@handshake
~ debug: smtpd config smtpd-version=6.8.0p2
~ registered with smtpd for rcpt-to
~ started (configuration
