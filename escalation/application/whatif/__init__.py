"""What-if: replay recorded facts under a candidate rule book and compare.

The pure core (``replay_rules``, ``replay``, ``outcome``, ``compare``, ``rule_diff``)
does no I/O and reads no clock; ``stream`` reads the live log (read-only),
``simulate`` and ``open_disputes`` drive a run, ``report_text``/``report_html``
present it.
"""
