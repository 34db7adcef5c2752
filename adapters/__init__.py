"""Marketplace adapters, one package each, plus the shared sandbox machinery.

An adapter package owns its client, its mapping and its simulator, and nothing else. It
imports only `adapters.base`, `adapters.errors`, `adapters.http`, `adapters.sandbox` and
`schemas`, and registers under the `ocop_sync.adapters` entry-point group.
"""
