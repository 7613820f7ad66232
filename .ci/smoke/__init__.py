"""The production smoke's parts (run it as ``python3 .ci/smoke_production.py``): what every
part shares (``base``), HTTP against the servers it starts (``web``), and the harness that
reports each check and starts and stops processes, databases and the RabbitMQ vhost
(``harness``). Standard library only: the smoke runs with the system ``python3``, outside
any virtualenv, and puts ``.ci/`` on ``sys.path`` as the script's folder.
"""
