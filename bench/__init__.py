"""Benchmarks of cdk-ws-api against its peers (issue 5): see ``bench/README.md``.

``python -m bench`` runs them all and rewrites ``bench/RESULTS.md``; ``python -m bench.NAME``
runs one. Nothing here is imported by the product.
"""
