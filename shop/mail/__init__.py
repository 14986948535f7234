"""The shop's e-mail: the outbox mailer (``outbox``) and how a message leaves (``transport``).

The confirm step writes e-mails into the outbox table in the transaction that pays the
order; the ``send-mail`` command runs :func:`shop.mail.outbox.send_due`. Framework-free:
every function takes a SQLAlchemy ``Session``.
"""
