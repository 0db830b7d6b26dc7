"""gunicorn's settings for scripts/serve (`gunicorn -c python:obsqra.gunicorn_conf obsqra.wsgi`), from the environment."""

import multiprocessing

import environ

env = environ.Env()

bind = env.list("WEB_BIND", default=["127.0.0.1:8000"])
# Threads keep a worker answering /health and pages while another thread proves (~5 ms) or waits on a node.
worker_class = "gthread"
workers = env.int("WEB_WORKERS", default=multiprocessing.cpu_count() * 2 + 1)
threads = env.int("WEB_THREADS", default=4)
timeout = env.int("WEB_TIMEOUT", default=30)
graceful_timeout = env.int("WEB_GRACEFUL_TIMEOUT", default=10)
keepalive = 5
# A fresh worker now and then bounds what a slow leak can grow to; the jitter keeps them from restarting together.
max_requests = 5000
max_requests_jitter = 500
# Only these proxies' X-Forwarded-Proto is believed for wsgi.url_scheme (Django reads it via SECURE_PROXY_SSL_HEADER).
forwarded_allow_ips = env.str("FORWARDED_ALLOW_IPS", default="127.0.0.1")
accesslog = "-"
errorlog = "-"
# the proxy in front of us logs clients; our line says how long Django took (%(M)s ms)
access_log_format = '%(h)s "%(r)s" %(s)s %(b)s %(M)sms'
