"""The conformance suite: checks any deployment of the session API against the contract.

Run it with `session-contract run --base-url URL`, or as plain pytest with the plugin loaded on request:
`pytest -p contract_tests.plugin --pyargs contract_tests --contract-base-url URL`. Without a base URL
the reference implementation is started on a loopback port and tested over HTTP.
"""
