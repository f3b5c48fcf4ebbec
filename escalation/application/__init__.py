"""The application layer: use cases over the domain (engine, import, audit, what-if, reviews).

It receives built objects (a store, a rule-book registry, projections) from
``escalation.bootstrap``; it never opens a database by itself.
"""
