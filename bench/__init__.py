"""`make bench`: the platform's throughput and latency figures against the real stack.

Every figure runs on its own scratch database and queue prefix, with the real service and worker
processes started the way `aduan run` starts them, next to baselines measured in the same
invocation with the same load generator. See bench/__main__.py for the command line.
"""
