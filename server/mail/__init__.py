"""Outgoing mail: a MailSender (SMTP, or a development outbox) and the `mail.send` actor."""
