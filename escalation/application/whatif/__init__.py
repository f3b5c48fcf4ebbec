"""What-if: replay recorded facts under a candidate rule book and compare.

The pure core (``replay_rules``, ``replay``, ``outcome``, ``compare``, ``rulediff``)
does no I/O and reads no clock; ``stream`` reads the live log (read-only),
``simulate`` and ``opennow`` drive a run, ``report_text``/``report_html``
present it.
"""
