"""The ``contest`` command's groups that manage the product's data: accounts
(:mod:`~contest.commands.users`), question banks and the law library (:mod:`~contest.commands.bank`)
and contests (:mod:`~contest.commands.contests`). :func:`contest.cli.register` adds them to the
app's CLI with the commands that run and check the services.
"""
