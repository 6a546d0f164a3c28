"""The conformance suite: checks any deployment of the session API against the contract.

Run it with `session-contract run --base-url URL` or `pytest --pyargs contract_tests --base-url URL`;
without `--base-url` the reference implementation is started on a loopback port and tested over HTTP.
"""
